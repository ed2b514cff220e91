# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Problems of a Windows task definition request that fail it before any AWS call: malformed fields, host port 80
and the agent's reserved ports, an image built for another Windows release than the operating system family.
Shared by the `task_definition` module and the `task_role_problems` filter (the task_role role); each names the
fields after its own arguments.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.module_utils._windows_platform import (
    WINDOWS_OS_FAMILIES,
    image_mismatch,
)
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._windows_ports import (
    PortInputError,
    host_port_conflicts,
)

FAMILY_RE = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")
CONTAINER_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")
ROLE_ARN_RE = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[!-~]{1,512}\Z")
_NUMBER_RE = re.compile(r"[0-9]{1,9}\Z")

# The request field -> the caller's argument name, for messages.
MODULE_NAMES = {
    "family": "family",
    "taskRoleArn": "task_role_arn",
    "executionRoleArn": "execution_role_arn",
    "cpu": "cpu",
    "memory": "memory",
    "containerDefinitions": "containers",
    "operatingSystemFamily": "runtime_platform.operating_system_family",
}


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _containers(containers: Any, arg: str, family_arg: str, request: dict) -> list[str]:
    if not isinstance(containers, list):
        return ["%s must be a list of container definitions" % arg]
    if not containers:
        return ["%s is empty: give at least one container" % arg]
    problems = []
    names = []
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            problems.append("%s[%d] must be a dictionary (a container definition)" % (arg, index))
            continue
        name, image = container.get("name"), container.get("image")
        if name is None:
            problems.append("%s[%d] has no name: every container needs a name" % (arg, index))
        elif not isinstance(name, str) or not CONTAINER_NAME_RE.match(name):
            problems.append(
                "%s[%d].name %s is not a container name: 1 to 255 letters, digits, hyphens and underscores"
                % (arg, index, _show(name))
            )
        else:
            names.append(name)
        if image is None:
            problems.append("%s[%d] (%s) has no image: every container needs an image" % (arg, index, name))
        elif not isinstance(image, str) or not image.strip():
            problems.append(
                "%s[%d].image must be an image reference such as "
                "mcr.microsoft.com/windows/servercore:ltsc2022" % (arg, index)
            )
        else:
            os_family = (request.get("runtimePlatform") or {}).get("operatingSystemFamily")
            mismatch = image_mismatch(image, os_family, family_arg) if os_family in WINDOWS_OS_FAMILIES else None
            if mismatch:
                problems.append("%s: container %s %s" % (arg, name, mismatch))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append("%s: container names must be unique, %s appear more than once" % (arg, ", ".join(duplicates)))
    if problems:
        return problems
    try:
        conflicts = host_port_conflicts(request)
    except PortInputError as exc:
        return ["%s: %s" % (arg, exc)]
    return [
        "%s: container %s maps host port %d: %s" % (arg, c["container"], c["host_port"], c["reason"]) for c in conflicts
    ]


def definition_problems(request: dict, names: dict | None = None) -> list[str]:
    """Every problem of the RegisterTaskDefinition request `request` (camelCase), [] when there is none.

    `names` maps request fields (see MODULE_NAMES) to the caller's argument names used in the messages.
    """
    names = dict(MODULE_NAMES, **(names or {}))
    problems = []
    family = request.get("family")
    if not isinstance(family, str) or not FAMILY_RE.match(family):
        problems.append(
            "%s %s is not a task definition family: 1 to 255 letters, digits, hyphens and underscores"
            % (names["family"], _show(family))
        )
    for field in ("taskRoleArn", "executionRoleArn"):
        value = request.get(field)
        if value not in (None, "") and not (isinstance(value, str) and ROLE_ARN_RE.match(value)):
            problems.append(
                "%s %s is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)" % (names[field], _show(value))
            )
    for field, unit in (("cpu", "a number of CPU units such as 1024"), ("memory", "a number of MiB such as 2048")):
        value = request.get(field)
        if value not in (None, "") and (isinstance(value, bool) or not _NUMBER_RE.match(str(value))):
            problems.append("%s %s must be %s" % (names[field], _show(value), unit))
    os_family = (request.get("runtimePlatform") or {}).get("operatingSystemFamily")
    if os_family not in WINDOWS_OS_FAMILIES:
        problems.append(
            "%s %s is not a Windows operating system family: one of %s"
            % (names["operatingSystemFamily"], _show(os_family), ", ".join(WINDOWS_OS_FAMILIES))
        )
    problems.extend(
        _containers(
            request.get("containerDefinitions"), names["containerDefinitions"], names["operatingSystemFamily"], request
        )
    )
    return problems
