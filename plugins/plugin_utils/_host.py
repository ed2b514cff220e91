# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's vocabulary of a Windows ECS container instance: addresses, ports, services, Machine variables,
paths and task names. Findings, planners and the scripts sent to the host all use these names; the PowerShell
receives the ones it needs as `$Ecs...` variables (POWERSHELL, written into each script by _script).

Where each fact comes from: docs/dev/host-facts.md.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

# --- the credential proxy and the agent's endpoints (host-facts.md "Endpoints") --------------------------------
PROXY_IP = "169.254.170.2"
PROXY_PORT = 80
IMDS_IP = "169.254.169.254"
TMDS_ADDRESS = "127.0.0.1"
TMDS_PORT = 51679
INTROSPECTION_PORT = 51678
AGENT_PORTS = (INTROSPECTION_PORT, TMDS_PORT)
PROXY_URL = "http://%s/v2/credentials/" % PROXY_IP
TMDS_URL = "http://%s:%d/v1/credentials" % (TMDS_ADDRESS, TMDS_PORT)
METADATA_URL = "http://127.0.0.1:%d/v1/metadata" % INTROSPECTION_PORT
TASKS_URL = "http://127.0.0.1:%d/v1/tasks" % INTROSPECTION_PORT
IMDS_TOKEN_URL = "http://%s/latest/api/token" % IMDS_IP
IMDS_INSTANCE_ID_URL = "http://%s/latest/meta-data/instance-id" % IMDS_IP
FIREWALL_DISPLAY_NAME = "Allow Inbound Port %d" % TMDS_PORT
NAT_ADAPTER = "vEthernet (nat)"
NAT_ADAPTER_PATTERN = NAT_ADAPTER + "*"
CREDENTIALS_ROUTE = PROXY_IP + "/32"
IMDS_ROUTE = IMDS_IP + "/32"
TASK_FAMILY_LABEL = "com.amazonaws.ecs.task-definition-family"
TASK_ARN_LABEL = "com.amazonaws.ecs.task-arn"
INIT_ADAPTER_ERROR = "VMNetwork adapter 'vEthernet (nat)*' not found"
TASK_IAM_CAPABILITY = "com.amazonaws.ecs.capability.task-iam-role"

# --- services -----------------------------------------------------------------------------------------------------
AGENT_SERVICE = "AmazonECS"
DOCKER_SERVICE = "docker"
IIS_SERVICE = "W3SVC"
SERVICES = (AGENT_SERVICE, DOCKER_SERVICE, IIS_SERVICE)

# --- Machine environment (host-facts.md "Agent settings") ----------------------------------------------------------
ENV_CLUSTER = "ECS_CLUSTER"
ENV_HTTP_PROXY = "HTTP_PROXY"
ENV_HTTPS_PROXY = "HTTPS_PROXY"
ENV_NO_PROXY = "NO_PROXY"
PROXY_ENV = (ENV_HTTP_PROXY, ENV_HTTPS_PROXY, ENV_NO_PROXY)
# Written with the agent's settings before Initialize-ECSAgent and removed once it succeeded: Initialize-ECSAgent
# writes the Machine environment before the step that fails now and then, so after a failed run the new settings
# would be in place while the agent still runs with the old ones, and the next run would find nothing to do.
ENV_INIT_PENDING = "ECSWINDOWS_TASK_IAM_INIT_PENDING"
DOCKER_PIPE = "\\\\.\\pipe\\docker_engine"
NO_PROXY_REQUIRED = (IMDS_IP, PROXY_IP, DOCKER_PIPE)
# Windows caps one environment variable at 32,767 characters.
ENV_VALUE_MAX = 32767

# --- files and tasks ----------------------------------------------------------------------------------------------
AGENT_EXE = "C:\\Program Files\\Amazon\\ECS\\amazon-ecs-agent.exe"
AGENT_DATA_DIR = "C:\\ProgramData\\Amazon\\ECS\\data"
AGENT_AUDIT_LOG = "C:\\ProgramData\\Amazon\\ECS\\log\\audit.log"
ECSTOOLS_DIR = "C:\\Program Files\\WindowsPowerShell\\Modules\\ECSTools"
ECSTOOLS_FILES = ("ECSTools.psm1", "ECSTools.psd1")
# Everything the collection leaves on the host that runs as SYSTEM lives in one folder only SYSTEM and
# Administrators may change (docs/dev/host-facts.md "The boot folder").
BOOT_DIR = "C:\\ProgramData\\Amazon\\ECS\\ecs_windows.task_iam"
BOOT_SCRIPT_PATH = BOOT_DIR + "\\recover-credential-proxy.ps1"
BOOT_LOG_PATH = BOOT_DIR + "\\recover.log"
# recover_proxy run from Ansible logs elsewhere, so the boot log (instance_info's boot_recovery) stays about boots.
RUN_LOG_PATH = BOOT_DIR + "\\credential_proxy.log"
LOCK_INFO_PATH = BOOT_DIR + "\\lock.json"
# The op library a host keeps so that a command can carry only its batch (docs/dev/op-contract.md "The library").
CACHE_DIR = BOOT_DIR + "\\cache"
BOOT_TASK_PATH = "\\ecs_windows.task_iam\\"
BOOT_TASK_NAME = "Recover-ECSCredentialProxy"
BOOT_TASK_EXECUTE = "PowerShell.exe"
BOOT_TASK_ARGUMENTS = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % BOOT_SCRIPT_PATH
BOOT_TASK_DESCRIPTION = (
    "ecs_windows.task_iam: after a reboot, delete the stale ECS credential proxy (169.254.170.2:80) and "
    "re-initialise the ECS agent with the settings it has then."
)
ECSTOOLS_REBOOT_TASK_PATH = "\\"
ECSTOOLS_REBOOT_TASK_NAME = "Initialize-ECSHostReboot"
# The one system-wide mutex every mutating batch and the boot-time repair hold (host-facts.md "The host lock").
MUTEX_NAME = "Global\\ecs_windows.task_iam"
# Two readings of LastBootUpTime within this many seconds are the same boot: WMI's LastBootUpTime (now minus the
# uptime) moves by fractions of a second on VMs, and by seconds after clock steps, without a reboot (host-facts.md
# "Boot time"); a reboot takes minutes.
SAME_BOOT_TOLERANCE_S = 60

# The values the PowerShell side reads as $Ecs<Name>; a script carries only the ones its code uses.
POWERSHELL = {
    "EcsCredentialsIp": PROXY_IP,
    "EcsTmdsPort": TMDS_PORT,
    "EcsProxyUrl": PROXY_URL,
    "EcsTmdsUrl": TMDS_URL,
    "EcsMetadataUrl": METADATA_URL,
    "EcsTasksUrl": TASKS_URL,
    "EcsImdsTokenUrl": IMDS_TOKEN_URL,
    "EcsImdsInstanceIdUrl": IMDS_INSTANCE_ID_URL,
    "EcsAgentExe": AGENT_EXE,
    "EcsAgentDataDir": AGENT_DATA_DIR,
    "EcsAuditLogPath": AGENT_AUDIT_LOG,
    "EcsToolsModuleDir": ECSTOOLS_DIR,
    "EcsBootDir": BOOT_DIR,
    "EcsBootScriptPath": BOOT_SCRIPT_PATH,
    "EcsBootLogPath": BOOT_LOG_PATH,
    "EcsLockInfoPath": LOCK_INFO_PATH,
    "EcsCacheDir": CACHE_DIR,
    "EcsMutexName": MUTEX_NAME,
    "EcsBootTaskPath": BOOT_TASK_PATH,
    "EcsBootTaskName": BOOT_TASK_NAME,
    "EcsToolsRebootTaskPath": ECSTOOLS_REBOOT_TASK_PATH,
    "EcsToolsRebootTaskName": ECSTOOLS_REBOOT_TASK_NAME,
    "EcsNatAdapterPattern": NAT_ADAPTER_PATTERN,
    "EcsInitAdapterError": INIT_ADAPTER_ERROR,
    "EcsFirewallDisplayName": FIREWALL_DISPLAY_NAME,
    "EcsSameBootToleranceSeconds": SAME_BOOT_TOLERANCE_S,
}
