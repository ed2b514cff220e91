#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: task_definition
short_description: Register a Windows ECS task definition revision exactly when the definition changed
version_added: 0.1.0
description:
  - Compares the whole desired task definition with the latest ACTIVE revision of O(family) and registers a new
    revision exactly when anything differs - containers (every field, port mappings one by one), volumes, task and
    execution role, network mode, task cpu and memory, runtime platform, compatibilities, placement constraints.
    RV(changes) says what differed. A second run with the same arguments registers nothing.
  - Both sides are compared after filling in the defaults ECS fills in (C(essential=true), container C(cpu=0), port
    protocol C(tcp), C(hostPort) equal to C(containerPort) in C(awsvpc) mode, health check interval 30, timeout 5
    and retries 3, network mode C(bridge) or none meaning C(default), empty or C(false) values meaning absent);
    containers are matched by name, lists of objects (port mappings, environment, mount points...) are compared
    without regard to order, lists of strings (command, entryPoint...) in order.
  - For Windows container instances (EC2, and ECS Anywhere with V(EXTERNAL)) - every Windows operating system family
    the ECS API accepts, Server 2016 to 2025, Core and Full.
  - Refuses, before any AWS call, a container that maps host port 80 (the task IAM role credential proxy's port
    on Windows container instances) or a port the Windows ECS agent reserves, and a container image whose tag names
    an ltsc release (C(ltsc2019), C(ltsc2022), C(ltsc2025)) other than the release of
    O(runtime_platform.operating_system_family), because Windows containers on ECS run process-isolated and need an
    image of the host's release.
  - Optionally deregisters older ACTIVE revisions of the family (O(keep_revisions)).
  - Runs on the controller with boto3; the AWS connection options are the usual ones of amazon.aws.
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  family:
    description:
      - Task definition family, 1 to 255 letters, digits, hyphens and underscores.
    type: str
    required: true
  containers:
    description:
      - Container definitions as the ECS API takes them (camelCase, for example C(name), C(image), C(cpu), C(memory),
        C(essential), C(portMappings), C(environment), C(entryPoint), C(logConfiguration)). Every container needs a
        unique C(name) and an C(image).
      - Numbers given as strings (C("1024")) are sent as numbers.
      - No container may map host port 80 or a reserved port (53, 135, 139, 445, 2375, 2376, 3389, 5985, 5986,
        51678, 51679). In C(awsvpc) mode the host port is the container port.
    type: list
    elements: dict
    required: true
  network_mode:
    description:
      - V(default) is Docker's nat network on Windows (no C(networkMode) is sent); V(awsvpc) gives each task an ENI and
        needs C(-EnableTaskENI) on the container instances.
    type: str
    choices: [default, awsvpc]
    default: default
  runtime_platform:
    description:
      - The C(runtimePlatform) of the task definition; ECS places the tasks only on container instances whose
        C(ecs.os-family) attribute is the operating system family.
    type: dict
    required: true
    suboptions:
      operating_system_family:
        description:
          - The Windows release and edition of the container instances, as the ECS agent reports it
            (C(WINDOWS_SERVER_<release>_<CORE|FULL>)).
        type: str
        required: true
        choices:
          - WINDOWS_SERVER_2016_FULL
          - WINDOWS_SERVER_2019_CORE
          - WINDOWS_SERVER_2019_FULL
          - WINDOWS_SERVER_2004_CORE
          - WINDOWS_SERVER_20H2_CORE
          - WINDOWS_SERVER_2022_CORE
          - WINDOWS_SERVER_2022_FULL
          - WINDOWS_SERVER_2025_CORE
          - WINDOWS_SERVER_2025_FULL
      cpu_architecture:
        description:
          - The CPU architecture; Windows containers on ECS are X86_64 only.
        type: str
        choices: [X86_64]
        default: X86_64
  task_role_arn:
    description:
      - ARN of the IAM role whose credentials the task's containers get (C(taskRoleArn)). Not set means none.
    type: str
  execution_role_arn:
    description:
      - ARN of the task execution role (C(executionRoleArn)), for private registry credentials, awslogs and secrets.
        Not set means none.
    type: str
  cpu:
    description:
      - Task-level CPU units, for example V(1024). Not set means none.
    type: str
  memory:
    description:
      - Task-level memory in MiB, for example V(2048). Not set means none.
    type: str
  volumes:
    description:
      - Task volumes as the ECS API takes them (camelCase).
    type: list
    elements: dict
    default: []
  placement_constraints:
    description:
      - 'Task placement constraints as the ECS API takes them, for example
        V([{"type": "memberOf", "expression": "attribute:ecs.availability-zone == eu-west-1a"}]).'
    type: list
    elements: dict
    default: []
  requires_compatibilities:
    description:
      - Launch types the task definition is validated for.
    type: list
    elements: str
    choices: [EC2, EXTERNAL]
    default: [EC2]
  keep_revisions:
    description:
      - Keep only the newest N ACTIVE revisions of the family (the current one included) and deregister the older
        ones. Not set means keep every revision.
      - Deregistered revisions become C(INACTIVE); running tasks and services that use them keep running.
    type: int
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the latest revision and reports what would be registered or deregistered; registers nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The normalised definition before and after, with environment values masked.
notes:
  - Tags of task definitions are not managed.
  - Calls C(ecs:ListTaskDefinitions) (one call per 100 ACTIVE revisions of the family), C(ecs:DescribeTaskDefinition),
    and when something changes C(ecs:RegisterTaskDefinition) (which needs C(iam:PassRole) on the task and execution
    roles) and C(ecs:DeregisterTaskDefinition).
  - Environment values are replaced by C(********) in the diff and in RV(task_definition); RV(changes) names only the
    container field that differs.
seealso:
  - name: Amazon ECS task definitions for Windows
    description: Task definition parameters on Windows container instances.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/windows_task_definitions.html
  - module: amazon.aws.iam_role
"""

EXAMPLES = r"""
- name: Web task for Windows Server 2025 Core container instances
  ecs_windows.task_iam.task_definition:
    family: web
    region: eu-west-1
    task_role_arn: arn:aws:iam::111122223333:role/web-task
    execution_role_arn: arn:aws:iam::111122223333:role/web-exec
    runtime_platform:
      operating_system_family: WINDOWS_SERVER_2025_CORE
    cpu: "1024"
    memory: "2048"
    containers:
      - name: iis
        image: mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025
        memory: 1024
        essential: true
        portMappings:
          - containerPort: 80
            hostPort: 8080   # never 80 on Windows with task IAM roles
  register: web

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ web.task_definition_arn }}: {{ web.changes }}"

- name: The same, keeping only the three newest revisions
  ecs_windows.task_iam.task_definition:
    family: web
    region: eu-west-1
    runtime_platform:
      operating_system_family: WINDOWS_SERVER_2025_CORE
    containers:
      - name: iis
        image: mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025
        memory: 1024
    keep_revisions: 3
"""

RETURN = r"""
changes:
  description:
    - What differs between the desired definition and the latest ACTIVE revision; empty when nothing does.
    - Task-level fields show both values, container fields only the path.
  returned: always
  type: list
  elements: str
  sample: ['cpu "1024" -> "2048"', "containerDefinitions[iis].portMappings"]
task_definition_arn:
  description: ARN of the revision that is the desired definition (the new one when one was registered).
  returned: except in check mode when a revision would be registered
  type: str
  sample: arn:aws:ecs:eu-west-1:111122223333:task-definition/web:4
revision:
  description: Its revision number.
  returned: except in check mode when a revision would be registered
  type: int
  sample: 4
task_definition:
  description: The revision as ECS describes it (camelCase), environment values masked.
  returned: except in check mode when a revision would be registered
  type: dict
  sample: {"family": "web", "revision": 4, "status": "ACTIVE", "networkMode": "bridge", "containerDefinitions": []}
deregistered:
  description: ARNs of the older revisions deregistered (in check mode, that would be) because of O(keep_revisions).
  returned: always
  type: list
  elements: str
  sample: ["arn:aws:ecs:eu-west-1:111122223333:task-definition/web:1"]
"""

import json
from typing import Any

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._taskdef_checks import definition_problems
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._taskdef_compare import MASK, changes, masked
from ansible_collections.ecs_windows.task_iam.plugins.module_utils._windows_platform import WINDOWS_OS_FAMILIES

_CONTAINER_INTS = ("cpu", "memory", "memoryReservation", "startTimeout", "stopTimeout")
_PORT_INTS = ("containerPort", "hostPort")


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _container(container: dict) -> dict:
    """The container as the API takes it: digit strings of numeric fields become numbers."""
    container = dict(container)
    for key in _CONTAINER_INTS:
        if key in container:
            container[key] = _int(container[key])
    if isinstance(container.get("portMappings"), list):
        container["portMappings"] = [
            dict(m, **{k: _int(m[k]) for k in _PORT_INTS if k in m}) if isinstance(m, dict) else m
            for m in container["portMappings"]
        ]
    return container


def build_request(params: dict) -> dict:
    """The RegisterTaskDefinition request of the module arguments (camelCase, only what is set)."""
    platform = params["runtime_platform"]
    request = {
        "family": params["family"],
        "containerDefinitions": [_container(c) if isinstance(c, dict) else c for c in params["containers"]],
        "requiresCompatibilities": list(params["requires_compatibilities"]),
        "runtimePlatform": {
            "operatingSystemFamily": platform["operating_system_family"],
            "cpuArchitecture": platform["cpu_architecture"],
        },
    }
    if params["network_mode"] != "default":
        request["networkMode"] = params["network_mode"]
    for option, field in (
        ("task_role_arn", "taskRoleArn"),
        ("execution_role_arn", "executionRoleArn"),
        ("cpu", "cpu"),
        ("memory", "memory"),
    ):
        if params.get(option) not in (None, ""):
            request[field] = params[option]
    if params["volumes"]:
        request["volumes"] = params["volumes"]
    if params["placement_constraints"]:
        request["placementConstraints"] = params["placement_constraints"]
    return request


def _revision(arn: str) -> int:
    return int(arn.rsplit(":", 1)[1])


@AWSRetry.jittered_backoff()
def _active_revisions(client: Any, family: str) -> list[str]:
    """ARNs of the family's ACTIVE revisions, newest first (familyPrefix is the exact family; sorted here)."""
    paginator = client.get_paginator("list_task_definitions")
    arns = paginator.paginate(familyPrefix=family, status="ACTIVE").build_full_result().get("taskDefinitionArns", [])
    arns = [arn for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
    return sorted(arns, key=_revision, reverse=True)


def _shown(definition: dict | None) -> dict | None:
    """The described revision for the result: JSON types, environment values masked."""
    if definition is None:
        return None
    shown = json.loads(json.dumps(definition, default=str))
    for container in shown.get("containerDefinitions") or []:
        for variable in container.get("environment") or []:
            if "value" in variable:
                variable["value"] = MASK
    return shown


def main() -> None:
    argument_spec = dict(
        family=dict(type="str", required=True),
        containers=dict(type="list", elements="dict", required=True),
        network_mode=dict(type="str", choices=["default", "awsvpc"], default="default"),
        runtime_platform=dict(
            type="dict",
            required=True,
            options=dict(
                operating_system_family=dict(type="str", required=True, choices=list(WINDOWS_OS_FAMILIES)),
                cpu_architecture=dict(type="str", choices=["X86_64"], default="X86_64"),
            ),
        ),
        task_role_arn=dict(type="str"),
        execution_role_arn=dict(type="str"),
        cpu=dict(type="str"),
        memory=dict(type="str"),
        volumes=dict(type="list", elements="dict", default=[]),
        placement_constraints=dict(type="list", elements="dict", default=[]),
        requires_compatibilities=dict(type="list", elements="str", choices=["EC2", "EXTERNAL"], default=["EC2"]),
        keep_revisions=dict(type="int"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    request = build_request(params)
    problems = definition_problems(request)
    if params["keep_revisions"] is not None and params["keep_revisions"] < 1:
        problems.append(
            "keep_revisions must be 1 or more (the revision that is the desired definition stays), got %d"
            % params["keep_revisions"]
        )
    if problems:
        module.fail_json(msg="; ".join(problems), changes=[], deregistered=[])

    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    family = params["family"]
    try:
        active = _active_revisions(client, family)
        current = None
        if active:
            current = client.describe_task_definition(taskDefinition=active[0], aws_retry=True)["taskDefinition"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        module.fail_json_aws(exc, msg="Could not read the ACTIVE revisions of task definition family %s" % family)

    found = changes(request, current)
    result: dict[str, Any] = dict(changed=bool(found), changes=found, deregistered=[])
    result["diff"] = dict(
        before_header=current["taskDefinitionArn"] if current else "(no ACTIVE revision of %s)" % family,
        # Nothing found to change means there is a current revision.
        after_header="a new revision of %s" % family if found else current["taskDefinitionArn"],  # type: ignore[index]
        before=masked(current) or {},
        after=masked(request) if found else masked(current),
    )

    registered = current
    if found and not module.check_mode:
        try:
            registered = client.register_task_definition(aws_retry=True, **request)["taskDefinition"]
        except botocore.exceptions.ParamValidationError as exc:
            module.fail_json(msg="The task definition is not what the ECS API takes: %s" % exc, **result)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            module.fail_json_aws(
                exc, msg="Could not register a revision of task definition family %s" % family, **result
            )
    elif found:
        registered = None

    if params["keep_revisions"] is not None:
        kept = params["keep_revisions"] - (1 if found else 0)
        older = [arn for arn in active[kept:] if registered is None or arn != registered["taskDefinitionArn"]]
        for arn in older:
            if not module.check_mode:
                try:
                    client.deregister_task_definition(taskDefinition=arn, aws_retry=True)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                    module.fail_json_aws(exc, msg="Could not deregister %s" % arn, **result)
            result["deregistered"].append(arn)
        result["changed"] = result["changed"] or bool(older)

    if registered is not None:
        result.update(
            task_definition=_shown(registered),
            task_definition_arn=registered["taskDefinitionArn"],
            revision=registered["revision"],
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
