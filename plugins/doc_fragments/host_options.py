# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the host modules, one definition each: the agent's settings (agent, instance), the
    initialisation and registration waits (agent, credential_proxy, instance), the boot-time repair (credential_proxy,
    instance) and the container routes (container_routes, instance). The action plugins validate arguments against
    the merged documentation (plugin_utils/_args.py resolves these fragments)."""

    DOCUMENTATION = r"""
options: {}
"""

    AGENT = r"""
options:
  cluster:
    description:
      - Name of the ECS cluster to register with. Required with O(state=present).
      - 1 to 255 letters, digits, hyphens and underscores.
      - Changing it on an instance already registered with another cluster is refused unless O(force_reregister=true).
    type: str
  task_iam_role:
    description:
      - Enable IAM roles for tasks (C(-EnableTaskIAMRole) and Machine C(ECS_ENABLE_TASK_IAM_ROLE=true)), which sets
        up the credential proxy on C(169.254.170.2:80).
      - V(false) removes C(ECS_ENABLE_TASK_IAM_ROLE); the proxy pieces stay until
        M(ecs_windows.task_iam.credential_proxy) with O(ecs_windows.task_iam.credential_proxy#module:state=absent)
        removes them.
    type: bool
    default: true
  version:
    description:
      - Agent version for C(Initialize-ECSAgent -Version), V(latest) or a version such as V(1.105.1) or V(v1.105.1).
      - A pinned version that differs from the installed one re-initialises the agent with it. V(latest) is only
        passed when the agent is initialised for another reason (there is no way to compare it).
      - Default - keep the version installed on the AMI.
    type: str
  logging_drivers:
    description:
      - Docker logging drivers the agent offers (C(-LoggingDrivers), Machine C(ECS_AVAILABLE_LOGGING_DRIVERS)),
        for example V([json-file, awslogs]). One of awsfirelens, awslogs, fluentd, gelf, journald, json-file,
        logentries, none, splunk, sumologic, syslog (the drivers the agent knows; the user_data filter takes the
        same).
      - Default - not managed.
    type: list
    elements: str
  enable_task_eni:
    description:
      - Task networking for the C(awsvpc) network mode (C(-EnableTaskENI), Machine C(ECS_ENABLE_TASK_ENI)).
    type: bool
    default: false
  awsvpc_block_imds:
    description:
      - Block instance metadata (IMDS) access for C(awsvpc) tasks (C(-AwsvpcBlockIMDS), Machine C(ECS_AWSVPC_BLOCK_IMDS)).
    type: bool
    default: false
  awsvpc_additional_local_routes:
    description:
      - IPv4 CIDRs that C(awsvpc) tasks reach through the host (C(-AwsvpcAdditionalLocalRoutes),
        Machine C(ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES)), for example V(172.31.42.23/32).
      - Default - not managed.
    type: list
    elements: str
  environment:
    description:
      - Extra Machine-scope agent settings, C(ECS_*) name to value, for example
        C(ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE) or C(ECS_ENABLE_SPOT_INSTANCE_DRAINING). Booleans become
        V(true)/V(false); a V(null) value removes the variable. Names not listed are left alone. Values are at most
        32,767 characters (Windows' limit) and may not hold NUL.
      - Names that other options own (C(ECS_CLUSTER), C(ECS_ENABLE_TASK_IAM_ROLE), ...), that C(Initialize-ECSAgent)
        writes (C(ECS_DATADIR), C(ECS_LOGFILE)) and names other than C(ECS_*) are refused.
      - A change restarts the agent (it reads its environment when it starts).
      - Values of names containing C(AUTH), C(PASS), C(PWD), C(SECRET), C(TOKEN), C(CREDENTIAL) or C(KEY) are masked
        on the host and never shown; a change to them is still detected (by a salted hash).
    type: dict
    default: {}
  http_proxy:
    description:
      - URL of an HTTP proxy for the agent (Machine C(HTTP_PROXY)), without a path. When set, Machine C(NO_PROXY)
        always contains C(169.254.169.254), C(169.254.170.2) and C(\\.\pipe\docker_engine), followed by O(no_proxy),
        or, when O(no_proxy) is omitted, by the entries the host's C(NO_PROXY) already has.
      - An empty string removes C(HTTP_PROXY) and C(NO_PROXY). Default - not managed.
      - The user information of the URL (user name and password) is masked on the host and in all output.
      - Machine variables are matched whatever their case (C(http_proxy) written by user data is updated, not doubled).
    type: str
  no_proxy:
    description:
      - C(NO_PROXY) entries (hosts, domains, addresses, CIDRs) after the three the agent needs; they replace the host's
        own entries. Needs O(http_proxy). Omitted - the host's entries are kept.
    type: list
    elements: str
  install_ecstools:
    description:
      - When the ECSTools PowerShell module is missing (plain Windows Server), download C(ECSTools.psm1) and
        C(ECSTools.psd1) from C(https://s3.<region>.amazonaws.com/amazon-ecs-agent-<region>/) into
        C(C:\Program Files\WindowsPowerShell\Modules\ECSTools), through the host's configured C(HTTPS_PROXY) or
        C(HTTP_PROXY) unless its C(NO_PROXY) covers the bucket. Each file is checked before any is installed - by its
        O(ecstools_sha256) pin where given, by an Amazon Authenticode signature where O(ecstools_signature) asks for
        one, and a manifest (C(.psd1)) without either must be a data-only manifest whose C(RootModule) is
        C(ECSTools.psm1). The error names the file and the check that failed.
      - Without it, a host without ECSTools is refused with that remedy.
    type: bool
    default: false
  ecstools_region:
    description:
      - AWS region of the bucket to install ECSTools from, for example V(us-east-1). Required with O(install_ecstools=true).
    type: str
  ecstools_sha256:
    description:
      - Expected SHA-256 (hex) per file, keys V(ECSTools.psm1) and/or V(ECSTools.psd1). A download that does not
        match fails. An installed file whose hash differs is installed again.
    type: dict
  ecstools_signature:
    description:
      - The ECSTools files that must carry a valid Authenticode signature by Amazon. The module code (C(ECSTools.psm1))
        needs this or a O(ecstools_sha256) pin; nothing public shows AWS signing the manifest, so it is not required
        by default.
    type: list
    elements: str
    choices: [ECSTools.psm1, ECSTools.psd1]
    default: [ECSTools.psm1]
  force_reregister:
    description:
      - Allow moving an instance registered with another cluster to O(cluster) - deletes the agent's saved
        registration (C(C:\ProgramData\Amazon\ECS\data)) before re-initialising. The instance registers as a new
        container instance; tasks still running on it are stranded, so drain it first.
    type: bool
    default: false
"""

    INIT = r"""
options:
  registration_timeout:
    description:
      - Seconds to wait for the agent to register with its cluster after starting or initialising it, 0 to 3600.
        The controller waits in rounds of a few seconds, with a progress line each, so no WinRM command waits long.
    type: int
    default: 300
    aliases: [timeout]
  init_attempts:
    description:
      - How often C(Initialize-ECSAgent) is tried when it fails with the sporadic
        "VMNetwork adapter 'vEthernet (nat)*' not found", 1 to 10. Other failures are not retried.
    type: int
    default: 5
  init_retry_delay:
    description:
      - Seconds before the first retry of C(Initialize-ECSAgent), 0 to 300; doubled for each further retry (at most 300).
    type: int
    default: 10
  init_timeout:
    description:
      - Seconds one C(Initialize-ECSAgent) run may take, 30 to 3600. It runs in a child C(powershell.exe); past the limit
        that process and its children are stopped and the task fails with a C(timeout) error (ECSTools is known to
        hang now and then). The next run initialises the agent again.
    type: int
    default: 900
"""

    PROXY = r"""
options:
  on_boot:
    description:
      - Install (or update) the startup task C(\ecs_windows.task_iam\Recover-ECSCredentialProxy), run as SYSTEM at
        startup after O(boot_delay), which runs
        C(C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover-credential-proxy.ps1) - it waits until ECSTools' own
        startup task C(\Initialize-ECSHostReboot) has run at this boot (so the two never race), takes the host lock,
        probes the endpoint and, only if it is broken, deletes the proxy pieces and re-initialises the agent with the
        settings the host has at that moment (read from its Machine environment, so a setting changed later with
        M(ecs_windows.task_iam.agent) is never undone by a reboot), then probes again. It logs a started line and
        the outcome to C(C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover.log).
      - The folder is created (or taken over) with an explicit ACL - owner Administrators, SYSTEM and Administrators
        only, nothing inherited; a folder found in another state is emptied first.
      - The task's execution limit is derived from the waits it may do (init attempts and timeouts, registration).
      - V(false) removes the task and its script when present.
    type: bool
  boot_delay:
    description:
      - Seconds after startup before the startup task runs, 0 to 3600.
    type: int
    default: 30
"""

    ROUTES = r"""
options:
  task_families:
    description:
      - Select only containers whose C(com.amazonaws.ecs.task-definition-family) label is one of these. Empty means any.
    type: list
    elements: str
    default: []
  imds:
    description:
      - V(allow) also routes C(169.254.169.254/32) (instance metadata) via the gateway, as the AWS bootstrap script does.
      - V(block) removes an existing C(169.254.169.254/32) route and adds none, so tasks can use only their task role,
        not the instance role - the secure choice when tasks should not act as the instance (and the fix of the
        C(imds_fallback_risk) finding).
    type: str
    choices: [allow, block]
    default: allow
"""

    LOCK = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait, 0 to 3600, when another run holds the host lock (the one system-wide mutex every change of
        this collection and the boot-time repair hold, so that two never interleave). The controller waits in rounds
        of up to 30 seconds, each a probe that holds the lock, with a progress line each, then plans again on the host
        as the other run left it; once lock_timeout is spent the task fails naming what holds the lock.
    type: int
    default: 300
"""
