# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: task_definition_changes
short_description: What differs between a desired ECS task definition and a registered revision
version_added: 0.1.0
author: ecs_windows.task_iam contributors
description:
  - Compares the whole desired task definition (the C(register-task-definition) request, camelCase) with a
    registered revision (C(describe-task-definition) output, or the registered result of
    C(community.aws.ecs_taskdefinition_info)) and lists what differs. An empty list means the revision
    already is the desired definition.
  - It exists because C(community.aws.ecs_taskdefinition) only compares containers, volumes, task role and
    launch type, so a change of runtime platform, task cpu or memory, network mode, execution role, or one port
    mapping in a list of the same length, would keep the old revision. The C(task_role) role registers a new
    revision (C(force_create)) whenever this filter returns anything.
  - Compared are the request fields (family, task and execution role, network mode, containers, volumes, cpu,
    memory, runtime platform, compatibilities, placement constraints, pid/ipc mode, proxy configuration,
    inference accelerators, ephemeral storage). Both sides are normalised the way ECS fills in defaults
    (C(essential=true), container C(cpu=0), port mapping protocol C(tcp), C(hostPort) equal to C(containerPort) in
    C(awsvpc) mode, 0 for dynamic ports otherwise, network mode C(bridge) or none meaning C(default), empty values
    meaning absent), containers are matched by name, and lists of objects (port mappings, environment, mount
    points...) are compared without regard to order, lists of strings (command, entryPoint...) in order.
  - Both sides are compared in snake_case, because C(ecs_taskdefinition_info) returns that; keys that differ only
    in case style (a Docker label C(myLabel) renamed to C(my_label)) are not told apart.
  - A revision whose status is not C(ACTIVE), or an empty result (no revision), is reported as a change.
  - Paths inside containers are reported without their values, so environment values do not reach the output.
options:
  _input:
    description: The desired task definition, as the C(register-task-definition) request.
    type: dict
    required: true
  current:
    description: The registered revision; V({}) when the family has none.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the latest ACTIVE revision
  community.aws.ecs_taskdefinition_info:
    task_definition: web
  register: web_current

- name: Register a new revision only when anything differs
  community.aws.ecs_taskdefinition:
    state: present
    force_create: true
    family: web
    containers: "{{ web_taskdef.containerDefinitions }}"
    network_mode: default
    runtime_platform: "{{ web_taskdef.runtimePlatform }}"
  when: web_taskdef | ecs_windows.task_iam.task_definition_changes(web_current) | length > 0
"""

RETURN = r"""
_value:
  description: One line per difference, for example C(cpu 1024 -> 2048) or C(container_definitions[web].port_mappings).
  type: list
  elements: str
"""

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

# RegisterTaskDefinition request members (snake_case) that a registered revision reports back.
COMPARED_FIELDS = (
    "family",
    "task_role_arn",
    "execution_role_arn",
    "network_mode",
    "container_definitions",
    "volumes",
    "placement_constraints",
    "requires_compatibilities",
    "cpu",
    "memory",
    "pid_mode",
    "ipc_mode",
    "proxy_configuration",
    "inference_accelerators",
    "ephemeral_storage",
    "runtime_platform",
    "enable_fault_injection",
)
_CONTAINER_INTS = ("cpu", "memory", "memory_reservation", "start_timeout", "stop_timeout")
_HOST_PORT_IS_CONTAINER_PORT = ("awsvpc", "host")


def _empty(value):
    return value is None or value == "" or value == [] or value == {}


def _prune(value):
    """Drop empty values from dictionaries, recursively; lists of scalars stay as they are."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _empty(v)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _canonical(value):
    """Lists of objects become order-free; everything else keeps its order."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if items and all(isinstance(v, dict) for v in items):
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
        return items
    return value


def _int(value):
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _port_mapping(mapping, network_mode):
    mapping = dict(mapping)
    for key in ("container_port", "host_port"):
        if key in mapping:
            mapping[key] = _int(mapping[key])
    mapping["protocol"] = str(mapping.get("protocol") or "tcp").lower()
    if not mapping.get("host_port"):
        mapping.pop("host_port", None)
        if network_mode in _HOST_PORT_IS_CONTAINER_PORT and mapping.get("container_port"):
            mapping["host_port"] = mapping["container_port"]
    return mapping


def _container(container, network_mode):
    container = dict(container)
    for key in _CONTAINER_INTS:
        if key in container:
            container[key] = _int(container[key])
    if container.get("cpu") == 0:
        del container["cpu"]
    container.setdefault("essential", True)
    if "port_mappings" in container:
        container["port_mappings"] = [_port_mapping(m, network_mode) for m in container["port_mappings"]]
    return _canonical(container)


def _normalise(definition, what):
    if not isinstance(definition, dict):
        raise AnsibleFilterError("ecs_windows.task_iam.task_definition_changes: %s must be a dictionary, got %s" % (what, type(definition).__name__))
    snake = camel_dict_to_snake_dict(definition)
    if isinstance(snake.get("task_definition"), dict):  # describe-task-definition output
        snake = camel_dict_to_snake_dict(snake["task_definition"])
    td = _prune({k: snake[k] for k in COMPARED_FIELDS if k in snake})
    mode = td.get("network_mode") or "default"
    # On Windows "default" is Docker's nat network; ECS reports a definition registered without one as bridge.
    td["network_mode"] = "default" if mode == "bridge" else mode
    for key in ("cpu", "memory"):
        if key in td:
            td[key] = str(td[key])
    containers = {}
    for index, container in enumerate(td.pop("container_definitions", [])):
        if not isinstance(container, dict):
            raise AnsibleFilterError("ecs_windows.task_iam.task_definition_changes: %s container %d is not a dictionary" % (what, index))
        containers[str(container.get("name", "#%d" % index))] = _container(container, td["network_mode"])
    if "requires_compatibilities" in td:
        td["requires_compatibilities"] = sorted(td["requires_compatibilities"])
    return _canonical(td), containers, snake.get("status")


def _show(value):
    return "(none)" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def task_definition_changes(desired, current):
    """List what differs between the desired definition and the registered revision (see DOCUMENTATION)."""
    want, want_containers, _status = _normalise(desired, "the desired task definition")
    have, have_containers, status = _normalise(current or {}, "the current task definition")
    if not have_containers:
        return ["no registered revision of family %s" % want.get("family", "(unnamed)")]
    if status is not None and status != "ACTIVE":
        return ["the latest revision is %s, not ACTIVE" % status]

    changes = []
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            changes.append("%s %s -> %s" % (key, _show(have.get(key)), _show(want.get(key))))
    for name in sorted(set(want_containers) | set(have_containers)):
        if name not in have_containers:
            changes.append("container_definitions[%s] added" % name)
        elif name not in want_containers:
            changes.append("container_definitions[%s] removed" % name)
        else:
            want_c, have_c = want_containers[name], have_containers[name]
            for key in sorted(set(want_c) | set(have_c)):
                if want_c.get(key) != have_c.get(key):
                    changes.append("container_definitions[%s].%s" % (name, key))
    return changes


class FilterModule(object):
    def filters(self):
        return {"task_definition_changes": task_definition_changes}
