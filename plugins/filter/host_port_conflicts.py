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
    output, with or without the C(taskDefinition) wrapper) and the snake_case shape some modules return.
  - M(ecs_windows.task_iam.task_definition) and the C(task_role) role make the same check (the same code) before
    they call AWS; this filter is for checking a task definition you have as data.
  - In C(awsvpc) (and C(host)) network mode the host port is the container port, so a missing or zero
    C(hostPort) counts as the C(containerPort), and a C(containerPortRange) counts port by port. In C(default)
    / C(bridge) mode a missing or zero C(hostPort) is a dynamic port and never conflicts.
  - Only TCP mappings are reported (a missing C(protocol) is TCP), because the proxy and the agent's reservations
    are TCP.
  - An undefined input, or an undefined value inside it, is returned as it is, so it fails where it is used with
    Ansible's "is undefined" message.
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
    conflicts: >-
      {{ lookup('ansible.builtin.file', 'taskdef.json') | from_json | ecs_windows.task_iam.host_port_conflicts }}

- name: Check the latest registered revision of a family (AWS CLI output)
  ansible.builtin.debug:
    msg: >-
      {{ lookup('ansible.builtin.pipe', 'aws ecs describe-task-definition --task-definition web --output json')
         | from_json | ecs_windows.task_iam.host_port_conflicts }}
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

from collections.abc import Callable
from typing import Any

from jinja2 import Undefined

from ansible.errors import AnsibleFilterError
from ansible_collections.ecs_windows.task_iam.plugins.module_utils import _windows_ports
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._nested import first_instance


def host_port_conflicts(task_definition: dict) -> list[dict] | Undefined:
    """List {container, host_port, reason} for mappings on port 80 or a reserved port (see DOCUMENTATION)."""
    undefined = first_instance(task_definition, Undefined)
    if undefined is not None:
        # An undefined input fails where it is used, as "... is undefined" like Ansible's own filters, not here.
        return undefined
    try:
        return _windows_ports.host_port_conflicts(task_definition)
    except _windows_ports.PortInputError as exc:
        raise AnsibleFilterError("ecs_windows.task_iam.host_port_conflicts: %s" % exc) from None


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"host_port_conflicts": host_port_conflicts}
