# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from jinja2 import Undefined

from ansible_collections.ecs_windows.task_iam.plugins.filter.host_port_conflicts import host_port_conflicts
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._windows_ports import RESERVED_PORTS

WINDOWS_RESERVED = [53, 135, 139, 445, 2375, 2376, 3389, 5985, 5986, 51678, 51679]


def camel(mode, *mappings, name="web"):
    return {"family": "f", "networkMode": mode, "containerDefinitions": [{"name": name, "image": "i", "portMappings": list(mappings)}]}


def ports(result):
    return [(c["container"], c["host_port"]) for c in result]


def test_reserved_list_is_the_windows_agent_list():
    assert sorted(RESERVED_PORTS) == WINDOWS_RESERVED


def test_port_80_is_the_credential_proxy():
    result = host_port_conflicts(camel("default", {"containerPort": 8080, "hostPort": 80}))
    assert result == [
        {
            "container": "web",
            "host_port": 80,
            "reason": "host port 80 belongs to the task IAM role credential proxy (169.254.170.2:80) on Windows container "
            "instances; map another host port and put a load balancer on port 80",
        }
    ]


@pytest.mark.parametrize("port", WINDOWS_RESERVED)
def test_every_reserved_port_is_reported(port):
    result = host_port_conflicts(camel("default", {"containerPort": 1000, "hostPort": port}))
    assert ports(result) == [("web", port)]
    assert "reserved by the ECS agent on Windows" in result[0]["reason"]


@pytest.mark.parametrize("host_port", [None, 0, "0"])
def test_awsvpc_missing_or_zero_host_port_is_the_container_port(host_port):
    mapping = {"containerPort": 80}
    if host_port is not None:
        mapping["hostPort"] = host_port
    assert ports(host_port_conflicts(camel("awsvpc", mapping))) == [("web", 80)]
    # In default (nat) mode the same mapping gets a dynamic host port: no conflict.
    assert host_port_conflicts(camel("default", mapping)) == []
    assert host_port_conflicts({"containerDefinitions": [{"name": "web", "portMappings": [mapping]}]}) == []


def test_awsvpc_container_port_range_counts_port_by_port():
    assert ports(host_port_conflicts(camel("awsvpc", {"containerPortRange": "50-140"}))) == [("web", 53), ("web", 80), ("web", 135), ("web", 139)]
    assert host_port_conflicts(camel("default", {"containerPortRange": "50-140"})) == []


def test_snake_case_of_community_aws_and_describe_wrapper():
    snake = {
        "network_mode": "awsvpc",
        "container_definitions": [
            {"name": "a", "port_mappings": [{"container_port": 3389}, {"container_port": 8080, "host_port": 8080}]},
            {"name": "b", "port_mappings": [{"container_port": 5986, "host_port": 5986, "protocol": "tcp"}]},
        ],
    }
    assert ports(host_port_conflicts(snake)) == [("a", 3389), ("b", 5986)]
    wrapped = {"taskDefinition": camel("default", {"containerPort": 1, "hostPort": "51679"}, name="agent")}
    assert ports(host_port_conflicts(wrapped)) == [("agent", 51679)]


def test_udp_is_not_reported_and_clean_definitions_give_nothing():
    assert host_port_conflicts(camel("default", {"containerPort": 53, "hostPort": 53, "protocol": "udp"})) == []
    assert host_port_conflicts(camel("awsvpc", {"containerPort": 8080}, {"containerPort": 443})) == []
    assert host_port_conflicts({"containerDefinitions": [{"name": "x"}]}) == []


@pytest.mark.parametrize(
    "taskdef, message",
    [
        ("x", "expects a task definition (a dictionary), got str"),
        ({"family": "f"}, "has no containerDefinitions"),
        ({"containerDefinitions": {"name": "x"}}, "containerDefinitions must be a list"),
        (camel("default", {"containerPort": 1, "hostPort": "eighty"}), "web.portMappings[0].hostPort must be a port number, got 'eighty'"),
        (camel("default", {"containerPort": 1, "hostPort": 70000}), "must be between 0 and 65535"),
        (camel("awsvpc", {"containerPortRange": "a-b"}), "web.portMappings[0].containerPortRange must look like 8000-8010"),
    ],
)
def test_bad_input(taskdef, message):
    with pytest.raises(AnsibleFilterError) as err:
        host_port_conflicts(taskdef)
    assert message in str(err.value)


def test_an_undefined_input_is_returned_not_raised():
    """As Ansible's own filters do (ansible-lint's jinja[invalid] renders templates with undefined variables)."""
    missing = Undefined(name="task_role_containers")
    assert host_port_conflicts(missing) is missing
    # an undefined value inside the definition, as a dictionary literal of variables gives it
    inner = host_port_conflicts({"networkMode": "default", "containerDefinitions": missing})
    assert inner is missing
    assert host_port_conflicts({"containerDefinitions": [{"name": "a", "portMappings": [missing]}]}) is missing
