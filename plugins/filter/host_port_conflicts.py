# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: host_port_conflicts
short_description: Port mappings of a task definition that a Windows container instance cannot give
version_added: 0.1.0
author: ecs_windows.task_iam contributors
description:
  - Lists the container port mappings of an ECS task definition that take host port 80, which the task IAM
    role credential proxy (169.254.170.2:80) owns on Windows container instances, or a port the Windows ECS
    agent reserves (53, 135, 139, 445, 2375, 2376, 3389, 5985, 5986, 51678, 51679).
  - Takes the ECS API shape (camelCase, as C(register-task-definition) JSON or C(describe-task-definition)
    output, with or without the C(taskDefinition) wrapper) and the snake_case shape of
    C(community.aws.ecs_taskdefinition_info).
  - In C(awsvpc) (and C(host)) network mode the host port is the container port, so a missing or zero
    C(hostPort) counts as the C(containerPort), and a C(containerPortRange) counts port by port. In C(default)
    / C(bridge) mode a missing or zero C(hostPort) is a dynamic port and never conflicts.
  - Only TCP mappings are reported (a missing C(protocol) is TCP), because the proxy and the agent's reservations are TCP.
options:
  _input:
    description: The task definition.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a task definition that maps host port 80 or a reserved port
  ansible.builtin.assert:
    that: conflicts | length == 0
    fail_msg: "{{ conflicts | map(attribute='reason') | join('; ') }}"
  vars:
    conflicts: "{{ lookup('ansible.builtin.file', 'taskdef.json') | from_json | ecs_windows.task_iam.host_port_conflicts }}"

- name: Check the latest registered revision of a family
  community.aws.ecs_taskdefinition_info:
    task_definition: web
  register: web_taskdef

- name: Show its conflicts
  ansible.builtin.debug:
    msg: "{{ web_taskdef | ecs_windows.task_iam.host_port_conflicts }}"
"""

RETURN = r"""
_value:
  description: One entry per conflicting host port, in container order; empty when there is none.
  type: list
  elements: dict
  contains:
    container:
      description: The container name.
      type: str
    host_port:
      description: The host port the mapping takes.
      type: int
    reason:
      description: Why the port is not available, and what to do instead.
      type: str
"""

from ansible.errors import AnsibleFilterError

CREDENTIAL_PROXY_PORT = 80
# The Windows agent's default ECS_RESERVED_PORTS (agent/config/config_windows.go), all TCP.
RESERVED_PORTS = {
    53: "DNS",
    135: "RPC endpoint mapper",
    139: "NetBIOS session service",
    445: "SMB",
    2375: "Docker API",
    2376: "Docker API over TLS",
    3389: "Remote Desktop",
    5985: "WinRM HTTP",
    5986: "WinRM HTTPS",
    51678: "ECS agent introspection API",
    51679: "ECS agent credentials endpoint",
}
_HOST_PORT_IS_CONTAINER_PORT = ("awsvpc", "host")


def _fail(message):
    raise AnsibleFilterError("ecs_windows.task_iam.host_port_conflicts: " + message)


def _get(mapping, camel, snake):
    return mapping.get(camel, mapping.get(snake))


def _port(value, what):
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        _fail("%s must be a port number, got %r" % (what, value))
    try:
        port = int(value)
    except (TypeError, ValueError):
        _fail("%s must be a port number, got %r" % (what, value))
    if not 0 <= port <= 65535:
        _fail("%s must be between 0 and 65535, got %r" % (what, value))
    return port


def _range(value, what):
    try:
        low, high = (int(part) for part in str(value).split("-"))
    except ValueError:
        _fail("%s must look like 8000-8010, got %r" % (what, value))
    return low, high


def _reason(port):
    if port == CREDENTIAL_PROXY_PORT:
        return (
            "host port 80 belongs to the task IAM role credential proxy (169.254.170.2:80) on Windows container "
            "instances; map another host port and put a load balancer on port 80"
        )
    return "host port %d (%s) is reserved by the ECS agent on Windows; map another host port" % (port, RESERVED_PORTS[port])


def _taken_ports(mapping, awsvpc_like, what):
    """Host ports a TCP mapping takes, as far as they are known before the task runs."""
    protocol = str(_get(mapping, "protocol", "protocol") or "tcp").lower()
    if protocol != "tcp":
        return []
    host_port = _port(_get(mapping, "hostPort", "host_port"), what + ".hostPort")
    if host_port:
        return [host_port]
    if not awsvpc_like:
        return []  # 0 / absent: Docker picks a dynamic port
    container_range = _get(mapping, "containerPortRange", "container_port_range")
    if container_range:
        low, high = _range(container_range, what + ".containerPortRange")
        return [p for p in sorted(set(RESERVED_PORTS) | {CREDENTIAL_PROXY_PORT}) if low <= p <= high]
    container_port = _port(_get(mapping, "containerPort", "container_port"), what + ".containerPort")
    return [container_port] if container_port else []


def host_port_conflicts(task_definition):
    """List {container, host_port, reason} for mappings on port 80 or a reserved port (see DOCUMENTATION)."""
    if not isinstance(task_definition, dict):
        _fail("expects a task definition (a dictionary), got %s" % type(task_definition).__name__)
    inner = _get(task_definition, "taskDefinition", "task_definition")
    if isinstance(inner, dict):
        task_definition = inner
    containers = _get(task_definition, "containerDefinitions", "container_definitions")
    if containers is None:
        _fail("the task definition has no containerDefinitions (or container_definitions)")
    if not isinstance(containers, list):
        _fail("containerDefinitions must be a list, got %s" % type(containers).__name__)
    network_mode = str(_get(task_definition, "networkMode", "network_mode") or "default")
    awsvpc_like = network_mode in _HOST_PORT_IS_CONTAINER_PORT

    conflicts = []
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            _fail("containerDefinitions[%d] must be a dictionary" % index)
        name = container.get("name") or "containerDefinitions[%d]" % index
        mappings = _get(container, "portMappings", "port_mappings") or []
        if not isinstance(mappings, list):
            _fail("%s: portMappings must be a list" % name)
        for m_index, mapping in enumerate(mappings):
            if not isinstance(mapping, dict):
                _fail("%s: portMappings[%d] must be a dictionary" % (name, m_index))
            for port in _taken_ports(mapping, awsvpc_like, "%s.portMappings[%d]" % (name, m_index)):
                if port == CREDENTIAL_PROXY_PORT or port in RESERVED_PORTS:
                    conflicts.append({"container": name, "host_port": port, "reason": _reason(port)})
    return conflicts


class FilterModule(object):
    def filters(self):
        return {"host_port_conflicts": host_port_conflicts}
