# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host ports a Windows ECS container instance cannot give a task: 80 (the credential proxy) and the agent's
reserved ports. One definition for the `host_port_conflicts` filter, the `task_definition` module and the
`task_role_problems` filter.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

from typing import Any

CREDENTIAL_PROXY_PORT = 80
# The Windows agent's default ECS_RESERVED_PORTS (agent/config/config_windows.go), all TCP:
# docs/dev/task-definitions.md.
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


class PortInputError(ValueError):
    """The task definition is not shaped like one; the message names the field."""


def _get(mapping: dict, camel: str, snake: str) -> Any:
    return mapping.get(camel, mapping.get(snake))


def _port(value: Any, what: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise PortInputError("%s must be a port number, got %r" % (what, value))
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise PortInputError("%s must be a port number, got %r" % (what, value)) from None
    if not 0 <= port <= 65535:
        raise PortInputError("%s must be between 0 and 65535, got %r" % (what, value))
    return port


def _range(value: Any, what: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in str(value).split("-"))
    except ValueError:
        raise PortInputError("%s must look like 8000-8010, got %r" % (what, value)) from None
    return low, high


def reason(port: int) -> str:
    """Why `port` is not available on a Windows container instance, and what to do instead."""
    if port == CREDENTIAL_PROXY_PORT:
        return (
            "host port 80 belongs to the task IAM role credential proxy (169.254.170.2:80) on Windows container "
            "instances; map another host port and put a load balancer on port 80"
        )
    return "host port %d (%s) is reserved by the ECS agent on Windows; map another host port" % (
        port,
        RESERVED_PORTS[port],
    )


def _taken_ports(mapping: dict, awsvpc_like: bool, what: str) -> list[int]:
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


def host_port_conflicts(task_definition: dict) -> list[dict]:
    """[{container, host_port, reason}] for TCP mappings on port 80 or a reserved port, in container order.

    Takes the API shape (camelCase, with or without the describe output's `taskDefinition` wrapper) or snake_case.
    Raises PortInputError when the input is not shaped like a task definition.
    """
    if not isinstance(task_definition, dict):
        raise PortInputError("expects a task definition (a dictionary), got %s" % type(task_definition).__name__)
    inner = _get(task_definition, "taskDefinition", "task_definition")
    if isinstance(inner, dict):
        task_definition = inner
    containers = _get(task_definition, "containerDefinitions", "container_definitions")
    if containers is None:
        raise PortInputError("the task definition has no containerDefinitions (or container_definitions)")
    if not isinstance(containers, list):
        raise PortInputError("containerDefinitions must be a list, got %s" % type(containers).__name__)
    network_mode = str(_get(task_definition, "networkMode", "network_mode") or "default")
    awsvpc_like = network_mode in _HOST_PORT_IS_CONTAINER_PORT

    conflicts = []
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            raise PortInputError("containerDefinitions[%d] must be a dictionary" % index)
        name = container.get("name") or "containerDefinitions[%d]" % index
        mappings = _get(container, "portMappings", "port_mappings") or []
        if not isinstance(mappings, list):
            raise PortInputError("%s: portMappings must be a list" % name)
        for m_index, mapping in enumerate(mappings):
            if not isinstance(mapping, dict):
                raise PortInputError("%s: portMappings[%d] must be a dictionary" % (name, m_index))
            for port in _taken_ports(mapping, awsvpc_like, "%s.portMappings[%d]" % (name, m_index)):
                if port == CREDENTIAL_PROXY_PORT or port in RESERVED_PORTS:
                    conflicts.append({"container": name, "host_port": port, "reason": reason(port)})
    return conflicts
