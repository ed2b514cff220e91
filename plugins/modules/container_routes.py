#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the action plugin plugins/action/container_routes.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: container_routes
short_description: Give running nat-mode ECS containers on Windows their routes to the task credential endpoint
version_added: 0.1.0
description:
  - Windows containers in the C(default) (Docker C(nat)) network mode reach the credential proxy C(169.254.170.2)
    and instance metadata C(169.254.169.254) only through routes they add themselves - the AWS container bootstrap
    script. This module adds them to running containers from the host, for images that do not run that script.
  - For each selected running C(nat) container it ensures C(169.254.170.2/32) and, unless O(imds=block),
    C(169.254.169.254/32) via the container's default gateway, in the active store (gone when the container stops)
    - with C(New-NetRoute -PolicyStore ActiveStore) in images with PowerShell, with
    C(netsh interface ipv4 add route ... store=active) in cmd-only images (detected per container).
  - C(awsvpc) containers are skipped - the agent routes them itself.
  - Reports per container what it did in RV(containers), and fails when any selected container failed.
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  names:
    description:
      - Container name patterns (shell-style, case-sensitive, for example V(ecs-web-*)); a container matching any is selected.
    type: list
    elements: str
    default: ['*']
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - ecs_windows.task_iam.remote_ops
  - ecs_windows.task_iam.host_options.routes
  - ecs_windows.task_iam.host_options.lock
attributes:
  check_mode:
    support: full
    details: Sends only the probe (one WinRM command) and reports per container what it would do.
  diff_mode:
    support: full
    details: Before and after of the two routes per selected nat container.
notes:
  - "WinRM commands per host (measured against the simulator, see RV(commands)): 1 when nothing needs changing or
    in check mode; 2 for a change (the probe, then one batch that changes the routes of all containers and probes
    again to verify). Inside them it runs C(docker exec) per container."
  - Routes live in the container's active store, so a restarted container needs them again; prefer the bootstrap
    script in the image's entrypoint (filter C(ecs_windows.task_iam.bootstrap_script)) for tasks you build, and this
    module for images you cannot change or as a repair.
  - The host's credential proxy must work as well, see M(ecs_windows.task_iam.credential_proxy).
  - A selected container without a default gateway or without powershell.exe/cmd.exe fails with the reason;
    the others are still changed.
seealso:
  - module: ecs_windows.task_iam.credential_proxy
  - module: ecs_windows.task_iam.instance_info
  - name: IAM roles for task container bootstrap script (AWS documentation)
    description: The routes each nat-mode Windows container needs.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/windows_task_IAM_roles.html
"""

EXAMPLES = r"""
- name: Route every running nat-mode container to the credential proxy and IMDS
  ecs_windows.task_iam.container_routes:

- name: Only the web tasks, and without instance metadata access
  ecs_windows.task_iam.container_routes:
    task_families: [web-frontend]
    imds: block
  register: routes

- name: Show what happened per container
  ansible.builtin.debug:
    msg: "{{ routes.containers | map(attribute='name') | zip(routes.containers | map(attribute='action')) | list }}"
"""

RETURN = r"""
containers:
  description: One entry per running container seen, selected or not.
  returned: success, and when a selected container failed
  type: list
  elements: dict
  contains:
    id:
      description: Docker container id.
      type: str
    name:
      description: Docker container name.
      type: str
      sample: ecs-web-frontend-3-web-d2a6f0e4b1c8c3a1f701
    network_mode:
      description: V(nat) or V(awsvpc).
      type: str
    action:
      description: V(added), V(removed), V(unchanged), V(skipped) or V(failed) (in check mode - what would happen).
      type: str
      sample: added
    added:
      description: Route destinations added.
      type: list
      elements: str
      sample: [169.254.170.2/32, 169.254.169.254/32]
    removed:
      description: Route destinations removed.
      type: list
      elements: str
    reason:
      description: Why, in words (or the error of a failed container).
      type: str
      sample: add 169.254.170.2/32, 169.254.169.254/32 via 172.29.80.1 with New-NetRoute -PolicyStore ActiveStore
changes:
  description: One line per changed container.
  returned: success, and when applying the planned changes failed
  type: list
  elements: str
commands:
  description: WinRM commands this task sent to the host (retries included).
  returned: always
  type: int
  sample: 2
cache:
  description:
    - What became of the collection's library cached on the host (docs/dev/op-contract.md "The library") -
      C(hit) (the cached copy ran), C(present) (the code was sent and the cached copy is current), C(stored) (it was
      sent and kept), C(absent) (none is cached; check mode stores nothing), or null when no command completed.
  returned: always
  type: str
  sample: hit
facts:
  description: The host's facts from the last probe, as M(ecs_windows.task_iam.instance_info) returns them.
  returned: success, and when a selected container failed
  type: dict
"""
