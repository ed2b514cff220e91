# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner of ecs_windows.task_iam.agent: probe facts + validated args -> plan.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _args, _ecs_names, _findings
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_proxy as proxy

from urllib.parse import urlsplit

SERVICE = "AmazonECS"
ENV_HTTP_PROXY = "HTTP_PROXY"
ENV_NO_PROXY = "NO_PROXY"
# REF pitfall 10: with a proxy the agent must still reach IMDS, the credential proxy and Docker directly.
REQUIRED_NO_PROXY = _findings.NO_PROXY_REQUIRED
# Settings that other options own, or that Initialize-ECSAgent writes itself (REF 1.2).
OWNED_ENV = frozenset([proxy.ENV_CLUSTER, "ECS_DATADIR", "ECS_LOGFILE"]) | frozenset(proxy.INIT_FLAG_ENV.values()) | \
    frozenset(proxy.INIT_LIST_ENV.values())
INIT_ENV = frozenset([proxy.ENV_CLUSTER]) | frozenset(proxy.INIT_FLAG_ENV.values()) | frozenset(proxy.INIT_LIST_ENV.values())
# Written with the agent's settings before Initialize-ECSAgent and removed once it succeeded. Initialize-ECSAgent
# writes the Machine environment before the step that fails now and then, so after a failed run the new settings
# would be in place while the agent still runs with the old ones, and the next run would find nothing to do.
INIT_PENDING_ENV = "ECSWINDOWS_TASK_IAM_INIT_PENDING"
ECSTOOLS_FILES = ("ECSTools.psm1", "ECSTools.psd1")
ECSTOOLS_DIR = "C:\\Program Files\\WindowsPowerShell\\Modules\\ECSTools"
_VERSION_RE = re.compile(r"v?[0-9]+\.[0-9]+\.[0-9]+")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
_DRIVER_RE = re.compile(r"[A-Za-z0-9_.-]+")
_ENV_NAME_RE = re.compile(r"ECS_[A-Z0-9_]+")
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


# ---------------------------------------------------------------------------------------------------------------
# Arguments


def _env_value(name, value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not value:
        raise ValueError("environment.%s is empty; use null to remove a variable" % name)
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ValueError("environment.%s must be a string, number, boolean or null (null removes it), got %s" % (name, type(value).__name__))


def _proxy_url_ok(url):
    """An http(s) URL with a host and a numeric port if any, and no path: otherwise part of a password could be read
    as host, port or path (and would not be masked in output)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/") and not parts.query
            and not parts.fragment and not any(c.isspace() for c in url))


def check_args(args):
    """Cross-argument and format rules the DOCUMENTATION cannot express. Returns a normalised copy; raises ValueError
    naming the argument and what to do."""
    args = dict(args)
    present = args["state"] == "present"
    if present:
        if args.get("cluster") is None:
            raise ValueError("cluster is required with state: present")
        _ecs_names.validate_cluster_name(args["cluster"])
    elif args.get("cluster") is not None:
        _ecs_names.validate_cluster_name(args["cluster"])
    _args.check_ranges(args, dict(proxy.INIT_RANGES, timeout=proxy.TIMEOUT_RANGE))
    version = args.get("version")
    if version is not None and version != "latest" and not _VERSION_RE.fullmatch(version):
        raise ValueError("version %r is not 'latest' or an agent version like 1.105.1 or v1.105.1" % version)
    for driver in args.get("logging_drivers") or []:
        if not isinstance(driver, str) or not _DRIVER_RE.fullmatch(driver):
            raise ValueError("logging_drivers: %r is not a Docker logging driver name (like json-file or awslogs)" % (driver,))
    for cidr in args.get("awsvpc_additional_local_routes") or []:
        try:
            if not isinstance(cidr, str) or "/" not in cidr:
                raise ValueError()
            ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            raise ValueError("awsvpc_additional_local_routes: %r is not an IPv4 CIDR like 172.31.42.23/32" % (cidr,)) from None
    environment = {}
    for name, value in (args.get("environment") or {}).items():
        if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
            raise ValueError("environment: %r is not an ECS agent setting name (ECS_ followed by A-Z, 0-9, _)" % (name,))
        if name in OWNED_ENV:
            raise ValueError("environment: %s is set by %s, not through environment" % (
                name, "Initialize-ECSAgent" if name in ("ECS_DATADIR", "ECS_LOGFILE") else "its own option of this module"))
        environment[name] = _env_value(name, value)
    args["environment"] = environment
    http_proxy = args.get("http_proxy")
    if http_proxy and not _proxy_url_ok(http_proxy):
        # The value is not quoted: it may hold a password.
        raise ValueError("http_proxy must be a URL like http://proxy.example.com:3128 or http://user:password@proxy.example.com:3128, "
                         "without a path (percent-encode '/', '?' and '#' in a user name or password), or '' to remove "
                         "HTTP_PROXY and NO_PROXY")
    if args.get("no_proxy"):
        if not http_proxy:
            raise ValueError("no_proxy needs http_proxy: NO_PROXY is only managed together with HTTP_PROXY")
        for entry in args["no_proxy"]:
            if not isinstance(entry, str) or not entry or "," in entry or any(c.isspace() for c in entry):
                raise ValueError("no_proxy: %r is not a single host, domain, address or CIDR" % (entry,))
    if args.get("install_ecstools"):
        region = args.get("ecstools_region")
        if not region or not _REGION_RE.fullmatch(region):
            raise ValueError("install_ecstools: true needs ecstools_region, an AWS region like us-east-1 (got %r)" % (region,))
    sha = args.get("ecstools_sha256") or {}
    if sha and not args.get("install_ecstools"):
        raise ValueError("ecstools_sha256 is only used with install_ecstools: true")
    for name, digest in sha.items():
        if name not in ECSTOOLS_FILES:
            raise ValueError("ecstools_sha256: unknown file %r (use %s)" % (name, " or ".join(ECSTOOLS_FILES)))
        if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
            raise ValueError("ecstools_sha256.%s must be 64 hex digits" % name)
    args["ecstools_sha256"] = dict((name, digest.lower()) for name, digest in sha.items())
    return args


# ---------------------------------------------------------------------------------------------------------------
# Desired Machine environment


def _json_list(values):
    return json.dumps(list(values), separators=(",", ":"))


def desired_env(args):
    """Managed Machine environment: name -> value, or None when it must be absent. Names not listed are left alone."""
    env = {proxy.ENV_CLUSTER: args["cluster"]}
    flags = {"enable_task_iam_role": args["task_iam_role"], "enable_task_eni": args["enable_task_eni"],
             "awsvpc_block_imds": args["awsvpc_block_imds"]}
    for arg, name in proxy.INIT_FLAG_ENV.items():
        env[name] = "true" if flags[arg] else None
    for arg, name in proxy.INIT_LIST_ENV.items():
        if args.get(arg) is not None:
            env[name] = _json_list(args[arg])
    env.update(args["environment"])
    if args.get("http_proxy") is not None:
        if args["http_proxy"]:
            entries = list(REQUIRED_NO_PROXY) + [e for e in args.get("no_proxy") or [] if e not in REQUIRED_NO_PROXY]
            env[ENV_HTTP_PROXY] = args["http_proxy"]
            env[ENV_NO_PROXY] = ",".join(entries)
        else:
            env[ENV_HTTP_PROXY] = None
            env[ENV_NO_PROXY] = None
    return env


def env_matches(name, have, want):
    """Compare as the agent reads the value: booleans by truth, JSON lists by content."""
    if name in proxy.INIT_FLAG_ENV.values():
        return proxy.env_true(have) == (want is not None and proxy.env_true(want))
    if want is None or have is None:
        return want is None and have is None
    if name in proxy.INIT_LIST_ENV.values():
        return proxy.env_list(have) is not None and proxy.env_list(have) == proxy.env_list(want)
    return have == want


def _show(name, value):
    return "unset" if value is None else repr(_findings.redact_env_value(name, value))


# ---------------------------------------------------------------------------------------------------------------
# Planning


def _norm_version(version):
    return version[1:] if version and version.startswith("v") else version


def init_args(args):
    return {
        "cluster": args["cluster"], "enable_task_iam_role": args["task_iam_role"], "version": args.get("version"),
        "logging_drivers": args.get("logging_drivers"), "enable_task_eni": args["enable_task_eni"],
        "awsvpc_block_imds": args["awsvpc_block_imds"], "awsvpc_additional_local_routes": args.get("awsvpc_additional_local_routes"),
        "attempts": args["init_attempts"], "retry_delay_s": args["init_retry_delay"],
    }


def ecstools_urls(region):
    """REF 0: ecs-anywhere-install.ps1 downloads ECSTools from the regional agent bucket."""
    return dict((name, "https://s3.%s.amazonaws.com/amazon-ecs-agent-%s/%s" % (region, region, name)) for name in ECSTOOLS_FILES)


def ecstools_paths():
    return ["%s\\%s" % (ECSTOOLS_DIR, name) for name in ECSTOOLS_FILES]


def probe_files(args):
    """Files whose sha256 the planner compares (ECSTools when checksums are pinned)."""
    return ecstools_paths() if args.get("state") == "present" and args.get("ecstools_sha256") else []


def _registered_elsewhere(facts, cluster):
    """The cluster this instance is (or may still be) registered to, when that is another one; else None."""
    reg = facts["registration"]
    if reg["reachable"] and reg["container_instance_arn"] and reg["cluster"] and reg["cluster"] != cluster:
        return reg["cluster"], reg["container_instance_arn"]
    configured = facts["machine_env"].get(proxy.ENV_CLUSTER)
    if not reg["reachable"] and facts["services"][SERVICE] is not None and configured and configured != cluster:
        return configured, None
    return None


def _view(facts, env_names):
    svc = facts["services"][SERVICE]
    reg = facts["registration"]
    return {
        "ecstools": facts["ecstools"]["present"],
        "agent_version": facts["agent"]["version"],
        "machine_env": dict((name, _findings.redact_env_value(name, facts["machine_env"].get(name))) for name in sorted(env_names)),
        "service": None if svc is None else dict(svc),
        "registration": {"cluster": reg["cluster"] if reg["container_instance_arn"] else None,
                         "container_instance_arn": reg["container_instance_arn"]},
        "credential_endpoint": "healthy" if facts["endpoints"]["proxy"]["ok"] else "broken",
    }


def _plan_absent(facts, args):
    managed = set(INIT_ENV) | set(args["environment"])
    if args.get("http_proxy") is not None:
        managed |= {ENV_HTTP_PROXY, ENV_NO_PROXY}
    before = _view(facts, managed)
    after = json.loads(json.dumps(before))
    out = {"changes": [], "calls": [], "init": None, "diff": {"before": before, "after": after}}
    remove = sorted(name for name in managed if facts["machine_env"].get(name) is not None)
    svc = facts["services"][SERVICE]
    if svc is not None and (svc["status"] != "Stopped" or svc["start_type"] != "Disabled"):
        out["calls"].append(("service", {"name": SERVICE, "start_type": "Disabled", "state": "stopped", "failure_restart": None}))
        out["changes"].append("stop and disable the AmazonECS service (it is %s, %s)" % (svc["status"], svc["start_type"]))
        after["service"].update(status="Stopped", start_type="Disabled")
        after["registration"] = {"cluster": None, "container_instance_arn": None}
        after["credential_endpoint"] = "broken"
    if remove:
        out["calls"].append(("set_machine_env", {"set": {}, "remove": remove}))
        out["changes"].append("remove Machine environment %s" % ", ".join(remove))
        for name in remove:
            after["machine_env"][name] = None
    return out


def _plan_ecstools(facts, args, out, after):
    """install_ecstools args when ECSTools is missing or differs from the pinned checksums, else None."""
    if not args.get("install_ecstools"):
        return None
    sha = args["ecstools_sha256"]
    present = facts["ecstools"]["present"]
    # A file the probe cannot hash (null) is not compared: ECSTools may live in another module path.
    stale = [name for name, path in zip(ECSTOOLS_FILES, ecstools_paths()) if name in sha and facts["files"].get(path) not in (None, sha[name])]
    if present and not stale:
        return None
    urls = ecstools_urls(args["ecstools_region"])
    out["changes"].append("install ECSTools from %s (.psm1, .psd1): %s" % (
        urls["ECSTools.psm1"].rsplit("/", 1)[0] + "/", "%s differs from ecstools_sha256" % ", ".join(stale) if present else "it is not installed"))
    after["ecstools"] = True
    return {"files": [{"name": name, "url": urls[name], "sha256": sha.get(name)} for name in ECSTOOLS_FILES], "require_signature": True}


def _plan_env(facts, want_env, out, after):
    """(set, remove) for set_machine_env: only the values that differ from how the agent reads them."""
    env_set, env_remove = {}, []
    for name in sorted(want_env):
        have, want = facts["machine_env"].get(name), want_env[name]
        if env_matches(name, have, want):
            continue
        if want is None:
            env_remove.append(name)
        else:
            env_set[name] = want
        after["machine_env"][name] = _findings.redact_env_value(name, want)
        out["changes"].append("Machine environment %s: %s -> %s" % (name, _show(name, have), _show(name, want)))
    return env_set, env_remove


def _plan_reregister(facts, args, out):
    """True when the saved registration must be deleted first (cluster change with force_reregister); refuses without it."""
    elsewhere = _registered_elsewhere(facts, args["cluster"])
    if not elsewhere:
        return False
    old, arn = elsewhere
    if facts["container_detail"] == "none":
        stranded = "its running tasks"
    else:
        stranded = "%d task container(s) running now" % len([c for c in facts["containers"] if c["task_arn"]])
    if not args["force_reregister"]:
        what = ("registered to cluster '%s' (%s)" % (old, arn)) if arn else \
            ("configured for cluster '%s' (the agent is not running, so its saved registration cannot be read)" % old)
        proxy.refuse("refusing to change the cluster", [{
            "code": "cluster_change",
            "message": "the instance is %s, not '%s'; registering it in another cluster makes it a new container instance "
                       "and strands the tasks running on it (%s)" % (what, args["cluster"], stranded),
            "fix": "drain it first (aws ecs update-container-instances-state --status DRAINING), then rerun with "
                   "force_reregister: true, or keep cluster: %s" % old,
        }])
    out["changes"].append("delete the agent's saved registration with cluster '%s' (force_reregister: true): the tasks still "
                          "running there (%s) are stranded" % (old, stranded))
    return True


def plan(facts, args):
    """facts (probe result) + check_args(args) -> plan dict: changes, calls (one apply batch, without the verifying
    probe), diff, init (the init_agent args when it runs). Raises _plan_proxy.Refusal for host state it
    will not change."""
    if args["state"] == "absent":
        return _plan_absent(facts, args)
    cluster = args["cluster"]
    want_env = desired_env(args)
    before = _view(facts, want_env)
    after = json.loads(json.dumps(before))
    out = {"changes": [], "calls": [], "init": None, "diff": {"before": before, "after": after}}
    svc = facts["services"][SERVICE]
    reg = facts["registration"]
    registered = bool(reg["reachable"] and reg["container_instance_arn"] and reg["cluster"] == cluster)

    install = _plan_ecstools(facts, args, out, after)
    env_set, env_remove = _plan_env(facts, want_env, out, after)
    env_changed = sorted(list(env_set) + env_remove)
    pending = facts["machine_env"].get(INIT_PENDING_ENV) is not None
    init_reasons = []
    if pending:
        init_reasons.append("the last initialisation did not finish (Machine environment %s is set)" % INIT_PENDING_ENV)
    if svc is None:
        init_reasons.append("the AmazonECS service does not exist yet")
    elif any(name in INIT_ENV for name in env_changed):
        init_reasons.append("its settings change (%s)" % ", ".join(n for n in env_changed if n in INIT_ENV))
    version, installed = args.get("version"), facts["agent"]["version"]
    if version and version != "latest" and installed and _norm_version(version) != _norm_version(installed):
        init_reasons.append("agent %s is installed, %s is wanted" % (installed, _norm_version(version)))
        after["agent_version"] = _norm_version(version)
    reset = _plan_reregister(facts, args, out)
    if reset:
        init_reasons.append("the cluster changes to '%s'" % cluster)

    # The credential proxy (when task IAM roles are wanted), and what no initialisation can fix.
    diag = proxy.diagnose(facts)
    proxy_broken = args["task_iam_role"] and diag["cause"] != proxy.HEALTHY
    problems = [p for p in proxy.blockers(facts) if proxy_broken or (p["code"] == "agent_port_excluded" and not registered)]
    if proxy_broken and diag["cause"] == "port80_in_use" and not problems:
        problems = [{"code": "port80_in_use", "message": diag["reason"],
                     "fix": "find it with 'netstat -ano -p tcp' and 'netsh http show servicestate', stop it, then rerun"}]
    if problems:
        proxy.refuse("task IAM roles need the credential proxy (%s)" % diag["reason"] if proxy_broken else "the agent cannot register", problems)
    remove = None
    if proxy_broken and (diag["cause"] != "agent_down" or svc is None):
        remove = diag["remove"]
        if svc is not None:
            init_reasons.append("the credential proxy does not work (%s)" % diag["reason"])

    need_init = bool(init_reasons)
    if need_init and not facts["ecstools"]["present"] and install is None:
        proxy.refuse("the agent needs initialising (%s)" % "; ".join(init_reasons),
                     [f for f in _findings.findings(facts) if f["code"] == "ecstools_missing"])
    if need_init and args["task_iam_role"] and not facts["hyperv_powershell"]:
        proxy.refuse("the agent needs initialising with IAM roles for tasks (%s)" % "; ".join(init_reasons), [{
            "code": "hyperv_powershell_missing",
            "message": "the Hyper-V PowerShell module is not installed; setting up the credential proxy needs its cmdlets "
                       "(Get-VMNetworkAdapter, aws/amazon-ecs-agent#1587)",
            "fix": "install it as the ECS-optimized AMIs have it (Install-WindowsFeature -Name Hyper-V-PowerShell), then rerun"}])

    # Service: Automatic with restart-on-failure and running; restarted when its environment changed.
    svc_call = None
    start = None
    if svc is not None:
        fix = {}
        if svc["start_type"] != "Automatic":
            fix["start_type"] = "Automatic"
            out["changes"].append("AmazonECS start type: %s -> Automatic" % svc["start_type"])
        if not svc["failure_restart"]:
            fix["failure_restart"] = True
            out["changes"].append("AmazonECS restart on failure: off -> on")
        if not need_init:
            if env_changed:
                start = "restarted"
                out["changes"].append("restart AmazonECS so the agent reads its changed Machine environment")
            elif svc["status"] != "Running":
                start = "running"
                out["changes"].append("start AmazonECS (it is %s)" % svc["status"])
            elif proxy_broken:
                start = "restarted"
                out["changes"].append("restart AmazonECS: %s" % diag["reason"])
            elif not registered:
                start = "restarted"
                out["changes"].append("restart AmazonECS: it runs but is not registered with cluster '%s' (%s)" % (
                    cluster, reg["error"] or "no ContainerInstanceArn"))
        if fix or start:
            svc_call = ("service", {"name": SERVICE, "start_type": fix.get("start_type"), "state": start,
                                    "failure_restart": fix.get("failure_restart")})
    else:
        out["changes"].append("AmazonECS: start type Automatic with restart on failure")

    mark_pending = need_init and (pending or any(name in INIT_ENV for name in env_changed))
    if mark_pending and not pending:
        env_set[INIT_PENDING_ENV] = "true"
    calls = []
    if install:
        calls.append(("install_ecstools", install))
    if reset:
        calls.append(("reset_agent_data", {}))
    if need_init and remove:
        calls.append(("remove_proxy", remove))
        out["changes"].append("remove the broken credential proxy pieces before re-initialising: %s" % ", ".join(
            proxy.describe_pieces(dict(proxy.proxy_pieces(facts), firewall_rules=[]))))
    if env_set or env_remove:
        calls.append(("set_machine_env", {"set": env_set, "remove": env_remove}))
    if svc_call:  # before init: Initialize-ECSAgent cannot start a Disabled service
        calls.append(svc_call)
    if need_init:
        out["init"] = init_args(args)
        calls.append(("init_agent", out["init"]))
        if mark_pending:
            calls.append(("set_machine_env", {"set": {}, "remove": [INIT_PENDING_ENV]}))
        out["changes"].append("initialise the agent (%s): %s" % (proxy.init_switches(out["init"]), "; ".join(init_reasons)))
        if svc is None:  # Initialize-ECSAgent creates the service without failure actions
            calls.append(("service", {"name": SERVICE, "start_type": "Automatic", "state": "running", "failure_restart": True}))
    if need_init or start:
        calls.append(("wait_registered", {"cluster": cluster, "timeout_s": args["timeout"], "interval_s": 2}))
    if proxy_broken and start:
        # A stopped agent hides whether the rule is dead: repair only if the endpoint still fails once the agent runs.
        calls.append(("recover_proxy", {"init": init_args(args), "registration_timeout_s": args["timeout"], "log_path": proxy.RUN_LOG_PATH}))
    out["calls"] = calls

    after["service"] = {"status": "Running", "start_type": "Automatic", "failure_restart": True}
    after["registration"] = {"cluster": cluster, "container_instance_arn": reg["container_instance_arn"]
                             if registered and not reset else "(assigned at registration)"}
    if args["task_iam_role"]:
        after["credential_endpoint"] = "healthy"
    return out
