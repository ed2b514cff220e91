# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: task_role_problems
short_description: The input checks of the task_role role, before any AWS call
version_added: 0.1.0
author: ecs_windows.task_iam contributors
description:
  - Takes the variables of the C(ecs_windows.task_iam.task_role) role (a dictionary keyed by variable name) and lists
    every problem that would fail the run, each naming the variable and what it must be. An empty list means the
    inputs are fine. The role fails with all of them at once before it makes any AWS call.
  - IAM names and ARNs (role name, path, region, account ID, execution role, managed policy ARNs, inline policy
    names and documents), and the task definition the role would register, checked like
    M(ecs_windows.task_iam.task_definition) checks it (same code) - family, cpu, memory, containers with names and
    images, the Windows operating system family, host port 80 and the ports the Windows ECS agent reserves (see
    P(ecs_windows.task_iam.host_port_conflicts#filter)), and container images whose tag names an ltsc release other
    than the one of O(_input.task_role_os_family).
  - A variable that is not set is given as C(none) (C(task_role_cpu | default(none))). An undefined value in the input
    is returned as it is, so it fails where it is used with Ansible's own "is undefined" message.
options:
  _input:
    description:
      - The role's variables, C(task_role_name), C(task_role_path), C(task_role_family), C(task_role_containers),
        C(task_role_os_family), C(task_role_network_mode), C(task_role_region) and the optional ones.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the inputs
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ {'task_role_name': 'web-task', 'task_role_path': '/', 'task_role_region': 'eu-west-1',
          'task_role_family': 'web', 'task_role_os_family': 'WINDOWS_SERVER_2025_CORE',
          'task_role_network_mode': 'default',
          'task_role_containers': [{'name': 'iis',
                                    'image': 'mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025',
                                    'portMappings': [{'containerPort': 80, 'hostPort': 8080}]}]}
         | ecs_windows.task_iam.task_role_problems }}
"""

RETURN = r"""
_value:
  description: One message per problem, each naming the variable; empty when there is none.
  type: list
  elements: str
"""

import json
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Undefined

from ansible.errors import AnsibleFilterError
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._nested import first_instance
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._taskdef_checks import definition_problems

_ROLE_NAME_RE = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}\Z")
_PATH_RE = re.compile(r"/([!-~]{1,510}/)?\Z")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+\Z")
_ACCOUNT_RE = re.compile(r"[0-9]{12}\Z")
_POLICY_ARN_RE = re.compile(r"arn:aws(-cn|-us-gov)?:iam::(aws|[0-9]{12}):policy/")
_POLICY_NAME_RE = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}\Z")
_ROLE_NAMES = {
    "family": "task_role_family",
    "taskRoleArn": "task_role_name",
    "executionRoleArn": "task_role_execution_role_arn",
    "cpu": "task_role_cpu",
    "memory": "task_role_memory",
    "containerDefinitions": "task_role_containers",
    "operatingSystemFamily": "task_role_os_family",
}


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None


def _iam_problems(v: dict) -> list[str]:
    problems = []
    if not _matches(_ROLE_NAME_RE, v.get("task_role_name")):
        problems.append(
            "task_role_name %s is not an IAM role name: 1 to 64 letters, digits and +=,.@_-"
            % _show(v.get("task_role_name"))
        )
    if not _matches(_PATH_RE, v.get("task_role_path")):
        problems.append(
            "task_role_path %s must be / or start and end with / (for example /ecs/)" % _show(v.get("task_role_path"))
        )
    if not _matches(_REGION_RE, v.get("task_role_region")):
        problems.append(
            "task_role_region %s is not an AWS region such as eu-west-1: set task_role_region or AWS_REGION"
            % _show(v.get("task_role_region"))
        )
    account = v.get("task_role_account_id")
    if account is not None and not _matches(_ACCOUNT_RE, str(account)):
        problems.append("task_role_account_id %s must be a 12-digit AWS account ID" % _show(account))
    execution_name = v.get("task_role_execution_role_name")
    if v.get("task_role_execution_role_arn") is not None and execution_name is not None:
        problems.append(
            "task_role_execution_role_arn and task_role_execution_role_name are mutually exclusive: set one"
        )
    if execution_name is not None and not _matches(_ROLE_NAME_RE, execution_name):
        problems.append("task_role_execution_role_name %s is not an IAM role name" % _show(execution_name))
    policies = list(v.get("task_role_managed_policies") or [])
    if execution_name is not None:
        policies += list(v.get("task_role_execution_role_managed_policies") or [])
    problems.extend(
        "managed policy %s is not a policy ARN (arn:aws:iam::aws:policy/<name>)" % p
        for p in policies
        if not _matches(_POLICY_ARN_RE, p)
    )
    inline = v.get("task_role_inline_policies") or {}
    if not isinstance(inline, dict):
        problems.append("task_role_inline_policies must be a dictionary: policy name to policy document")
        inline = {}
    for name, document in inline.items():
        if not _matches(_POLICY_NAME_RE, name):
            problems.append("task_role_inline_policies: %s is not a policy name" % name)
        if not isinstance(document, dict):
            problems.append("task_role_inline_policies: the policy %s must be a policy document (a dictionary)" % name)
    return problems


def _request(v: dict) -> dict:
    """The parts of the task definition the role would register that can be checked before the account is known."""
    return {
        "family": v.get("task_role_family"),
        "executionRoleArn": v.get("task_role_execution_role_arn"),
        "cpu": v.get("task_role_cpu"),
        "memory": v.get("task_role_memory"),
        "networkMode": v.get("task_role_network_mode"),
        "runtimePlatform": {"operatingSystemFamily": v.get("task_role_os_family")},
        "containerDefinitions": v.get("task_role_containers"),
    }


def task_role_problems(variables: dict) -> list[str] | Undefined:
    """Every problem of the task_role role's variables (see DOCUMENTATION)."""
    undefined = first_instance(variables, Undefined)
    if undefined is not None:
        return undefined
    if not isinstance(variables, dict):
        raise AnsibleFilterError(
            "ecs_windows.task_iam.task_role_problems: expects the role's variables as a "
            "dictionary, got %s" % type(variables).__name__
        )
    return _iam_problems(variables) + definition_problems(_request(variables), _ROLE_NAMES)


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"task_role_problems": task_role_problems}
