#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the action plugin plugins/action/instance_info.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instance_info
short_description: Report the task IAM role state of a Windows ECS container instance, with coded findings
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip, everything that decides whether Amazon ECS "IAM roles for tasks" work on a
    Windows container instance - the ECS agent, its service and Machine environment, its registration, the
    credential proxy (C(169.254.170.2) binding, portproxy rule, firewall rule), both credential endpoints, port 80
    listeners, excluded port ranges, the vEthernet (nat) adapters of Docker, scheduled tasks, boot time and the
    running containers with their routes.
  - Returns those facts and RV(findings) - a list of coded problems, each with the host state seen and the exact fix.
    RV(healthy) is true exactly when there is no finding.
  - Changes nothing on the host. Works over any connection that runs Windows PowerShell 5.1 commands
    (C(winrm), C(psrp), C(ssh) with the C(powershell) shell); nothing is copied to the host.
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  container_detail:
    description:
      - How much to report about running Docker containers.
      - V(none) skips containers, V(list) lists them, V(routes) also reads each C(nat) container's gateway and routes
        (one C(docker exec) per container), which finding C(container_routes_missing) needs.
    type: str
    choices: [none, list, routes]
    default: routes
  files:
    description:
      - Windows paths whose SHA-256 to report in RV(files), for example a boot script you manage.
      - Local absolute paths only (a drive letter, a colon and a backslash); a UNC path is refused, because the host
        would authenticate to that server over SMB to read it.
      - Paths are sent as data, never as PowerShell code.
    type: list
    elements: str
    default: []
  cluster:
    description:
      - The ECS cluster the instance is expected in (1 to 255 letters, digits, hyphens and underscores). When set, an
        instance registered to (or configured for) another cluster gets the finding C(cluster_mismatch).
      - The C(ecs_windows.task_iam.verify) playbook passes the role variable C(container_instance_cluster) here.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - ecs_windows.task_iam.remote_ops
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
notes:
  - Costs exactly one command on the host (one WinRM C(Command)); a dropped connection is retried with backoff
    because the probe is read-only.
  - Finding codes - C(ecstools_missing), C(agent_not_initialized), C(agent_not_running), C(agent_not_registered),
    C(task_iam_disabled), C(proxy_missing), C(proxy_stale_after_reboot), C(proxy_dead_rule), C(port80_in_use),
    C(agent_port_excluded), C(duplicate_nat_adapters), C(no_proxy_missing), C(container_routes_missing),
    C(boot_recovery_failed).
  - The credential proxy is judged by what it answers, not by which pieces exist -
    C(GET http://169.254.170.2/v2/credentials/) returns HTTP 400 C(NoIdInRequest) when the path to the agent works.
seealso:
  - module: ecs_windows.task_iam.agent
  - module: ecs_windows.task_iam.credential_proxy
  - module: ecs_windows.task_iam.container_routes
  - name: Windows task IAM roles (AWS documentation)
    description: Extra configuration AWS asks for on Windows container instances.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/windows_task_IAM_roles.html
"""

EXAMPLES = r"""
- name: Read the task IAM role state of the container instances
  ecs_windows.task_iam.instance_info:
  register: ecs_info

- name: Show what is wrong and how to fix it
  ansible.builtin.debug:
    msg: "{{ ecs_info.findings | map(attribute='message') | list }}"
  when: not ecs_info.healthy

- name: Fail the hosts whose credential proxy is stale after a reboot
  ansible.builtin.assert:
    that: "'proxy_stale_after_reboot' not in (ecs_info.findings | map(attribute='code'))"
    fail_msg: "{{ ecs_info.findings | map(attribute='fix') | join('; ') }}"

- name: After a reboot, wait until the boot-time repair has run before judging the host
  ecs_windows.task_iam.instance_info:
    container_detail: none
  register: ecs_info
  until: not ecs_info.boot_recovery.pending
  retries: 30
  delay: 10

- name: Quick check without containers, hashing a managed file
  ecs_windows.task_iam.instance_info:
    container_detail: none
    files:
      - C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover-credential-proxy.ps1
"""

RETURN = r"""
healthy:
  description: True exactly when RV(findings) is empty.
  returned: success
  type: bool
  sample: false
findings:
  description: Problems found, in a fixed order of codes (see notes).
  returned: success
  type: list
  elements: dict
  contains:
    code:
      description: Stable identifier of the problem.
      type: str
      sample: proxy_stale_after_reboot
    message:
      description: The host state that was seen.
      type: str
      sample: >-
        the portproxy rule 169.254.170.2:80 -> 127.0.0.1:51679 survives but no adapter has 169.254.170.2 since the boot
        at 2026-01-05T07:12:09Z; http://169.254.170.2/v2/credentials/ fails: A socket operation was attempted to an
        unreachable network. 169.254.170.2:80
    fix:
      description: The remedy - the module and options to run, or the command to run on the host.
      type: str
      sample: run ecs_windows.task_iam.credential_proxy (deletes the stale rule, re-initializes the agent and verifies)
commands:
  description: WinRM commands this task sent to the host (retries included; a second one the first time the
    collection meets a host, see RV(cache)).
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
host:
  description: Host identity and boot.
  returned: success
  type: dict
  contains:
    hostname:
      description: Computer name.
      type: str
    os_caption:
      description: Windows edition.
      type: str
      sample: Microsoft Windows Server 2022 Datacenter
    os_version:
      description: Windows version.
      type: str
      sample: 10.0.20348
    boot_id:
      description: Last boot time as a Windows FILETIME; changes with every boot.
      type: int
    boot_time:
      description: Last boot time, ISO 8601 UTC.
      type: str
    build:
      description: Windows build number (17763 for 2019, 20348 for 2022, 26100 for 2025).
      type: int
      sample: 20348
    edition:
      description: C(Full) or C(Core), from the registry's C(InstallationType) as the ECS agent reads it.
      type: str
      sample: Full
identity:
  description: The EC2 instance, from the instance metadata service (IMDSv2) - C(ec2_instance_id), or C(error) saying why
    it is unknown.
  returned: success
  type: dict
  sample: {ec2_instance_id: i-0123456789abcdef0, error: null}
ecstools:
  description: The ECSTools PowerShell module (C(Initialize-ECSAgent)).
  returned: success
  type: dict
  contains:
    present:
      description: Whether C(Import-Module ECSTools) can load it.
      type: bool
    version:
      description: Its version.
      type: str
hyperv_powershell:
  description: Whether the Hyper-V PowerShell module (needed by ECSTools for the proxy adapter) is installed.
  returned: success
  type: bool
agent:
  description: The installed ECS agent.
  returned: success
  type: dict
  contains:
    installed:
      description: Whether C(amazon-ecs-agent.exe) is installed.
      type: bool
    version:
      description: Its version (from the agent when it runs, else from C(amazon-ecs-agent.exe -version)).
      type: str
      sample: 1.105.1
    version_source:
      description: Where the version came from - C(introspection) or C(executable).
      type: str
services:
  description: Services C(AmazonECS), C(docker) and C(W3SVC); null when absent.
  returned: success
  type: dict
  sample:
    AmazonECS: {status: Running, start_type: Automatic, failure_restart: true}
    docker: {status: Running, start_type: Automatic, failure_restart: false}
    W3SVC: null
machine_env:
  description:
    - The Machine-scope environment variables the collection uses - C(ECS_*), C(ECSWINDOWS_TASK_IAM_*),
      C(HTTP_PROXY), C(HTTPS_PROXY), C(NO_PROXY) - with their names spelt as on the host (Windows matches them
      case-insensitively).
    - Masked on the host before they leave it - the whole value of a name containing C(AUTH), C(PASS), C(PWD),
      C(SECRET), C(TOKEN), C(CREDENTIAL) or C(KEY), and the whole user information of a URL
      (C(http://********@proxy:3128)), are C(********).
  returned: success
  type: dict
  sample: {ECS_CLUSTER: windows, ECS_ENABLE_TASK_IAM_ROLE: "true"}
machine_env_other:
  description: The names of every other Machine-scope environment variable (their values are not read).
  returned: success
  type: list
  elements: str
  sample: [ComSpec, Path, PSModulePath, TEMP]
registration:
  description: What the agent's introspection API (C(http://localhost:51678/v1/metadata)) answers.
  returned: success
  type: dict
  contains:
    reachable:
      description: Whether it answered.
      type: bool
    cluster:
      description: Cluster the agent runs for.
      type: str
    container_instance_arn:
      description: ARN of this container instance; null until registered.
      type: str
    version:
      description: Agent version string.
      type: str
    error:
      description: Why it did not answer.
      type: str
endpoints:
  description: >-
    The credential endpoints - C(agent_tmds) is the agent itself (C(http://127.0.0.1:51679/v1/credentials)),
    C(proxy) the path tasks use (C(http://169.254.170.2/v2/credentials/)).
  returned: success
  type: dict
  sample:
    agent_tmds: {ok: true, status: 400, code: NoIdInRequest, error: null}
    proxy: {ok: false, status: null, code: null, error: "A socket operation was attempted to an unreachable network. 169.254.170.2:80"}
proxy:
  description: The pieces of the credential proxy found on the host.
  returned: success
  type: dict
  contains:
    ip_bindings:
      description: Adapters with C(169.254.170.2).
      type: list
      elements: dict
    portproxy:
      description: C(netsh interface portproxy) v4tov4 rules.
      type: list
      elements: dict
    firewall_rules:
      description: Firewall rules for the agent's port 51679.
      type: list
      elements: dict
    apipa_adapter:
      description: Name of a legacy APIPA vNIC made by the old hostsetup.ps1, if any.
      type: str
nat_adapters:
  description: Adapters whose name starts with vEthernet (nat).
  returned: success
  type: list
  elements: dict
port80_listeners:
  description: TCP listeners on port 80.
  returned: success
  type: list
  elements: dict
excluded_port_ranges:
  description: Excluded TCP port ranges (C(netsh interface ipv4 show excludedportrange protocol=tcp)).
  returned: success
  type: list
  elements: dict
scheduled_tasks:
  description: Startup tasks related to the agent (ECSTools' C(Initialize-ECSHostReboot), this collection's recovery task).
  returned: success
  type: list
  elements: dict
files:
  description: SHA-256 (lower-case hex) of each path in O(files); null when the file does not exist.
  returned: success
  type: dict
boot_recovery:
  description: This collection's boot-time credential proxy recovery (C(ecs_windows.task_iam.credential_proxy) with C(on_boot)).
  returned: success
  type: dict
  contains:
    installed:
      description: Whether its startup task exists.
      type: bool
    enabled:
      description: Whether that task is enabled.
      type: bool
    last:
      description: Its last run as logged on the host (time, boot_id, action, before, after, removed, error); null if it never ran.
      type: dict
    healed_this_boot:
      description: Whether its last run, at this boot, repaired the credential proxy.
      type: bool
    ran_this_boot:
      description: Whether it has finished a run since this boot.
      type: bool
    pending:
      description:
        - Whether it is enabled and has not finished a run since this boot (it waits for its delay, or runs now). After a
          reboot, wait until this is false before you judge the host, as M(ecs_windows.task_iam.instance_info)'s
          EXAMPLES show.
      type: bool
credential_failures:
  description:
    - Credential requests that failed, from the tail of the agent's audit log - the agent logs a failed request without
      its task, so they are counted here (C(count), C(first_time), C(last_time), C(last_status)); null when none.
  returned: success
  type: dict
tasks:
  description:
    - The agent's running tasks (C(/v1/tasks)) - C(arn), C(family), C(version), C(known_status), C(desired_status) and
      C(last_credentials), the time, HTTP status and event of the task's last credential request in the agent's audit log
      (null when it made none); null when the agent does not answer (C(tasks_error) says why).
  returned: success
  type: list
  elements: dict
timings_ms:
  description: How long each section of the probe took on the host, in milliseconds (C(-v) prints the slowest three).
  returned: success
  type: dict
  sample: {host: 210, services: 95, containers: 1840, endpoints: 310}
containers:
  description: Running containers (empty with O(container_detail=none)); C(shell), C(gateway) and C(routes) are null unless
    O(container_detail=routes).
  returned: success
  type: list
  elements: dict
"""
