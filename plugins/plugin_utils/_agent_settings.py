# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ECS agent's settings, once: each option with its Initialize-ECSAgent switch and the Machine variable it ends
up in, and the validation of every value a user gives for them. The agent and instance modules and the user_data
filter all use this, so what one accepts the others accept (docs/dev/host-facts.md "Agent settings").

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _ecs_names, _env, _host


@dataclasses.dataclass(frozen=True)
class Setting:
    option: str  # the agent module's option (and user_data's argument)
    switch: str  # the Initialize-ECSAgent parameter
    variable: str | None  # the Machine variable Initialize-ECSAgent writes (None: not kept in the environment)
    kind: str  # "string", "flag" or "list"
    init: str  # the key in init_agent's settings ($defs.settings of contract.json)


SETTINGS = (
    Setting("cluster", "Cluster", _host.ENV_CLUSTER, "string", "cluster"),
    Setting("task_iam_role", "EnableTaskIAMRole", "ECS_ENABLE_TASK_IAM_ROLE", "flag", "enable_task_iam_role"),
    Setting("version", "Version", None, "string", "version"),
    Setting("logging_drivers", "LoggingDrivers", "ECS_AVAILABLE_LOGGING_DRIVERS", "list", "logging_drivers"),
    Setting("enable_task_eni", "EnableTaskENI", "ECS_ENABLE_TASK_ENI", "flag", "enable_task_eni"),
    Setting("awsvpc_block_imds", "AwsvpcBlockIMDS", "ECS_AWSVPC_BLOCK_IMDS", "flag", "awsvpc_block_imds"),
    Setting(
        "awsvpc_additional_local_routes",
        "AwsvpcAdditionalLocalRoutes",
        "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES",
        "list",
        "awsvpc_additional_local_routes",
    ),
)
BY_OPTION = {setting.option: setting for setting in SETTINGS}
INIT_VARIABLES = frozenset(s.variable for s in SETTINGS if s.variable)
FLAG_VARIABLES = frozenset(s.variable for s in SETTINGS if s.kind == "flag")
LIST_VARIABLES = frozenset(s.variable for s in SETTINGS if s.kind == "list")
# Written by Initialize-ECSAgent itself.
INITIALIZE_OWNED = frozenset(("ECS_DATADIR", "ECS_LOGFILE"))
# Variables extra agent settings (the agent module's `environment`, user_data's `agent_env`) may not set: the options
# above own them, or Initialize-ECSAgent does, or the proxy options do.
OWNED = INIT_VARIABLES | INITIALIZE_OWNED | frozenset(_host.PROXY_ENV) | frozenset([_host.ENV_INIT_PENDING])

# Log drivers the agent knows (ECS_AVAILABLE_LOGGING_DRIVERS; agent/config, dockerclient.LoggingDriver).
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
_VERSION = re.compile(r"latest|v?[0-9]+\.[0-9]+\.[0-9]+")
_AGENT_VARIABLE = re.compile(r"ECS_[A-Z0-9_]+")
# The longest name set_machine_env takes (contract.json), checked here so that a longer one is refused before anything
# is sent.
NAME_MAX = _contract.op_spec("set_machine_env")["args"]["properties"]["set"]["propertyNames"]["maxLength"]


# --- validation: each raises ValueError naming the argument -------------------------------------------------------


def check_cluster(value: Any, argument: str = "cluster") -> str:
    return _ecs_names.validate_cluster_name(value, argument)


def check_version(value: Any, argument: str = "version") -> str | None:
    if value is not None and not (isinstance(value, str) and _VERSION.fullmatch(value)):
        raise ValueError("%s %r is not 'latest' or an agent version like 1.105.1 or v1.105.1" % (argument, value))
    return value


def _strings(value: Any, argument: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValueError("%s must be a list of strings, got %r" % (argument, value))
    return list(value)


def check_logging_drivers(value: Any, argument: str = "logging_drivers") -> list[str] | None:
    if value is None:
        return None
    drivers = _strings(value, argument)
    if not drivers:
        raise ValueError("%s is empty: name at least one driver, or omit it to keep the agent's default" % argument)
    unknown = [d for d in drivers if d not in LOGGING_DRIVERS]
    if unknown:
        raise ValueError(
            "%s: unknown driver(s) %s; the agent knows %s"
            % (argument, ", ".join(map(repr, unknown)), ", ".join(sorted(LOGGING_DRIVERS)))
        )
    return list(dict.fromkeys(drivers))


def check_routes(value: Any, argument: str = "awsvpc_additional_local_routes") -> list[str] | None:
    if value is None:
        return None
    routes = []
    for cidr in _strings(value, argument):
        try:
            if "/" not in cidr:
                raise ValueError("no prefix length")
            routes.append(str(ipaddress.IPv4Network(cidr, strict=False)))
        except ValueError:
            raise ValueError("%s: %r is not an IPv4 CIDR like 172.31.42.23/32" % (argument, cidr)) from None
    return routes


def check_proxy_url(value: Any, argument: str = "http_proxy") -> str:
    """An http(s) URL with a host, a numeric port if any, and no path (otherwise part of a password could be read as
    host, port or path, and would not be masked). The message never quotes the URL: it may hold a password."""
    problem = "" if isinstance(value, str) else "it is not a string"
    if not problem:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError when the port is not a number
        except ValueError:
            problem = "its port is not a number from 0 to 65535, or its IPv6 address is malformed"
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "it is not an http:// or https:// URL with a host"
            elif parts.path not in ("", "/") or parts.query or parts.fragment:
                problem = "it has a path, query or fragment"
            elif any(c.isspace() or not c.isprintable() for c in value):
                problem = "it contains white space or control characters"
    if problem:
        raise ValueError(
            "%s must be a URL like http://proxy.example.com:3128 or http://user:password@proxy.example.com:3128, "
            "without a path (percent-encode '/', '?', '#' and '@' in a user name or password): %s" % (argument, problem)
        )
    return value


def check_no_proxy(value: Any, argument: str = "no_proxy") -> list[str]:
    entries = _strings(value, argument)
    for entry in entries:
        if not entry or "," in entry or any(c.isspace() or not c.isprintable() for c in entry):
            raise ValueError("%s: %r is not a single host, domain, address or CIDR" % (argument, entry))
    return entries


def check_value(name: str, value: Any, argument: str) -> str | None:
    """A Machine variable's value: a string, number or boolean (booleans as true/false), or None to remove it; at
    most 32,767 characters (Windows' limit), no NUL. Values are not quoted in errors: they may be secrets."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(
            "%s: the value of %s must be a string, number, boolean or null (null removes it), got %s"
            % (argument, name, type(value).__name__)
        )
    if not value:
        raise ValueError("%s: the value of %s is empty; use null to remove the variable" % (argument, name))
    if len(value) > _host.ENV_VALUE_MAX or "\x00" in value:
        raise ValueError(
            "%s: the value of %s must be at most %d characters without NUL (Windows' limit for one "
            "variable)" % (argument, name, _host.ENV_VALUE_MAX)
        )
    return value


def check_environment(environment: Any, argument: str = "environment") -> dict[str, str | None]:
    """Extra agent settings: ECS_* variables the other options do not own, with their normalised values."""
    if environment is None:
        return {}
    if not isinstance(environment, Mapping):
        raise ValueError(
            "%s must be a dictionary of ECS_* variable names to values, got %s" % (argument, type(environment).__name__)
        )
    out = {}
    for name, value in environment.items():
        if not isinstance(name, str) or not _AGENT_VARIABLE.fullmatch(name):
            raise ValueError(
                "%s: %r is not an ECS agent setting name (ECS_ followed by A-Z, 0-9, _); other Machine "
                "variables are not the agent's to set" % (argument, name)
            )
        if len(name) > NAME_MAX:
            raise ValueError(
                "%s: %s... is %d characters long, more than %d" % (argument, name[:40], len(name), NAME_MAX)
            )
        if name in OWNED:
            owner = "Initialize-ECSAgent" if name in INITIALIZE_OWNED else "its own option"
            raise ValueError("%s: %s is set by %s, not through %s" % (argument, name, owner, argument))
        out[name] = check_value(name, value, argument)
    return out


def check_awsvpc(args: Mapping) -> None:
    """The awsvpc options only mean something with task networking on."""
    for option in ("awsvpc_block_imds", "awsvpc_additional_local_routes"):
        if args.get(option) and not args.get("enable_task_eni"):
            raise ValueError("%s applies to awsvpc tasks only: set enable_task_eni=true as well" % option)


# --- what the settings amount to ------------------------------------------------------------------------------------


def init_settings(args: Mapping) -> dict:
    """init_agent's `settings` ($defs.settings) from validated options."""
    return {s.init: args.get(s.option) for s in SETTINGS}


def settings_from_env(env: Mapping[str, str]) -> dict | None:
    """The settings that re-create a host's configuration from its Machine environment (what the boot script reads
    there at boot, Get-EcsAgentSettings), or None when ECS_CLUSTER is not set."""
    cluster = _env.lookup(env, _host.ENV_CLUSTER)
    if not cluster:
        return None
    out: dict[str, Any] = {}
    for setting in SETTINGS:
        value = _env.lookup(env, setting.variable) if setting.variable else None
        if setting.kind == "flag":
            out[setting.init] = _env.env_true(value)
        elif setting.kind == "list":
            out[setting.init] = _env.env_list(value)
        else:
            out[setting.init] = value
    return out


def json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def initialize_command(settings: Mapping, quote: Callable[[str], str] | None = None) -> str:
    """The Initialize-ECSAgent command line the settings amount to; `quote` renders values (user_data passes the
    PowerShell quoter; messages show them bare)."""
    quote = quote or (lambda text: text)
    words = ["Initialize-ECSAgent"]
    for setting in SETTINGS:
        value = settings.get(setting.init)
        if setting.kind == "flag":
            if value:
                words.append("-" + setting.switch)
        elif value is not None:
            words += ["-" + setting.switch, quote(json_list(value) if setting.kind == "list" else value)]
    return " ".join(words)


def desired_env(args: Mapping) -> dict[str, str | None]:
    """The Machine environment the agent options ask for: name -> value, or None when it must be absent. Names not
    listed are left alone. `no_proxy` omitted keeps the host's entries (planner), so NO_PROXY is not listed here."""
    env = {}
    for setting in SETTINGS:
        if setting.variable is None:
            continue
        value = args.get(setting.option)
        if setting.kind == "flag":
            env[setting.variable] = "true" if value else None
        elif setting.kind == "list":
            if value is not None:
                env[setting.variable] = json_list(value)
        else:
            env[setting.variable] = value
    env.update(args.get("environment") or {})
    return env


def env_matches(name: str, have: str | None, want: str | None) -> bool:
    """Compare as the agent reads the value: booleans by truth, JSON lists by content."""
    if name in FLAG_VARIABLES:
        return _env.env_true(have) == (want is not None and _env.env_true(want))
    if want is None or have is None:
        return want is None and have is None
    if name in LIST_VARIABLES:
        return _env.env_list(have) is not None and _env.env_list(have) == _env.env_list(want)
    return have == want


def no_proxy_entries(current: str | None, extra: Iterable[str] | None) -> list[str]:
    """NO_PROXY with the entries the agent needs (IMDS, the credential proxy, Docker's pipe) first; then `extra` when
    given (replacing the host's own), else the host's own entries kept."""
    required = list(_host.NO_PROXY_REQUIRED)
    others = [e.strip() for e in (current or "").split(",") if e.strip()] if extra is None else list(extra)
    return required + [e for e in dict.fromkeys(others) if e not in required]
