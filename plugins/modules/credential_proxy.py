#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the action plugin plugins/action/credential_proxy.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: credential_proxy
short_description: Keep the ECS task credential proxy (169.254.170.2:80) of a Windows container instance working, also across reboots
version_added: 0.1.0
description:
  - Tasks with an IAM role get their credentials from C(http://169.254.170.2/v2/credentials/<id>). On Windows the
    host serves that address with a portproxy rule C(169.254.170.2:80 -> 127.0.0.1:51679) (the agent), the address
    C(169.254.170.2) on a vNIC of Docker's C(nat) network and the firewall rule C(Allow Inbound Port 51679), set up
    by C(Initialize-ECSAgent -EnableTaskIAMRole).
  - After a reboot the address is gone while the portproxy rule survives, and the proxy stays broken until it is
    deleted and the agent initialised again (AWS - "delete the proxy interface and initialize the Amazon ECS
    container agent again").
  - With O(state=healthy) the module probes the endpoint the way the agent answers (HTTP 400 C(NoIdInRequest) means
    healthy) and, when it is broken, reports the cause in RV(cause) and repairs it in one WinRM command - deletes
    exactly the identified proxy pieces in the safe order (portproxy rule, the C(169.254.170.2) binding, a legacy
    APIPA vNIC), re-initialises the agent with its current settings (read from its Machine environment), waits for
    registration and verifies with a final probe. A merely stopped agent is started first, and the proxy repaired
    (in a second batch) only if it still fails then.
  - Refuses, changing nothing, what re-initialising cannot fix, with the exact remedy - port 80 held by another
    listener such as IIS, 51678/51679 inside an excluded port range, duplicate "vEthernet (nat)" adapters - and
    what M(ecs_windows.task_iam.agent) must do first (agent not initialised or disabled, IAM roles for tasks off,
    ECSTools missing).
  - O(on_boot=true) installs a startup scheduled task that does the same repair at every boot without Ansible.
  - Never touches adapters, addresses, rules or firewall rules it did not identify as the proxy's.
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  state:
    description:
      - V(healthy) repairs a broken proxy (see above).
      - V(absent) deletes the proxy pieces (portproxy rule, C(169.254.170.2) bindings, legacy APIPA vNIC, the
        C(Allow Inbound Port 51679) firewall rule) and the startup task with its script. It does not change the
        agent's settings; disable IAM roles for tasks with M(ecs_windows.task_iam.agent) first, or the next
        initialisation creates the proxy again.
    type: str
    choices: [healthy, absent]
    default: healthy
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - ecs_windows.task_iam.remote_ops
  - ecs_windows.task_iam.host_options.proxy
  - ecs_windows.task_iam.host_options.init
  - ecs_windows.task_iam.host_options.lock
attributes:
  check_mode:
    support: full
    details: Sends only the probe (one WinRM command) and reports the cause and the planned RV(changes).
  diff_mode:
    support: full
    details: Before and after of the endpoint state, the proxy pieces and the startup task.
notes:
  - "WinRM commands per host (measured against the simulator, see RV(commands)): 1 when healthy or in check mode;
    2 for a repair or a startup task change (the probe, then one batch that changes, waits for registration for up to
    20 seconds and probes again to verify); more only while something is waited for (registration, ECSTools' own
    startup task, the host lock) or a repair needs a second pass."
  - Arguments are validated before anything is sent; a bad value fails with no WinRM command.
  - The causes it tells apart - C(stale_after_reboot) (the rule survived, the address did not), C(dead_rule) (rule,
    address and agent are there but nothing answers - a "ghost" rule created before the address was ready, or one
    pointing elsewhere), C(missing), C(agent_down). Refusals report the finding code as RV(cause).
  - Using the endpoint's answer as the health check follows the agent source (an inference); the teardown commands
    are not published by AWS and are the inverse of its C(hostsetup.ps1) (an inference); that the address does not
    survive a reboot while the rule does is reported by users and inferred from the HNS C(nat) network behaviour.
  - Current ECSTools creates its own startup task C(Initialize-ECSHostReboot) whose action is not published. The
    startup task of this module waits for it to finish and then only acts if the endpoint is still broken.
  - An IIS (or other) listener on C(0.0.0.0:80) conflicting with C(169.254.170.2:80) is an inference from the agent
    reserving port 80 for the proxy; the module refuses rather than stopping another service.
seealso:
  - module: ecs_windows.task_iam.agent
  - module: ecs_windows.task_iam.instance_info
  - name: Windows task IAM roles (AWS documentation)
    description: Says to delete the proxy interface and initialise the agent again after a restart.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/windows_task_IAM_roles.html
"""

EXAMPLES = r"""
- name: Repair the credential proxy after a reboot or patch wave
  ecs_windows.task_iam.credential_proxy:
  register: proxy

- name: Show what was wrong
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ proxy.cause }} (repaired: {{ proxy.repaired }})"

- name: Repair now and let every later reboot repair itself without Ansible
  ecs_windows.task_iam.credential_proxy:
    on_boot: true
    boot_delay: 60

- name: Only report which hosts have a broken proxy
  ecs_windows.task_iam.credential_proxy:
  check_mode: true
  register: proxy_check

- name: Remove the proxy and its startup task (after disabling task IAM roles with the agent module)
  ecs_windows.task_iam.credential_proxy:
    state: absent
"""

RETURN = r"""
cause:
  description:
    - What the probe found before the task - V(healthy), V(stale_after_reboot), V(dead_rule), V(missing),
      V(agent_down), or, when the task refused to act, the finding code (V(port80_in_use),
      V(agent_port_excluded), V(duplicate_nat_adapters), V(agent_not_initialized), V(agent_not_running),
      V(task_iam_disabled), V(ecstools_missing)).
  returned: success, and when the task refused to act or the host did not converge
  type: str
  sample: stale_after_reboot
reason:
  description: The evidence behind RV(cause), in words.
  returned: success, and when the task refused to act or the host did not converge
  type: str
  sample: >-
    169.254.170.2:80 fails (A socket operation was attempted to an unreachable network 169.254.170.2:80):
    the portproxy rule survived but 169.254.170.2 is bound to no adapter
repaired:
  description: True when the endpoint was broken and answers like the agent after the task.
  returned: success, and when the task refused to act or the host did not converge
  type: bool
  sample: true
changes:
  description: What was changed (or, in check mode, would be) and why, one line per change.
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
boot_recovery:
  description: The startup task after the task - installed, enabled, and the last boot-time run logged.
  returned: success
  type: dict
  sample: {"installed": true, "enabled": true, "last": null}
facts:
  description: The host's facts from the last probe, as M(ecs_windows.task_iam.instance_info) returns them.
  returned: success, and when the task refused to act or the host did not converge
  type: dict
findings:
  description: Coded problems of the host after the task (or why it refused to act), each with the exact remedy.
  returned: always when the host was probed
  type: list
  elements: dict
  sample: [{"code": "port80_in_use", "message": "port 80 is held by 0.0.0.0:80 by System (pid 4) ...", "fix": "stop IIS: ..."}]
healthy:
  description: Whether RV(findings) is empty; M(ecs_windows.task_iam.instance_info)'s verdict on the final probe.
  returned: always when the host was probed
  type: bool
"""
