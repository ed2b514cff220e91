# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What differs between a desired ECS task definition (the RegisterTaskDefinition request, camelCase) and a
registered revision (DescribeTaskDefinition's taskDefinition), compared as a whole after filling in the defaults
ECS fills in. The defaults and why: docs/dev/task-definitions.md.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import copy
import json
from typing import Any

# RegisterTaskDefinition request members a registered revision reports back (tags are not part of a revision).
COMPARED_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
    "trustedExecutionConfiguration",
)
_CONTAINER_INTS = ("cpu", "memory", "memoryReservation", "startTimeout", "stopTimeout")
_HOST_PORT_IS_CONTAINER_PORT = ("awsvpc", "host")
# ECS fills these in when a container has a healthCheck (ContainerDefinition.healthCheck in the API reference).
_HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}
MASK = "********"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or value is False


def _prune(value: Any) -> Any:
    """Drop empty values (None, '', [], {}, false) from dictionaries, recursively; lists keep their items."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _empty(v)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _canonical(value: Any) -> Any:
    """Lists of objects become order-free (sorted); lists of strings keep their order."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if items and all(isinstance(v, dict) for v in items):
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
        return items
    return value


def _int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _port_mapping(mapping: dict, network_mode: str) -> dict:
    mapping = dict(mapping)
    for key in ("containerPort", "hostPort"):
        if key in mapping:
            mapping[key] = _int(mapping[key])
    mapping["protocol"] = str(mapping.get("protocol") or "tcp").lower()
    if not mapping.get("hostPort"):
        mapping.pop("hostPort", None)
        if network_mode in _HOST_PORT_IS_CONTAINER_PORT and mapping.get("containerPort"):
            mapping["hostPort"] = mapping["containerPort"]
    return mapping


def _container(container: dict, network_mode: str) -> dict:
    # essential defaults to true, so false is meaningful there: read it before pruning drops it.
    essential = container.get("essential")
    container = _prune(dict(container))
    container["essential"] = essential is not False and str(essential).lower() != "false"
    for key in _CONTAINER_INTS:
        if key in container:
            container[key] = _int(container[key])
    if container.get("cpu") == 0:
        del container["cpu"]
    if "portMappings" in container:
        container["portMappings"] = [_port_mapping(m, network_mode) for m in container["portMappings"]]
    if isinstance(container.get("healthCheck"), dict):
        container["healthCheck"] = dict(_HEALTH_CHECK_DEFAULTS, **container["healthCheck"])
    return _canonical(container)


def normalise(definition: dict) -> tuple[dict, dict]:
    """(task-level fields, {container name: container}) of a request or a registered revision, normalised."""
    if not isinstance(definition, dict):
        raise TypeError("a task definition must be a dictionary, got %s" % type(definition).__name__)
    # Containers are pruned one by one (essential=false must survive); everything else here.
    td = _prune(
        {k: copy.deepcopy(definition[k]) for k in COMPARED_FIELDS if k in definition and k != "containerDefinitions"}
    )
    mode = td.get("networkMode") or "default"
    # Windows has no bridge mode: a definition registered without a network mode is reported as bridge.
    td["networkMode"] = "default" if mode == "bridge" else mode
    for key in ("cpu", "memory"):
        if key in td:
            td[key] = str(td[key])
    if "requiresCompatibilities" in td:
        td["requiresCompatibilities"] = sorted(td["requiresCompatibilities"])
    containers = {}
    for index, container in enumerate(copy.deepcopy(definition.get("containerDefinitions") or [])):
        containers[str(container.get("name", "#%d" % index))] = _container(container, td["networkMode"])
    return _canonical(td), containers


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def changes(desired: dict, current: dict | None) -> list[str]:
    """One line per difference; [] when `current` (an ACTIVE revision, or None for none) is the desired definition.

    Task-level fields show both values (`cpu "1024" -> "2048"`); inside containers only the path is shown
    (`containerDefinitions[web].environment`), so environment values never reach the output.
    """
    want, want_containers = normalise(desired)
    if not current:
        return ["no ACTIVE revision of family %s" % want.get("family", "(unnamed)")]
    have, have_containers = normalise(current)
    found = []
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            found.append("%s %s -> %s" % (key, _show(have.get(key)), _show(want.get(key))))
    for name in sorted(set(want_containers) | set(have_containers)):
        if name not in have_containers:
            found.append("containerDefinitions[%s] added" % name)
        elif name not in want_containers:
            found.append("containerDefinitions[%s] removed" % name)
        else:
            want_c, have_c = want_containers[name], have_containers[name]
            found.extend(
                "containerDefinitions[%s].%s" % (name, key)
                for key in sorted(set(want_c) | set(have_c))
                if want_c.get(key) != have_c.get(key)
            )
    return found


def masked(definition: dict | None) -> dict | None:
    """The normalised definition for diff output, with environment values replaced by MASK."""
    if not definition:
        return None
    td, containers = normalise(definition)
    shown = []
    for name in sorted(containers):
        container = dict(containers[name])
        if "environment" in container:
            container["environment"] = [dict(e, value=MASK) if "value" in e else e for e in container["environment"]]
        shown.append(container)
    td["containerDefinitions"] = shown
    return td
