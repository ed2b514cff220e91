# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.ecs_windows.task_iam.plugins.filter.task_definition_changes import task_definition_changes

DESIRED = {
    "family": "web",
    "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
    "executionRoleArn": "arn:aws:iam::123456789012:role/web-exec",
    "networkMode": "default",
    "requiresCompatibilities": ["EC2"],
    "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"},
    "cpu": "1024",
    "memory": 2048,
    "volumes": [],
    "containerDefinitions": [
        {
            "name": "iis",
            "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
            "memory": "1024",
            "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 443}],
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            "command": ["powershell", "-Command", "Start-Website"],
        }
    ],
}


def described(desired=None):
    """What DescribeTaskDefinition returns for `desired` (DESIRED): ECS's defaults filled in, fields reordered."""
    td = copy.deepcopy(DESIRED if desired is None else desired)
    td.update(
        taskDefinitionArn="arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
        revision=3,
        status="ACTIVE",
        compatibilities=["EC2"],
        requiresAttributes=[{"name": "com.amazonaws.ecs.capability.task-iam-role"}],
        networkMode="bridge",
        memory="2048",
        placementConstraints=[],
        registeredAt="2026-01-01T00:00:00Z",
    )
    container = td["containerDefinitions"][0]
    container.update(cpu=0, essential=True, memory=1024, mountPoints=[], volumesFrom=[], systemControls=[])
    container["portMappings"] = [{"containerPort": 443, "hostPort": 0, "protocol": "tcp"}, {"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]
    container["environment"].reverse()
    return td


def test_the_registered_form_of_the_same_definition_has_no_changes():
    assert task_definition_changes(DESIRED, described()) == []
    # ecs_taskdefinition_info's snake_case result (with the module's own keys), and the describe wrapper
    info = dict(camel_dict_to_snake_dict(described()), changed=False, failed=False)
    assert task_definition_changes(DESIRED, info) == []
    assert task_definition_changes(DESIRED, {"taskDefinition": described()}) == []


def _with(path, value):
    desired = copy.deepcopy(DESIRED)
    target = desired
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return desired


@pytest.mark.parametrize(
    "path, value, change",
    [
        (("runtimePlatform", "operatingSystemFamily"), "WINDOWS_SERVER_2019_CORE", "runtime_platform "),
        (("cpu",), "2048", 'cpu "1024" -> "2048"'),
        (("memory",), "4096", 'memory "2048" -> "4096"'),
        (("networkMode",), "awsvpc", 'network_mode "default" -> "awsvpc"'),
        (("executionRoleArn",), "arn:aws:iam::123456789012:role/other", "execution_role_arn "),
        (("executionRoleArn",), None, 'execution_role_arn "arn:aws:iam::123456789012:role/web-exec" -> (none)'),
        (("taskRoleArn",), "arn:aws:iam::123456789012:role/other", "task_role_arn "),
        (("containerDefinitions", 0, "portMappings", 0, "hostPort"), 8081, "container_definitions[iis].port_mappings"),
        (("containerDefinitions", 0, "portMappings", 1, "protocol"), "udp", "container_definitions[iis].port_mappings"),
        (("containerDefinitions", 0, "environment", 0, "value"), "secret-ish", "container_definitions[iis].environment"),
        (("containerDefinitions", 0, "command"), ["Start-Website", "powershell", "-Command"], "container_definitions[iis].command"),
        (("containerDefinitions", 0, "essential"), False, "container_definitions[iis].essential"),
        (("containerDefinitions", 0, "name"), "iis2", "container_definitions[iis2] added"),
        (("volumes",), [{"name": "data"}], "volumes "),
        (("requiresCompatibilities",), None, "requires_compatibilities "),
    ],
)
def test_each_difference_is_reported(path, value, change):
    changes = task_definition_changes(_with(path, value), described())
    assert any(c.startswith(change) for c in changes), changes
    assert "secret-ish" not in " ".join(changes)


def test_awsvpc_host_port_defaults_to_the_container_port():
    desired = _with(("networkMode",), "awsvpc")
    desired["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80}, {"containerPort": 443, "hostPort": 443}]
    current = described(desired)
    current["networkMode"] = "awsvpc"
    current["containerDefinitions"][0]["portMappings"] = [
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"},
        {"containerPort": 443, "hostPort": 443, "protocol": "tcp"},
    ]
    assert task_definition_changes(desired, current) == []


def test_missing_or_inactive_revision_is_a_change():
    assert task_definition_changes(DESIRED, {}) == ["no registered revision of family web"]
    assert task_definition_changes(DESIRED, None) == ["no registered revision of family web"]
    assert task_definition_changes(DESIRED, {"changed": False, "failed": False}) == ["no registered revision of family web"]
    assert task_definition_changes(DESIRED, dict(described(), status="INACTIVE")) == ["the latest revision is INACTIVE, not ACTIVE"]


def test_an_extra_container_in_the_revision_is_a_change():
    current = described()
    current["containerDefinitions"].append(dict(current["containerDefinitions"][0], name="sidecar"))
    assert task_definition_changes(DESIRED, current) == ["container_definitions[sidecar] removed"]


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="the desired task definition must be a dictionary, got list"):
        task_definition_changes([], {})
