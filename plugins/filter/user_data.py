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
    doubled); JSON-valued switches are built with JSON and then quoted; nothing from the input is spliced
    unquoted. Inputs are validated first and errors name the argument.
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
      - CIDRs routed through the task ENI's local interface (C(-AwsvpcAdditionalLocalRoutes), a JSON list).
        Needs O(enable_task_eni=true).
    type: list
    elements: str
  awslogs_executionrole_override:
    description: Sets C(ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE=true) (Machine scope) so awslogs uses the task execution role.
    type: bool
    default: false
  http_proxy:
    description:
      - C(http://) or C(https://) URL of an HTTP proxy. Sets C(HTTP_PROXY) (Machine scope), sets C(NO_PROXY) to
        C(169.254.169.254,169.254.170.2,\\.\pipe\docker_engine) plus O(no_proxy), and restarts Docker so it reads them.
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
      - 'Extra Machine-scope variables for the agent, for example V({"ECS_ENABLE_SPOT_INSTANCE_DRAINING": true}).
        Booleans become C(true)/C(false). Variables this filter manages through its own options are refused.'
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
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._ecs_names import cluster_name_error
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._pwsh_quote import quote_pwsh

# Log drivers the ECS agent knows (ECS_AVAILABLE_LOGGING_DRIVERS).
LOGGING_DRIVERS = frozenset(
    (
        "awsfirelens",
        "awslogs",
        "fluentd",
        "gelf",
        "journald",
        "json-file",
        "logentries",
        "none",
        "splunk",
        "sumologic",
        "syslog",
    )
)
# What the agent needs to bypass the proxy: IMDS, the credential endpoint, the Docker pipe.
NO_PROXY_REQUIRED = ("169.254.169.254", "169.254.170.2", "\\\\.\\pipe\\docker_engine")
# Variables set by Initialize-ECSAgent or by this filter's own options; agent_env may not set them.
_MANAGED_ENV = {
    "ECS_CLUSTER": "the filter input",
    "ECS_ENABLE_TASK_IAM_ROLE": "the filter (always on)",
    "ECS_ENABLE_TASK_ENI": "enable_task_eni",
    "ECS_AVAILABLE_LOGGING_DRIVERS": "logging_drivers",
    "ECS_AWSVPC_BLOCK_IMDS": "awsvpc_block_imds",
    "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES": "awsvpc_additional_local_routes",
    "ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE": "awslogs_executionrole_override",
    "HTTP_PROXY": "http_proxy",
    "HTTPS_PROXY": "https_proxy",
    "NO_PROXY": "http_proxy and no_proxy",
}
USER_DATA_LIMIT = 16384  # EC2 user data, in bytes before base64 encoding
_VERSION_RE = re.compile(r"latest|v?[0-9]+\.[0-9]+\.[0-9]+")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
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
        _fail("%s must be a boolean, got %r" % (name, value))
    return value


def _list_of_str(name: str, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        _fail("%s must be a list of strings, got %s %r" % (name, type(value).__name__, value))
    for item in value:
        if not isinstance(item, str):
            _fail("%s must be a list of strings, found %s %r" % (name, type(item).__name__, item))
    return list(value)


def _safe_text(name: str, value: Any) -> str:
    """Free-form text: printable ASCII without the < and > of EC2Launch's tags (see DOCUMENTATION)."""
    if not isinstance(value, str):
        _fail("%s must be a string, got %s %r" % (name, type(value).__name__, value))
    if not _SAFE_VALUE_RE.fullmatch(value) or "<" in value or ">" in value:
        bad = sorted({c for c in value if not ("\x20" <= c <= "\x7e") or c in "<>"})
        _fail(
            "%s contains %s: user data values must be printable ASCII without '<' or '>' "
            "(EC2Launch reads the script between <powershell> tags, and Windows PowerShell 5.1 may decode it "
            "in the ANSI code page)" % (name, ", ".join(repr(c) for c in bad))
        )
    return value


def _proxy_url(name: str, value: Any) -> str:
    # Messages do not quote the URL (or urlsplit's error, which quotes part of it): it may hold a password.
    _safe_text(name, value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        _fail(
            "%s is not a valid URL: its port is not a number from 0 to 65535, or its IPv6 address is malformed "
            "(percent-encode '/', '?' and '#' in a user name or password)" % name
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _fail("%s must be an http:// or https:// URL with a host, e.g. http://proxy.example.com:3128" % name)
    return value


def _cidr(name: str, value: Any) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        _fail("%s: %r is not a CIDR block such as 10.0.0.0/16 (%s)" % (name, value, exc))


def _set_machine_env(name: str, value: str) -> str:
    return "[Environment]::SetEnvironmentVariable(%s, %s, 'Machine')" % (quote_pwsh(name), quote_pwsh(value))


def _env_value(name: str, value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _safe_text(name, value)


def _initialize_command(
    cluster: str,
    agent_version: str | None,
    logging_drivers: list[str] | None,
    enable_task_eni: bool,
    awsvpc_block_imds: bool,
    awsvpc_routes: list[str] | None,
) -> str:
    words = ["Initialize-ECSAgent", "-Cluster", quote_pwsh(cluster), "-EnableTaskIAMRole"]
    if agent_version is not None:
        words += ["-Version", quote_pwsh(agent_version)]
    if logging_drivers is not None:
        words += ["-LoggingDrivers", quote_pwsh(json.dumps(logging_drivers, separators=(",", ":")))]
    if enable_task_eni:
        words.append("-EnableTaskENI")
    if awsvpc_block_imds:
        words.append("-AwsvpcBlockIMDS")
    if awsvpc_routes is not None:
        words += ["-AwsvpcAdditionalLocalRoutes", quote_pwsh(json.dumps(awsvpc_routes, separators=(",", ":")))]
    return " ".join(words)


def user_data(
    cluster: str,
    agent_version: str | None = None,
    logging_drivers: list[str] | None = None,
    enable_task_eni: bool = False,
    awsvpc_block_imds: bool = False,
    awsvpc_additional_local_routes: list[str] | None = None,
    awslogs_executionrole_override: bool = False,
    http_proxy: str | None = None,
    https_proxy: str | None = None,
    no_proxy: list[str] | None = None,
    agent_env: dict[str, str | int | bool] | None = None,
    winrm_https: bool = False,
    initialize_attempts: int = 3,
    persist: bool = False,
    b64: bool = False,
) -> str:
    """Render EC2 user data for a Windows ECS container instance (see DOCUMENTATION)."""
    error = cluster_name_error(cluster, "cluster (the filter input)")
    if error:
        _fail(error)
    if agent_version is not None and not (isinstance(agent_version, str) and _VERSION_RE.fullmatch(agent_version)):
        _fail("agent_version %r must be 'latest' or a version such as 1.105.1 or v1.105.1" % (agent_version,))
    if logging_drivers is not None:
        logging_drivers = _list_of_str("logging_drivers", logging_drivers)
        if not logging_drivers:
            _fail("logging_drivers is empty: name at least one driver, or omit it to keep the agent's default")
        unknown = [d for d in logging_drivers if d not in LOGGING_DRIVERS]
        if unknown:
            _fail(
                "logging_drivers: unknown driver(s) %s; known: %s"
                % (", ".join(map(repr, unknown)), ", ".join(sorted(LOGGING_DRIVERS)))
            )
        logging_drivers = list(dict.fromkeys(logging_drivers))
    for name, value in (
        ("enable_task_eni", enable_task_eni),
        ("awsvpc_block_imds", awsvpc_block_imds),
        ("awslogs_executionrole_override", awslogs_executionrole_override),
        ("winrm_https", winrm_https),
        ("persist", persist),
        ("b64", b64),
    ):
        _bool(name, value)
    routes = None
    if awsvpc_additional_local_routes is not None:
        routes = [
            _cidr("awsvpc_additional_local_routes", r)
            for r in _list_of_str("awsvpc_additional_local_routes", awsvpc_additional_local_routes)
        ]
    for name, value in (
        ("awsvpc_block_imds", awsvpc_block_imds),
        ("awsvpc_additional_local_routes", routes is not None),
    ):
        if value and not enable_task_eni:
            _fail("%s applies to awsvpc tasks only: set enable_task_eni=true as well" % name)
    if (
        isinstance(initialize_attempts, bool)
        or not isinstance(initialize_attempts, int)
        or not 1 <= initialize_attempts <= 10
    ):
        _fail("initialize_attempts must be an integer from 1 to 10, got %r" % (initialize_attempts,))

    if http_proxy is None and (https_proxy is not None or no_proxy is not None):
        _fail(
            "%s needs http_proxy: set http_proxy as well" % ("https_proxy" if https_proxy is not None else "no_proxy")
        )
    settings = []
    if http_proxy is not None:
        settings.append(("HTTP_PROXY", _proxy_url("http_proxy", http_proxy)))
        if https_proxy is not None:
            settings.append(("HTTPS_PROXY", _proxy_url("https_proxy", https_proxy)))
        extra = [_safe_text("no_proxy", entry) for entry in _list_of_str("no_proxy", no_proxy or [])]
        for entry in extra:
            if not entry or "," in entry:
                _fail("no_proxy entry %r must be one non-empty host, domain or CIDR (no commas)" % entry)
        settings.append(
            ("NO_PROXY", ",".join(list(NO_PROXY_REQUIRED) + [e for e in extra if e not in NO_PROXY_REQUIRED]))
        )
    if awslogs_executionrole_override:
        settings.append(("ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE", "true"))
    if agent_env is not None:
        if not isinstance(agent_env, dict):
            _fail("agent_env must be a dictionary of variable names to values, got %s" % type(agent_env).__name__)
        for name, value in agent_env.items():
            if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
                _fail(
                    "agent_env: %r is not a variable name (letters, digits and underscores, not starting with a digit)"
                    % (name,)
                )
            if name.upper() in _MANAGED_ENV:
                _fail("agent_env: %s is set through %s, not agent_env" % (name, _MANAGED_ENV[name.upper()]))
            if value is None or not isinstance(value, (str, int, bool)):
                # Not quoted: it may be auth data such as ECS_ENGINE_AUTH_DATA given as a dictionary.
                _fail(
                    "agent_env: the value of %s must be a string, number or boolean, got %s"
                    % (name, type(value).__name__)
                )
            settings.append((name, _env_value("agent_env.%s" % name, value)))

    lines = [
        "# ECS container instance with IAM roles for tasks (ecs_windows.task_iam.user_data)",
        "$ErrorActionPreference = 'Stop'",
    ]
    lines += [_set_machine_env(name, value) for name, value in settings]
    if http_proxy is not None:
        lines.append("# Docker reads the proxy settings when it starts.")
        lines.append("Restart-Service -Name 'docker'")
    if winrm_https:
        lines.append(_WINRM_HTTPS)
    command = _initialize_command(cluster, agent_version, logging_drivers, enable_task_eni, awsvpc_block_imds, routes)
    lines.append(_INITIALIZE % (command, initialize_attempts))
    text = "<powershell>\n%s\n</powershell>\n" % "\n".join(lines)
    if persist:
        text += "<persist>true</persist>\n"
    if len(text) > USER_DATA_LIMIT:
        _fail(
            "the user data is %d bytes and EC2 takes at most %d (before base64): shorten agent_env or no_proxy"
            % (len(text), USER_DATA_LIMIT)
        )
    if b64:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    return text


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"user_data": user_data}
