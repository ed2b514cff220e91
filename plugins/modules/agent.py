#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the action plugin plugins/action/agent.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: agent
short_description: Configure the Amazon ECS agent on a Windows container instance for a cluster, with IAM roles for tasks
version_added: 0.1.0
description:
  - Makes the ECS agent of a Windows EC2 container instance run for O(cluster) with IAM roles for tasks, the way
    C(Import-Module ECSTools; Initialize-ECSAgent -Cluster <cluster> -EnableTaskIAMRole) does on an ECS-optimized AMI,
    and keeps it that way.
  - Idempotent on the real outcome, read in one probe - the agent's Machine-scope environment variables, the
    C(AmazonECS) service running with start type Automatic and restart on failure, the agent registered with
    O(cluster) (C(http://localhost:51678/v1/metadata) has a C(ContainerInstanceArn)), and, with O(task_iam_role),
    the credential endpoint C(169.254.170.2:80) answering like the agent.
  - Runs C(Initialize-ECSAgent) only when something it configures differs (the service is missing, a setting of
    its own changes, a pinned version differs, the cluster changes, or the credential proxy is broken), in a child
    C(powershell.exe) bounded by O(init_timeout). It retries the known sporadic "VMNetwork adapter 'vEthernet (nat)*'
    not found" failure with backoff and waits for registration from the controller, in short rounds with a
    progress line each; a final probe verifies the outcome.
  - A broken credential proxy (stale after a reboot, or a dead portproxy rule) is deleted before re-initialising,
    because initialising on top of it keeps a dead rule holding port 80.
  - Reports every change and why in RV(changes).
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  state:
    description:
      - V(present) configures and starts the agent.
      - V(absent) stops the C(AmazonECS) service, sets it to Disabled and removes the Machine environment this module
        manages (cluster, task IAM, ENI/awsvpc settings, O(environment) names, and the proxy settings when
        O(http_proxy) is given). The agent's saved registration, its installation and the credential proxy stay.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - ecs_windows.task_iam.remote_ops
  - ecs_windows.task_iam.host_options.agent
  - ecs_windows.task_iam.host_options.init
  - ecs_windows.task_iam.host_options.lock
attributes:
  check_mode:
    support: full
    details: Sends only the probe (one WinRM command) and reports the planned RV(changes).
  diff_mode:
    support: full
    details: Before and after of the agent's managed Machine environment, service, registration and credential endpoint.
notes:
  - "WinRM commands per host (measured against the simulator, see RV(commands)): 1 when nothing needs changing or
    in check mode; 2 for a change (the probe, then one batch that applies the change, waits for registration for up
    to 20 seconds and probes again to verify); one more per 10 seconds of registration wait beyond that, and a probe
    plus a batch per retried initialisation."
  - Arguments are validated before anything is sent; a bad value fails with no WinRM command.
  - ECSTools is closed source (no public code of C(Initialize-ECSAgent) is known). The module treats C(Initialize-ECSAgent) as a black box and verifies its
    outcome with the final probe instead of trusting it.
  - It both sets Machine C(ECS_ENABLE_TASK_IAM_ROLE=true) and passes C(-EnableTaskIAMRole), because which of the two
    turns the feature on is not documented (uncertain in the sources).
  - Judging the credential proxy by C(GET http://169.254.170.2/v2/credentials/) answering HTTP 400 C(NoIdInRequest),
    and the agent by C(/v1/metadata) having a C(ContainerInstanceArn), follows the agent source; using them as health
    checks is an inference.
  - Deleting the portproxy rule, the C(169.254.170.2) binding and a legacy APIPA vNIC before re-initialising is the
    inverse of AWS's C(hostsetup.ps1); AWS documents "delete the proxy interface and initialize the agent again"
    without commands (inference). Only pieces identified as the proxy's are deleted - the rule listening on
    C(169.254.170.2:80), bindings of C(169.254.170.2), and an APIPA vNIC.
  - Changing the agent version of an initialised instance re-runs C(Initialize-ECSAgent -Version). AWS does not
    support in-place agent updates on Windows and recommends new instances; that re-initialising works is an
    inference, so the final probe checks the version.
  - Refused with the exact remedy, changing nothing - port 80 held by another listener such as IIS (an inference
    from the proxy's needs), 51678/51679 inside an excluded port range, duplicate "vEthernet (nat)" adapters,
    ECSTools missing without O(install_ecstools), the Hyper-V PowerShell module missing (the proxy set-up needs it,
    as AWS's C(hostsetup.ps1) does), a cluster change without O(force_reregister).
  - When a change of its own settings needs C(Initialize-ECSAgent), the module sets Machine
    C(ECSWINDOWS_TASK_IAM_INIT_PENDING) with them and removes it once C(Initialize-ECSAgent) succeeded. It is left
    behind when that fails (C(Initialize-ECSAgent) writes the new settings before the step that fails, so the agent
    keeps running with the old ones), and the next run then initialises the agent again.
  - When the agent is stopped its registration cannot be read; a different C(ECS_CLUSTER) in the Machine environment
    then counts as registered elsewhere.
  - The Docker daemon reads C(HTTP_PROXY) when it starts; the module restarts only the agent, not Docker (that would
    stop running containers).
seealso:
  - module: ecs_windows.task_iam.credential_proxy
  - module: ecs_windows.task_iam.instance_info
  - name: Windows task IAM roles (AWS documentation)
    description: Extra configuration AWS asks for on Windows container instances.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/windows_task_IAM_roles.html
  - name: Bootstrapping Windows container instances (AWS documentation)
    description: The Initialize-ECSAgent parameters of the ECS-optimized Windows AMI.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bootstrap_windows_container_instance.html
"""

EXAMPLES = r"""
- name: Register with cluster windows-prod, IAM roles for tasks on (ECS-optimized Windows AMI)
  ecs_windows.task_iam.agent:
    cluster: windows-prod
    logging_drivers: [json-file, awslogs]

- name: Pin the agent version and add agent settings from the AWS user data examples
  ecs_windows.task_iam.agent:
    cluster: windows-prod
    version: 1.105.1
    environment:
      ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE: true
      ECS_ENABLE_SPOT_INSTANCE_DRAINING: true

- name: awsvpc tasks without instance metadata access
  ecs_windows.task_iam.agent:
    cluster: windows-prod
    enable_task_eni: true
    awsvpc_block_imds: true
    awsvpc_additional_local_routes: [172.31.42.23/32]

- name: Agent behind an HTTP proxy
  ecs_windows.task_iam.agent:
    cluster: windows-prod
    http_proxy: http://proxy.corp.example.com:3128
    no_proxy: [10.0.0.0/8, .corp.example.com]

- name: Plain Windows Server 2022 (Containers and Hyper-V PowerShell installed) - fetch ECSTools first
  ecs_windows.task_iam.agent:
    cluster: windows-prod
    install_ecstools: true
    ecstools_region: us-east-1

- name: Move a drained instance to another cluster
  ecs_windows.task_iam.agent:
    cluster: windows-staging
    force_reregister: true

- name: Stop and disable the agent
  ecs_windows.task_iam.agent:
    state: absent
"""

RETURN = r"""
changes:
  description: What was changed (or, in check mode, would be) and why, one line per change.
  returned: success, and when applying the planned changes failed
  type: list
  elements: str
  sample:
    - "Machine environment ECS_CLUSTER: unset -> 'windows-prod'"
    - "initialise the agent (Initialize-ECSAgent -Cluster windows-prod -EnableTaskIAMRole): the AmazonECS service does not exist yet"
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
cluster:
  description: Cluster the agent is registered with, from C(/v1/metadata), after the task.
  returned: success
  type: str
  sample: windows-prod
container_instance_arn:
  description: ARN of the container instance after the task (null when not registered).
  returned: success
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:container-instance/windows-prod/0123456789abcdef0123456789abcdef
agent_version:
  description: Installed agent version after the task.
  returned: success
  type: str
  sample: 1.105.1
init:
  description:
    - How the C(Initialize-ECSAgent) runs went - the last run's duration and the last lines it printed (URL
      credentials masked), the number of attempts and the error of each attempt that was retried (O(init_attempts)).
  returned: when the agent was initialised
  type: dict
  sample: {"duration_s": 41.3, "output": ["[INFO]:Agent initialized"], "attempts": 2,
           "retried_errors": ["Initialize-ECSAgent failed: VMNetwork adapter 'vEthernet (nat)*' not found"]}
ecstools_install:
  description:
    - What O(install_ecstools) installed - C(installed) (the files), C(path), C(version), and C(checks), each check each
      file passed (sha256 pin, Authenticode signature, data-only manifest).
  returned: when ECSTools was installed
  type: dict
  sample: {"installed": ["ECSTools.psm1", "ECSTools.psd1"], "path": "C:\\Program Files\\WindowsPowerShell\\Modules\\ECSTools",
           "version": "1.4.0", "checks": ["ECSTools.psm1: Authenticode signature by Amazon valid"]}
facts:
  description:
    - The host's facts from the last probe, as M(ecs_windows.task_iam.instance_info) returns them (secret
      environment values masked).
  returned: success, and when the task refused to act or the host did not converge
  type: dict
findings:
  description: Coded problems of the host after the task, as M(ecs_windows.task_iam.instance_info) reports them.
  returned: always when the host was probed
  type: list
  elements: dict
  sample: [{"code": "port80_in_use", "message": "port 80 is held by ...", "fix": "stop IIS: ..."}]
healthy:
  description: Whether RV(findings) is empty.
  returned: always when the host was probed
  type: bool
"""
