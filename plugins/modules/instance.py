#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the action plugin plugins/action/instance.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instance
short_description: The whole host side of IAM roles for tasks on a Windows ECS container instance, in one task
version_added: 0.1.0
description:
  - The converging partner of M(ecs_windows.task_iam.instance_info) - takes the options of
    M(ecs_windows.task_iam.agent), M(ecs_windows.task_iam.credential_proxy) and M(ecs_windows.task_iam.container_routes)
    together, probes the host once, plans all three on those facts (the credential proxy and the routes on the state
    the agent's plan leads to), applies everything in one batch that ends with its verifying probe, and returns the
    host's facts and RV(findings) as M(ecs_windows.task_iam.instance_info) does.
  - What each part does, and why, is described with the module of its own; they are built from the same planners.
  - The M(ecs_windows.task_iam.container_instance) role runs this module (one remote task per host).
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  state:
    description:
      - V(present) configures the agent, the credential proxy (with O(task_iam_role)) and, with O(container_routes),
        the routes of running nat containers.
      - V(absent) stops and disables the agent, removes the Machine environment it manages, the credential proxy and the
        startup task (as the three modules' C(absent) states do).
    type: str
    choices: [present, absent]
    default: present
  on_boot:
    description:
      - Install (or update) the boot-time repair task (see M(ecs_windows.task_iam.credential_proxy)'s
        O(ecs_windows.task_iam.credential_proxy#module:on_boot)); V(false) removes it; V(null) leaves it as it is.
    type: bool
    default: true
  container_routes:
    description:
      - Also give running nat-mode containers their routes to the credential endpoint (see
        M(ecs_windows.task_iam.container_routes)).
    type: bool
    default: false
  container_names:
    description:
      - With O(container_routes), container name patterns (shell-style, case-sensitive); a container matching any is selected.
    type: list
    elements: str
    default: ['*']
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - ecs_windows.task_iam.remote_ops
  - ecs_windows.task_iam.host_options.agent
  - ecs_windows.task_iam.host_options.init
  - ecs_windows.task_iam.host_options.proxy
  - ecs_windows.task_iam.host_options.routes
  - ecs_windows.task_iam.host_options.lock
attributes:
  check_mode:
    support: full
    details: Sends only the probe (one WinRM command) and reports every planned change of all three parts - the startup
      task included, planned on the state the agent's changes lead to.
  diff_mode:
    support: full
    details: Before and after of each part, under C(agent), C(credential_proxy) and C(container_routes).
notes:
  - "WinRM commands per host (measured against the simulator, see RV(commands)): 1 when nothing needs changing or
    in check mode; 2 for a change (the probe, then one batch that applies everything, waits for registration for up
    to 20 seconds and probes again); more only while something is waited for (registration beyond that, ECSTools' own
    startup task, the host lock) or an initialisation is retried."
  - Arguments are validated before anything is sent; a bad value fails with no WinRM command.
  - The task fails only when the host did not converge to what the options ask for; RV(healthy) and RV(findings)
    report what else is wrong (the role fails the host on them).
seealso:
  - module: ecs_windows.task_iam.instance_info
  - module: ecs_windows.task_iam.agent
  - module: ecs_windows.task_iam.credential_proxy
  - module: ecs_windows.task_iam.container_routes
  - name: Windows task IAM roles (AWS documentation)
    description: Extra configuration AWS asks for on Windows container instances.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/windows_task_IAM_roles.html
"""

EXAMPLES = r"""
- name: Agent with task IAM roles, self-healing credential proxy, in one WinRM command when nothing changes
  ecs_windows.task_iam.instance:
    cluster: windows-prod
    logging_drivers: [json-file, awslogs]
  register: ecs_instance

- name: Fail the host with every finding and its fix
  ansible.builtin.assert:
    that: ecs_instance.healthy
    fail_msg: "{{ ecs_instance.findings | map(attribute='fix') | list }}"

- name: Also route running nat containers to the credential endpoint, without instance metadata
  ecs_windows.task_iam.instance:
    cluster: windows-prod
    container_routes: true
    imds: block
"""

RETURN = r"""
changes:
  description: What was changed (or, in check mode, would be) and why, one line per change, for all three parts.
  returned: success, and when applying the planned changes failed
  type: list
  elements: str
commands:
  description: WinRM commands this task sent to the host (retries included).
  returned: always
  type: int
  sample: 1
cache:
  description:
    - What became of the collection's library cached on the host (docs/dev/op-contract.md "The library") -
      C(hit) (the cached copy ran), C(present) (the code was sent and the cached copy is current), C(stored) (it was
      sent and kept), C(absent) (none is cached; check mode stores nothing), or null when no command completed.
  returned: always
  type: str
  sample: hit
cluster:
  description: Cluster the agent is registered with after the task.
  returned: success
  type: str
container_instance_arn:
  description: ARN of the container instance after the task (null when not registered).
  returned: success
  type: str
agent_version:
  description: Installed agent version after the task.
  returned: success
  type: str
init:
  description: The C(Initialize-ECSAgent) runs, as RV(ecs_windows.task_iam.agent#module:init) of the agent module.
  returned: when the agent was initialised
  type: dict
credential_proxy:
  description: The credential proxy part - C(cause) and C(reason) from the first
    probe, whether it was repaired, and the startup task after the task.
  returned: success, with task_iam_role
  type: dict
containers:
  description: With O(container_routes), the per-container report of M(ecs_windows.task_iam.container_routes).
  returned: success, with container_routes
  type: list
  elements: dict
facts:
  description: The host's facts from the last probe, as M(ecs_windows.task_iam.instance_info) returns them.
  returned: always when the host was probed
  type: dict
findings:
  description: Coded problems of the host after the task, each with the exact remedy.
  returned: always when the host was probed
  type: list
  elements: dict
healthy:
  description: Whether RV(findings) is empty.
  returned: always when the host was probed
  type: bool
"""
