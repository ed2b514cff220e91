# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole-definition comparison of the task_definition module (module_utils/_taskdef_compare.py)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.module_utils._taskdef_compare import MASK, changes, masked

DESIRED = {
    "family": "web",
    "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
    "executionRoleArn": "arn:aws:iam::123456789012:role/web-exec",
    "requiresCompatibilities": ["EC2"],
    "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2025_CORE", "cpuArchitecture": "X86_64"},
    "cpu": "1024",
    "memory": 2048,
    "containerDefinitions": [
        {
            "name": "iis",
            "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025",
            "memory": "1024",
            "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 443}],
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            "command": ["powershell", "-Command", "Start-Website"],
            "healthCheck": {"command": ["CMD-SHELL", "exit 0"]},
            "readonlyRootFilesystem": False,
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
        volumes=[],
        enableFaultInjection=False,
        registeredAt="2026-01-01T00:00:00Z",
    )
    container = td["containerDefinitions"][0]
    container.update(cpu=0, essential=True, memory=1024, mountPoints=[], volumesFrom=[], systemControls=[])
    container.pop("readonlyRootFilesystem", None)
    container["portMappings"] = [{"containerPort": 443, "hostPort": 0, "protocol": "tcp"},
                                 {"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]
    container["environment"].reverse()
    container["healthCheck"] = dict(container["healthCheck"], interval=30, timeout=5, retries=3)
    return td


def test_the_registered_form_of_the_same_definition_has_no_changes():
    assert changes(DESIRED, described()) == []


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
        (("runtimePlatform", "operatingSystemFamily"), "WINDOWS_SERVER_2025_FULL",
         'runtimePlatform {"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2025_CORE"} -> '
         '{"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2025_FULL"}'),
        (("cpu",), "2048", 'cpu "1024" -> "2048"'),
        (("memory",), "4096", 'memory "2048" -> "4096"'),
        (("networkMode",), "awsvpc", 'networkMode "default" -> "awsvpc"'),
        (("executionRoleArn",), "arn:aws:iam::123456789012:role/other", "executionRoleArn "),
        (("executionRoleArn",), None, 'executionRoleArn "arn:aws:iam::123456789012:role/web-exec" -> (none)'),
        (("taskRoleArn",), "arn:aws:iam::123456789012:role/other", "taskRoleArn "),
        (("containerDefinitions", 0, "portMappings", 0, "hostPort"), 8081, "containerDefinitions[iis].portMappings"),
        (("containerDefinitions", 0, "portMappings", 1, "protocol"), "udp", "containerDefinitions[iis].portMappings"),
        (("containerDefinitions", 0, "environment", 0, "value"), "secret-ish", "containerDefinitions[iis].environment"),
        (("containerDefinitions", 0, "command"), ["Start-Website", "powershell", "-Command"],
         "containerDefinitions[iis].command"),
        (("containerDefinitions", 0, "essential"), False, "containerDefinitions[iis].essential"),
        (("containerDefinitions", 0, "image"), "mcr.microsoft.com/windows/servercore/iis:latest",
         "containerDefinitions[iis].image"),
        (("containerDefinitions", 0, "healthCheck", "retries"), 5, "containerDefinitions[iis].healthCheck"),
        (("containerDefinitions", 0, "readonlyRootFilesystem"), True, "containerDefinitions[iis].readonlyRootFilesystem"),
        (("containerDefinitions", 0, "name"), "iis2", "containerDefinitions[iis2] added"),
        (("volumes",), [{"name": "data"}], 'volumes [] -> [{"name":"data"}]'.replace("[]", "(none)")),
        (("requiresCompatibilities",), ["EC2", "EXTERNAL"], "requiresCompatibilities "),
        (("placementConstraints",), [{"type": "memberOf", "expression": "attribute:x == y"}], "placementConstraints "),
    ],
)
def test_each_difference_is_reported(path, value, change):
    found = changes(_with(path, value), described())
    assert any(c.startswith(change) for c in found), found
    assert "secret-ish" not in " ".join(found)


def test_exactly_the_changed_field_is_reported():
    assert changes(_with(("cpu",), "2048"), described()) == ['cpu "1024" -> "2048"']
    assert changes(_with(("containerDefinitions", 0, "portMappings", 0, "hostPort"), 8081), described()) == [
        "containerDefinitions[iis].portMappings"]


def test_awsvpc_host_port_defaults_to_the_container_port():
    desired = _with(("networkMode",), "awsvpc")
    desired["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80}, {"containerPort": 443, "hostPort": 443}]
    current = described(desired)
    current["networkMode"] = "awsvpc"
    current["containerDefinitions"][0]["portMappings"] = [
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"},
        {"containerPort": 443, "hostPort": 443, "protocol": "tcp"},
    ]
    assert changes(desired, current) == []


def test_no_revision_is_a_change():
    assert changes(DESIRED, None) == ["no ACTIVE revision of family web"]
    assert changes(DESIRED, {}) == ["no ACTIVE revision of family web"]


def test_an_extra_container_in_the_revision_is_a_change():
    current = described()
    current["containerDefinitions"].append(dict(current["containerDefinitions"][0], name="sidecar"))
    assert changes(DESIRED, current) == ["containerDefinitions[sidecar] removed"]


def test_docker_label_keys_keep_their_case():
    desired = _with(("containerDefinitions", 0, "dockerLabels"), {"myLabel": "x"})
    current = described(_with(("containerDefinitions", 0, "dockerLabels"), {"my_label": "x"}))
    assert changes(desired, current) == ["containerDefinitions[iis].dockerLabels"]


def test_masked_hides_environment_values_only():
    shown = masked(DESIRED)
    container = shown["containerDefinitions"][0]
    assert {e["value"] for e in container["environment"]} == {MASK}
    assert container["image"] == DESIRED["containerDefinitions"][0]["image"]
    assert shown["cpu"] == "1024" and shown["networkMode"] == "default"
    assert DESIRED["containerDefinitions"][0]["environment"][0]["value"] == "2"  # the input is left as it was
    assert masked(None) is None


def test_bad_input():
    with pytest.raises(TypeError, match="a task definition must be a dictionary, got list"):
        changes([], None)
