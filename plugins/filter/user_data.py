# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: user_data
short_description: EC2 user data that joins a Windows instance to an ECS cluster with task IAM roles
version_added: 0.1.0
author: ecs_windows.task_iam contributors
description:
  - Renders the C(<powershell>) user data for a Windows ECS-optimized AMI (launch template or
    C(ec2_instance)) that runs C(Import-Module ECSTools) and C(Initialize-ECSAgent -Cluster <cluster> -EnableTaskIAMRole)
    with the optional flags, after setting Machine-scope agent settings (proxy with C(NO_PROXY), awslogs
    execution-role override, extra agent variables) and, optionally, a WinRM HTTPS listener.
  - Every value is written as a PowerShell single-quoted string (the five single-quote characters
    doubled; a value holding a Jinja delimiter such as C({{) as a concatenation of such strings, so the script
    survives Ansible templating); JSON-valued switches are built with JSON and then quoted; nothing from the input
    is spliced unquoted. Inputs are validated first and errors name the argument.
  - The agent's settings are validated by the same rules as the options of M(ecs_windows.task_iam.agent) (one
    definition of them in the collection), so what one accepts the other accepts.
  - Free-form values (proxy URLs, C(no_proxy) entries, C(agent_env) values) must be printable ASCII without
    C(<) or C(>), because EC2Launch finds the script by its C(<powershell>) tags and Windows PowerShell 5.1
    may read the script in the ANSI code page, where UTF-8 bytes can turn into quote characters.
  - C(Initialize-ECSAgent) is retried (O(initialize_attempts)) because it fails now and then when the
    C(vEthernet nat) adapter is not found yet.
  - The output is accepted by EC2 as-is; it is ASCII, and more than the 16 KB EC2 takes is refused. C(amazon.aws.ec2_launch_template) wants it base64-encoded
    (O(b64=true) or C(| b64encode)); C(amazon.aws.ec2_instance) takes the plain text.
options:
  _input:
    description: The ECS cluster name (1 to 255 letters, digits, hyphens and underscores).
    type: str
    required: true
  agent_version:
    description:
      - Pins the agent version (C(-Version)), V(latest), or C(1.2.3) / C(v1.2.3). Omit to use the AMI's agent.
    type: str
  logging_drivers:
    description:
      - Log drivers the agent offers (C(-LoggingDrivers), a JSON list), for example V([json-file, awslogs]).
      - 'One of: awsfirelens, awslogs, fluentd, gelf, journald, json-file, logentries, none, splunk, sumologic, syslog.'
    type: list
    elements: str
  enable_task_eni:
    description: Turns on task networking (C(-EnableTaskENI)), required for the C(awsvpc) network mode.
    type: bool
    default: false
  awsvpc_block_imds:
    description: Blocks IMDS for C(awsvpc) task containers (C(-AwsvpcBlockIMDS)). Needs O(enable_task_eni=true).
    type: bool
    default: false
  awsvpc_additional_local_routes:
    description:
      - IPv4 CIDRs routed through the task ENI's local interface (C(-AwsvpcAdditionalLocalRoutes), a JSON list),
        for example V(172.31.42.23/32); host bits are cleared (V(10.0.0.1/8) becomes V(10.0.0.0/8)).
        Needs O(enable_task_eni=true).
    type: list
    elements: str
  awslogs_executionrole_override:
    description: Sets C(ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE=true) (Machine scope) so awslogs uses the task execution role.
    type: bool
    default: false
  http_proxy:
    description:
      - C(http://) or C(https://) URL of an HTTP proxy, without a path (percent-encode C(/), C(?), C(#) and C(@) in a
        user name or password). Sets C(HTTP_PROXY) (Machine scope), sets C(NO_PROXY) to
        C(169.254.169.254,169.254.170.2,\\.\pipe\docker_engine) plus O(no_proxy), and restarts Docker
        (C(Restart-Service -Force), which restarts AmazonECS too when it runs) so it reads them.
    type: str
  https_proxy:
    description: URL for C(HTTPS_PROXY) (Machine scope); needs O(http_proxy).
    type: str
  no_proxy:
    description: Extra C(NO_PROXY) entries (hosts, domains, CIDRs) after the three the agent needs. Needs O(http_proxy).
    type: list
    elements: str
  agent_env:
    description:
      - 'Extra Machine-scope agent settings, C(ECS_*) name to value, for example
        V({"ECS_ENABLE_SPOT_INSTANCE_DRAINING": true}). Booleans become C(true)/C(false); V(null) removes the variable.'
      - The rules of the O(ecs_windows.task_iam.agent#module:environment) option of M(ecs_windows.task_iam.agent) - names
        other than C(ECS_*) (C(Path), C(ComSpec), the proxy variables...), names an option owns (C(ECS_CLUSTER),
        C(ECS_AVAILABLE_LOGGING_DRIVERS), ...) and the ones C(Initialize-ECSAgent) writes (C(ECS_DATADIR),
        C(ECS_LOGFILE)) are refused; values are at most 32,767 characters.
    type: dict
  winrm_https:
    description:
      - Adds a WinRM HTTPS listener on 5986 with a self-signed certificate for the host name, and an inbound
        firewall rule for TCP 5986, unless they exist, so Ansible can reach the instance (use
        C(ansible_winrm_server_cert_validation=ignore) or replace the certificate).
    type: bool
    default: false
  initialize_attempts:
    description: How many times to try C(Initialize-ECSAgent) (15 seconds apart) before the script fails.
    type: int
    default: 3
  persist:
    description:
      - Appends C(<persist>true</persist>) so EC2Launch runs the script at every boot, not only the first.
      - Running C(Initialize-ECSAgent) again after a reboot does not by itself repair a stale credential proxy
        (the old portproxy rule survives and keeps port 80); the C(container_instance) role's boot task
        (C(credential_proxy) with C(on_boot)) deletes the stale parts first.
    type: bool
    default: false
  b64:
    description: Returns the user data base64-encoded (UTF-8), as C(amazon.aws.ec2_launch_template) expects.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Launch template for Windows container instances with task IAM roles
  amazon.aws.ec2_launch_template:
    name: ecs-windows
    image_id: >-
      {{ (lookup('amazon.aws.ssm_parameter', '/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-ECS_Optimized')
          | from_json).image_id }}
    instance_type: m5.large
    iam_instance_profile: ecsInstanceRole
    user_data: "{{ 'windows' | ecs_windows.task_iam.user_data(agent_version='1.105.1', logging_drivers=['json-file', 'awslogs'], winrm_https=true, b64=true) }}"

- name: Same through a proxy, with awsvpc tasks
  ansible.builtin.set_fact:
    windows_user_data: >-
      {{ 'windows' | ecs_windows.task_iam.user_data(http_proxy='http://proxy.example.com:3128',
         no_proxy=['.internal.example.com'], enable_task_eni=true, awsvpc_block_imds=true) }}
"""

RETURN = r"""
_value:
  description: The user data, C(<powershell>...</powershell>) and optionally C(<persist>true</persist>), or its base64 form.
  type: str
"""

import base64
import re
from typing import Any, NoReturn

from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _agent_settings as settings
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._pwsh_quote import quote_pwsh

USER_DATA_LIMIT = 16384  # EC2 user data, in bytes before base64 encoding
# What this filter sets through its own option rather than agent_env.
_AWSLOGS_OVERRIDE = "ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE"
_SAFE_VALUE_RE = re.compile(r"[\x20-\x7e]*")

_WINRM_HTTPS = r"""# WinRM over HTTPS (TCP 5986) with a self-signed certificate, so Ansible can reach this instance.
Set-Service -Name 'WinRM' -StartupType Automatic
Start-Service -Name 'WinRM'
$httpsListener = Get-ChildItem -Path 'WSMan:\localhost\Listener' | Where-Object -FilterScript { $_.Keys -like 'Transport=HTTPS' }
if (-not $httpsListener) {
    $certificate = New-SelfSignedCertificate -DnsName ([System.Net.Dns]::GetHostName()) -CertStoreLocation 'Cert:\LocalMachine\My'
    $selector = @{ Address = '*'; Transport = 'HTTPS' }
    $value = @{ CertificateThumbprint = $certificate.Thumbprint }
    New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet $selector -ValueSet $value | Out-Null
}
if (-not (Get-NetFirewallRule -Name 'ecs-windows-winrm-https' -ErrorAction SilentlyContinue)) {
    $rule = @{
        Name = 'ecs-windows-winrm-https'; DisplayName = 'WinRM HTTPS (TCP 5986)'
        Direction = 'Inbound'; Protocol = 'TCP'; LocalPort = 5986; Action = 'Allow'; Profile = 'Any'
    }
    New-NetFirewallRule @rule | Out-Null
}"""

_INITIALIZE = """Import-Module -Name 'ECSTools'
# Initialize-ECSAgent fails now and then with "VMNetwork adapter 'vEthernet (nat)*' not found": retry.
$attempt = 1
while ($true) {
    try {
        %s
        break
    } catch {
        if ($attempt -ge %d) { throw }
        $attempt = $attempt + 1
        Start-Sleep -Seconds 15
    }
}"""


def _fail(message: str) -> NoReturn:
    raise AnsibleFilterError("ecs_windows.task_iam.user_data: " + message)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("%s must be a boolean, got %r" % (name, value))
    return value


def _safe_text(name: str, value: str) -> str:
    """Free-form text: printable ASCII without the < and > of EC2Launch's tags (see DOCUMENTATION). The message names
    the offending characters, never the value (it may be a password)."""
    if not _SAFE_VALUE_RE.fullmatch(value) or "<" in value or ">" in value:
        bad = sorted({c for c in value if not ("\x20" <= c <= "\x7e") or c in "<>"})
        raise ValueError(
            "%s contains %s: user data values must be printable ASCII without '<' or '>' "
            "(EC2Launch reads the script between <powershell> tags, and Windows PowerShell 5.1 may decode it "
            "in the ANSI code page)" % (name, ", ".join(repr(c) for c in bad))
        )
    return value


def _proxy_url(name: str, value: Any) -> str:
    if isinstance(value, str):
        _safe_text(name, value)
    return settings.check_proxy_url(value, name)


def _machine_env(
    http_proxy: Any, https_proxy: Any, no_proxy: Any, awslogs_executionrole_override: bool, agent_env: Any
) -> list[tuple[str, str | None]]:
    """The Machine variables the script sets (None: removes), validated as the agent module validates them."""
    if http_proxy is None and (https_proxy is not None or no_proxy is not None):
        raise ValueError(
            "%s needs http_proxy: set http_proxy as well" % ("https_proxy" if https_proxy is not None else "no_proxy")
        )
    out: list[tuple[str, str | None]] = []
    if http_proxy is not None:
        out.append(("HTTP_PROXY", _proxy_url("http_proxy", http_proxy)))
        if https_proxy is not None:
            out.append(("HTTPS_PROXY", _proxy_url("https_proxy", https_proxy)))
        extra = settings.check_no_proxy([] if no_proxy is None else no_proxy)
        for entry in extra:
            _safe_text("no_proxy", entry)
        out.append(("NO_PROXY", ",".join(settings.no_proxy_entries(None, extra))))
    extra_env = settings.check_environment(agent_env, "agent_env")
    if awslogs_executionrole_override:
        if _AWSLOGS_OVERRIDE in extra_env:
            raise ValueError(
                "agent_env: %s is also set by awslogs_executionrole_override: give one of them" % _AWSLOGS_OVERRIDE
            )
        out.append((_AWSLOGS_OVERRIDE, "true"))
    for name, value in extra_env.items():
        out.append((name, None if value is None else _safe_text("agent_env.%s" % name, value)))
    return out


def _set_machine_env(name: str, value: str | None) -> str:
    return "[Environment]::SetEnvironmentVariable(%s, %s, 'Machine')" % (
        quote_pwsh(name),
        "$null" if value is None else quote_pwsh(value),
    )


def _render(
    cluster: Any,
    agent_version: Any,
    logging_drivers: Any,
    enable_task_eni: Any,
    awsvpc_block_imds: Any,
    awsvpc_additional_local_routes: Any,
    awslogs_executionrole_override: Any,
    http_proxy: Any,
    https_proxy: Any,
    no_proxy: Any,
    agent_env: Any,
    winrm_https: Any,
    initialize_attempts: Any,
    persist: Any,
) -> str:
    """The user data text; raises ValueError naming the argument. The agent's settings are validated by
    plugin_utils/_agent_settings.py, as the agent module validates its options."""
    agent = {
        "cluster": settings.check_cluster(cluster, "cluster (the filter input)"),
        "task_iam_role": True,
        "version": settings.check_version(agent_version, "agent_version"),
        "logging_drivers": settings.check_logging_drivers(logging_drivers),
        "enable_task_eni": _bool("enable_task_eni", enable_task_eni),
        "awsvpc_block_imds": _bool("awsvpc_block_imds", awsvpc_block_imds),
        "awsvpc_additional_local_routes": settings.check_routes(awsvpc_additional_local_routes),
    }
    settings.check_awsvpc(agent)
    for name, value in (
        ("awslogs_executionrole_override", awslogs_executionrole_override),
        ("winrm_https", winrm_https),
        ("persist", persist),
    ):
        _bool(name, value)
    if (
        isinstance(initialize_attempts, bool)
        or not isinstance(initialize_attempts, int)
        or not 1 <= initialize_attempts <= 10
    ):
        raise ValueError("initialize_attempts must be an integer from 1 to 10, got %r" % (initialize_attempts,))
    env = _machine_env(http_proxy, https_proxy, no_proxy, awslogs_executionrole_override, agent_env)

    lines = [
        "# ECS container instance with IAM roles for tasks (ecs_windows.task_iam.user_data)",
        "$ErrorActionPreference = 'Stop'",
    ]
    lines += [_set_machine_env(name, value) for name, value in env]
    if http_proxy is not None:
        # -Force: AmazonECS depends on docker, and at a later boot (persist) it runs; without -Force Restart-Service
        # refuses to stop a service with running dependents, and the script would stop here.
        lines.append("# Docker reads the proxy settings when it starts.")
        lines.append("Restart-Service -Name 'docker' -Force")
    if winrm_https:
        lines.append(_WINRM_HTTPS)
    command = settings.initialize_command(settings.init_settings(agent), quote=quote_pwsh)
    lines.append(_INITIALIZE % (command, initialize_attempts))
    text = "<powershell>\n%s\n</powershell>\n" % "\n".join(lines)
    if persist:
        text += "<persist>true</persist>\n"
    if len(text) > USER_DATA_LIMIT:
        raise ValueError(
            "the user data is %d bytes and EC2 takes at most %d (before base64): shorten agent_env or no_proxy"
            % (len(text), USER_DATA_LIMIT)
        )
    return text


def user_data(
    cluster: Any,
    agent_version: Any = None,
    logging_drivers: Any = None,
    enable_task_eni: Any = False,
    awsvpc_block_imds: Any = False,
    awsvpc_additional_local_routes: Any = None,
    awslogs_executionrole_override: Any = False,
    http_proxy: Any = None,
    https_proxy: Any = None,
    no_proxy: Any = None,
    agent_env: Any = None,
    winrm_https: Any = False,
    initialize_attempts: Any = 3,
    persist: Any = False,
    b64: Any = False,
) -> str:
    """Render EC2 user data for a Windows ECS container instance (see DOCUMENTATION)."""
    try:
        _bool("b64", b64)
        text = _render(
            cluster,
            agent_version,
            logging_drivers,
            enable_task_eni,
            awsvpc_block_imds,
            awsvpc_additional_local_routes,
            awslogs_executionrole_override,
            http_proxy,
            https_proxy,
            no_proxy,
            agent_env,
            winrm_https,
            initialize_attempts,
            persist,
        )
    except ValueError as exc:
        _fail(str(exc))
    if b64:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    return text


class FilterModule(object):
    def filters(self) -> dict:
        return {"user_data": user_data}
