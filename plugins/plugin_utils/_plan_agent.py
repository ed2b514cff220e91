# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent planner: probe facts + validated agent options -> Plan, as named decisions that each return a value,
and `projected`, the facts the plan leads to (what the credential proxy and routes are planned on).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _agent_settings as settings
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _env, _findings, _host, _proxy
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan, Wait, refuse, step

SERVICE = _host.AGENT_SERVICE
# Bounded waits of single ops (the controller owns longer waits: docs/dev/op-contract.md "Waits").
SERVICE_TIMEOUT_S = 60
REGISTRATION_ROUND_S = 20
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


# --- arguments ----------------------------------------------------------------------------------------------------


def check_args(args: dict) -> dict:
    """Cross-argument and format rules the DOCUMENTATION cannot express (one definition with user_data:
    _agent_settings). Returns a normalised copy; raises ValueError naming the argument and what to do."""
    args = dict(args)
    if args["state"] == "present" and args.get("cluster") is None:
        raise ValueError("cluster is required with state: present")
    if args.get("cluster") is not None:
        settings.check_cluster(args["cluster"])
    settings.check_version(args.get("version"))
    args["logging_drivers"] = settings.check_logging_drivers(args.get("logging_drivers"))
    args["awsvpc_additional_local_routes"] = settings.check_routes(args.get("awsvpc_additional_local_routes"))
    settings.check_awsvpc(args)
    args["environment"] = settings.check_environment(args.get("environment"))
    if args.get("http_proxy"):
        settings.check_proxy_url(args["http_proxy"])
    if args.get("no_proxy") is not None:
        if not args.get("http_proxy"):
            raise ValueError("no_proxy needs http_proxy: NO_PROXY is only managed together with HTTP_PROXY")
        args["no_proxy"] = settings.check_no_proxy(args["no_proxy"])
    if args.get("install_ecstools"):
        region = args.get("ecstools_region")
        if not region or not _REGION.fullmatch(region):
            raise ValueError(
                "install_ecstools: true needs ecstools_region, an AWS region like us-east-1 (got %r)" % (region,)
            )
    sha = args.get("ecstools_sha256") or {}
    if sha and not args.get("install_ecstools"):
        raise ValueError("ecstools_sha256 is only used with install_ecstools: true")
    for name, digest in sha.items():
        if name not in _host.ECSTOOLS_FILES:
            raise ValueError("ecstools_sha256: unknown file %r (use %s)" % (name, " or ".join(_host.ECSTOOLS_FILES)))
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError("ecstools_sha256.%s must be 64 hex digits" % name)
    args["ecstools_sha256"] = {name: digest.lower() for name, digest in sha.items()}
    checked = set(args.get("ecstools_signature") or ()) | set(sha)
    if args.get("install_ecstools") and "ECSTools.psm1" not in checked:
        raise ValueError(
            "ecstools_signature leaves out ECSTools.psm1, which is module code and is never installed unchecked: keep "
            "it in ecstools_signature (its Amazon signature is checked) or pin it with ecstools_sha256.ECSTools.psm1"
        )
    return args


def probe_files(args: dict) -> list[str]:
    """Files whose sha256 the planner compares (ECSTools when checksums are pinned)."""
    return ecstools_paths() if args.get("state") == "present" and args.get("ecstools_sha256") else []


def ecstools_urls(region: str) -> dict[str, str]:
    """host-facts.md "ECSTools": ecs-anywhere-install.ps1 downloads ECSTools from the regional agent bucket."""
    return {
        name: "https://s3.%s.amazonaws.com/amazon-ecs-agent-%s/%s" % (region, region, name)
        for name in _host.ECSTOOLS_FILES
    }


def ecstools_paths() -> list[str]:
    return ["%s\\%s" % (_host.ECSTOOLS_DIR, name) for name in _host.ECSTOOLS_FILES]


# --- what the host is now -----------------------------------------------------------------------------------------


def registered_here(facts: dict, cluster: str) -> bool:
    reg = facts["registration"]
    return bool(reg["reachable"] and reg["container_instance_arn"] and reg["cluster"] == cluster)


def registered_elsewhere(facts: dict, cluster: str) -> tuple[str, str | None] | None:
    """The cluster this instance is (or may still be) registered to, when that is another one; else None."""
    reg = facts["registration"]
    if reg["reachable"] and reg["container_instance_arn"] and reg["cluster"] and reg["cluster"] != cluster:
        return reg["cluster"], reg["container_instance_arn"]
    configured = _env.lookup(facts["machine_env"], _host.ENV_CLUSTER)
    if not reg["reachable"] and facts["services"][SERVICE] is not None and configured and configured != cluster:
        return configured, None
    return None


def desired_env(facts: dict, args: dict) -> dict[str, str | None]:
    """The managed Machine environment: the agent's settings, extra agent variables, and the proxy variables when
    http_proxy is given ('' removes them; NO_PROXY keeps the host's entries unless no_proxy is given)."""
    env = settings.desired_env(args)
    proxy = args.get("http_proxy")
    if proxy is not None:
        if proxy:
            current = _env.lookup(facts["machine_env"], _host.ENV_NO_PROXY)
            env[_host.ENV_HTTP_PROXY] = proxy
            env[_host.ENV_NO_PROXY] = ",".join(settings.no_proxy_entries(current, args.get("no_proxy")))
        else:
            env[_host.ENV_HTTP_PROXY] = None
            env[_host.ENV_NO_PROXY] = None
    return env


def _holds(facts: dict, name: str, want: str | None) -> bool:
    """Whether the host already has `want` for `name`: by hash where the probe masked it, else as the agent reads it."""
    shown, digest = _env.current(facts, name)
    if digest is not None:
        return _env.same(facts, name, want)
    return settings.env_matches(name, shown, want)


def _show(name: str, value: str | None) -> str:
    return "unset" if value is None else repr(_env.mask(name, value))


def _view(facts: dict, env_names: Iterable[str]) -> dict:
    svc = facts["services"][SERVICE]
    reg = facts["registration"]
    env = {}
    for name in sorted(env_names):
        env[_env.spelling(facts["machine_env"], name) or name] = _env.lookup(facts["machine_env"], name)
    return {
        "ecstools": facts["ecstools"]["present"],
        "agent_version": facts["agent"]["version"],
        "machine_env": env,
        "service": None if svc is None else dict(svc),
        "registration": {
            "cluster": reg["cluster"] if reg["container_instance_arn"] else None,
            "container_instance_arn": reg["container_instance_arn"],
        },
        "credential_endpoint": "healthy" if facts["endpoints"]["proxy"]["ok"] else "broken",
    }


# --- decisions ------------------------------------------------------------------------------------------------------


def ecstools_step(facts: dict, args: dict) -> Plan:
    """install_ecstools when ECSTools is missing or differs from the pinned checksums. ECSTools.psm1 (code) needs its
    pin or Amazon's signature; ECSTools.psd1 needs its pin, or is checked to be a data-only manifest."""
    if not args.get("install_ecstools"):
        return step()
    sha = args["ecstools_sha256"]
    present = facts["ecstools"]["present"]
    # A file the probe cannot hash (null) is not compared: ECSTools may live in another module path.
    stale = [
        name
        for name, path in zip(_host.ECSTOOLS_FILES, ecstools_paths())
        if name in sha and facts["files"].get(path) not in (None, sha[name])
    ]
    if present and not stale:
        return step()
    urls = ecstools_urls(args["ecstools_region"])
    files = [
        {
            "name": name,
            "url": urls[name],
            "sha256": sha.get(name),
            "require_signature": name in (args.get("ecstools_signature") or ()),
        }
        for name in _host.ECSTOOLS_FILES
    ]
    proxy = (
        args.get("http_proxy")
        or _env.lookup(facts["machine_env"], _host.ENV_HTTPS_PROXY)
        or _env.lookup(facts["machine_env"], _host.ENV_HTTP_PROXY)
    )
    use_proxy = proxy if proxy and not _bypassed(facts, args, urls["ECSTools.psm1"]) else None
    why = "%s differs from ecstools_sha256" % ", ".join(stale) if present else "it is not installed"
    return step(
        [
            "install ECSTools from %s (.psm1, .psd1)%s: %s"
            % (urls["ECSTools.psm1"].rsplit("/", 1)[0] + "/", " through the configured proxy" if use_proxy else "", why)
        ],
        [("install_ecstools", {"files": files, "proxy": use_proxy})],
    )


def _bypassed(facts: dict, args: dict, url: str) -> bool:
    """Whether NO_PROXY covers the bucket's host (an exact name or a .domain suffix)."""
    host = url.split("/")[2]
    entries = args.get("no_proxy") or (_env.lookup(facts["machine_env"], _host.ENV_NO_PROXY) or "").split(",")
    for entry in (e.strip().lower() for e in entries if e.strip()):
        if entry == "*" or host == entry or host.endswith("." + entry.lstrip(".")):
            return True
    return False


def env_step(facts: dict, want: dict) -> Plan:
    """set_machine_env for the values that differ from how the agent reads them; detail `changed`: their names."""
    env_set, env_remove, changes = {}, [], []
    for name in sorted(want):
        if _holds(facts, name, want[name]):
            continue
        shown = _env.lookup(facts["machine_env"], name)
        spelled = _env.spelling(facts["machine_env"], name) or name
        if want[name] is None:
            env_remove.append(spelled)
        else:
            env_set[spelled] = want[name]
        masked_both = shown is not None and want[name] is not None and _env.mask(name, want[name]) == shown
        changes.append(
            "Machine environment %s: %s -> %s%s"
            % (
                spelled,
                _show(name, shown),
                _show(name, want[name]),
                " (the masked parts differ)" if masked_both else "",
            )
        )
    calls = [("set_machine_env", {"set": env_set, "remove": env_remove})] if env_set or env_remove else []
    return step(changes, calls, env_changed=sorted(list(env_set) + env_remove))


def reregister_step(facts: dict, args: dict) -> Plan:
    """reset_agent_data when the instance must move to another cluster (force_reregister); refuses without it."""
    elsewhere = registered_elsewhere(facts, args["cluster"])
    if not elsewhere:
        return step()
    old, arn = elsewhere
    if facts["containers"] is None or facts["container_detail"] == "none":
        stranded = "its running tasks"
    else:
        stranded = "%d task container(s) running now" % len([c for c in facts["containers"] if c["task_arn"]])
    if not args["force_reregister"]:
        what = (
            ("registered to cluster '%s' (%s)" % (old, arn))
            if arn
            else (
                "configured for cluster '%s' (the agent is not running, so its saved registration cannot be read)" % old
            )
        )
        refuse(
            "refusing to change the cluster",
            [
                {
                    "code": "cluster_change",
                    "message": "the instance is %s, not '%s'; registering it in another cluster makes it a new container instance "
                    "and strands the tasks running on it (%s)" % (what, args["cluster"], stranded),
                    "fix": "drain it first (aws ecs update-container-instances-state --status DRAINING), then rerun with "
                    "force_reregister: true, or keep cluster: %s" % old,
                }
            ],
        )
    return step(
        [
            "delete the agent's saved registration with cluster '%s' (force_reregister: true): the tasks still "
            "running there (%s) are stranded" % (old, stranded)
        ],
        [("reset_agent_data", {"stop_timeout_s": SERVICE_TIMEOUT_S})],
        reregister=True,
    )


def _norm_version(version: str | None) -> str | None:
    return version[1:] if version and version.startswith("v") else version


def init_reasons(
    facts: dict, args: dict, env_changed: list[str], reregister: bool, proxy: _proxy.Diagnosis
) -> list[str]:
    """Why Initialize-ECSAgent must run (empty: it need not)."""
    reasons = []
    if _env.lookup(facts["machine_env"], _host.ENV_INIT_PENDING) is not None:
        reasons.append(
            "the last initialisation did not finish (Machine environment %s is set)" % _host.ENV_INIT_PENDING
        )
    svc = facts["services"][SERVICE]
    changed_init = [name for name in env_changed if name.upper() in settings.INIT_VARIABLES]
    if svc is None:
        reasons.append("the AmazonECS service does not exist yet")
    elif changed_init:
        reasons.append("its settings change (%s)" % ", ".join(changed_init))
    version, installed = args.get("version"), facts["agent"]["version"]
    if version and version != "latest" and installed and _norm_version(version) != _norm_version(installed):
        reasons.append("agent %s is installed, %s is wanted" % (installed, _norm_version(version)))
    if reregister:
        reasons.append("the cluster changes to '%s'" % args["cluster"])
    if svc is not None and args["task_iam_role"] and not proxy.healthy and proxy.cause != _proxy.AGENT_DOWN:
        reasons.append("the credential proxy does not work (%s)" % proxy.reason)
    return reasons


def check_prerequisites(facts: dict, args: dict, reasons: list[str], installing: bool, proxy: _proxy.Diagnosis) -> None:
    """Refuse host state that no initialisation fixes, and initialising without what it needs."""
    proxy_broken = args["task_iam_role"] and not proxy.healthy
    blockers = [
        f
        for f in _findings.findings(facts)
        if f["code"] in ("port80_in_use", "agent_port_excluded", "duplicate_nat_adapters")
    ]
    registered = registered_here(facts, args["cluster"])
    problems = [p for p in blockers if proxy_broken or (p["code"] == "agent_port_excluded" and not registered)]
    if problems:
        refuse(
            "task IAM roles need the credential proxy (%s)" % proxy.reason
            if proxy_broken
            else "the agent cannot register",
            problems,
        )
    if reasons and not facts["ecstools"]["present"] and not installing:
        refuse(
            "the agent needs initialising (%s)" % "; ".join(reasons),
            [f for f in _findings.findings(facts) if f["code"] == "ecstools_missing"],
        )
    if reasons and args["task_iam_role"] and not facts["hyperv_powershell"]:
        refuse(
            "the agent needs initialising with IAM roles for tasks (%s)" % "; ".join(reasons),
            [
                {
                    "code": "hyperv_powershell_missing",
                    "message": "the Hyper-V PowerShell module is not installed; setting up the credential proxy needs its cmdlets "
                    "(Get-VMNetworkAdapter, aws/amazon-ecs-agent#1587)",
                    "fix": "install it as the ECS-optimized AMIs have it (Install-WindowsFeature -Name Hyper-V-PowerShell), then rerun",
                }
            ],
        )


def remove_step(facts: dict, args: dict, reasons: list[str], proxy: _proxy.Diagnosis) -> Plan:
    """Remove the broken proxy's pieces before re-initialising: Initialize-ECSAgent on top of a stale rule keeps it."""
    if not reasons or not args["task_iam_role"] or proxy.healthy or proxy.remove is None:
        return step()
    return step(
        [
            "remove the broken credential proxy pieces before re-initialising: %s"
            % ", ".join(_proxy.describe(dict(_proxy.pieces(facts), firewall_rules=[])))
        ],
        [("remove_proxy", proxy.remove)],
    )


def service_step(facts: dict, args: dict, need_init: bool, env_changed: list[str], proxy: _proxy.Diagnosis) -> Plan:
    """AmazonECS Automatic with restart-on-failure, and running: restarted when its environment changed, when it runs
    unregistered, or when the proxy fails behind a running agent that needs no initialisation."""
    svc = facts["services"][SERVICE]
    if svc is None:
        return step(["AmazonECS: start type Automatic with restart on failure"])
    fix: dict[str, Any]
    changes, fix, start = [], {}, None
    if svc["start_type"] != "Automatic":
        fix["start_type"] = "Automatic"
        changes.append("AmazonECS start type: %s -> Automatic" % svc["start_type"])
    if not svc["failure_restart"]:
        fix["failure_restart"] = True
        changes.append("AmazonECS restart on failure: off -> on")
    if not need_init:
        if env_changed:
            start = "restarted"
            changes.append("restart AmazonECS so the agent reads its changed Machine environment")
        elif svc["status"] != "Running":
            start = "running"
            changes.append("start AmazonECS (it is %s)" % svc["status"])
        elif args["task_iam_role"] and proxy.cause == _proxy.AGENT_DOWN:
            start = "restarted"
            changes.append("restart AmazonECS: %s" % proxy.reason)
        elif not registered_here(facts, args["cluster"]):
            start = "restarted"
            changes.append(
                "restart AmazonECS: it runs but is not registered with cluster '%s' (%s)"
                % (args["cluster"], facts["registration"]["error"] or "no ContainerInstanceArn")
            )
    if not fix and not start:
        return step(changes)
    return step(
        changes,
        [
            (
                "service",
                {
                    "name": SERVICE,
                    "start_type": fix.get("start_type"),
                    "state": start,
                    "failure_restart": fix.get("failure_restart"),
                    "timeout_s": SERVICE_TIMEOUT_S,
                },
            )
        ],
        starts=start is not None,
    )


def guard_step(facts: dict) -> Plan:
    """Before Initialize-ECSAgent: ECSTools' own reboot task must not be running, queued, or about to run (an enabled
    startup task that has not run since this boot), or the two initialisations overlap. The op fails the batch with
    `busy` (nothing after it runs) and the controller waits for it."""
    if _find_ecstools_task(facts) is None:
        return step()
    return step(
        [],
        [
            (
                "wait_task_idle",
                {
                    "task_path": _host.ECSTOOLS_REBOOT_TASK_PATH,
                    "task_name": _host.ECSTOOLS_REBOOT_TASK_NAME,
                    "timeout_s": 10,
                    "busy_error": True,
                },
            )
        ],
    )


def _find_ecstools_task(facts: dict) -> dict | None:
    return next(
        (
            t
            for t in facts["scheduled_tasks"]
            if t["path"] == _host.ECSTOOLS_REBOOT_TASK_PATH
            and t["name"].lower() == _host.ECSTOOLS_REBOOT_TASK_NAME.lower()
        ),
        None,
    )


def init_call(init: dict, args: dict) -> tuple:
    """The init_agent call with `init` settings and the module's init options."""
    return (
        "init_agent",
        {
            "settings": init,
            "timeout_s": args["init_timeout"],
            "attempts": args["init_attempts"],
            "retry_delay_s": args["init_retry_delay"],
        },
    )


def init_step(facts: dict, args: dict, reasons: list[str], pending: bool) -> Plan:
    """Initialize-ECSAgent with the settings, between setting and clearing the pending marker."""
    init = settings.init_settings(args)
    calls = [init_call(init, args)]
    if pending:
        calls.append(("set_machine_env", {"set": {}, "remove": [_host.ENV_INIT_PENDING]}))
    if facts["services"][SERVICE] is None:  # Initialize-ECSAgent creates the service without failure actions
        calls.append(
            (
                "service",
                {
                    "name": SERVICE,
                    "start_type": "Automatic",
                    "state": "running",
                    "failure_restart": True,
                    "timeout_s": SERVICE_TIMEOUT_S,
                },
            )
        )
    return step(
        ["initialise the agent (%s): %s" % (settings.initialize_command(init), "; ".join(reasons))], calls, init=init
    )


def wait_step(args: dict) -> Plan:
    """A first short registration wait inside the batch; the controller polls on (Plan.waits) while it lasts."""
    timeout = args["registration_timeout"]
    plan = step(
        [],
        [
            (
                "wait_registered",
                {"cluster": args["cluster"], "timeout_s": min(REGISTRATION_ROUND_S, timeout), "interval_s": 2},
            )
        ],
    )
    plan.waits.append(Wait(args["cluster"], timeout))
    return plan


def _absent(facts: dict, args: dict) -> Plan:
    managed = set(settings.INIT_VARIABLES) | set(args["environment"])
    if args.get("http_proxy") is not None:
        managed |= {_host.ENV_HTTP_PROXY, _host.ENV_NO_PROXY}
    before = _view(facts, managed)
    after = copy.deepcopy(before)
    changes: list[str]
    calls: list[tuple[str, dict]]
    changes, calls = [], []
    # spelling() is not None for a name lookup() finds.
    remove: list[str] = sorted(
        _env.spelling(facts["machine_env"], name)  # type: ignore[misc]
        for name in managed
        if _env.lookup(facts["machine_env"], name) is not None
    )
    svc = facts["services"][SERVICE]
    if svc is not None and (svc["status"] != "Stopped" or svc["start_type"] != "Disabled"):
        calls.append(
            (
                "service",
                {
                    "name": SERVICE,
                    "start_type": "Disabled",
                    "state": "stopped",
                    "failure_restart": None,
                    "timeout_s": SERVICE_TIMEOUT_S,
                },
            )
        )
        changes.append("stop and disable the AmazonECS service (it is %s, %s)" % (svc["status"], svc["start_type"]))
        after["service"].update(status="Stopped", start_type="Disabled")
        after["registration"] = {"cluster": None, "container_instance_arn": None}
        after["credential_endpoint"] = "broken"
    if remove:
        calls.append(("set_machine_env", {"set": {}, "remove": remove}))
        changes.append("remove Machine environment %s" % ", ".join(remove))
        for name in remove:
            after["machine_env"][name] = None
    return Plan(changes, calls, before, after)


def plan(facts: dict, args: dict) -> Plan:
    """facts (probe result) + check_args(args) -> Plan (calls: one apply batch, without the verifying probe).
    Raises Refusal for host state it will not change."""
    if args["state"] == "absent":
        return _absent(facts, args)
    want = desired_env(facts, args)
    proxy = _proxy.diagnose(facts)
    install = ecstools_step(facts, args)
    reregister = reregister_step(facts, args)
    env = env_step(facts, want)
    reasons = init_reasons(facts, args, env.detail["env_changed"], bool(reregister.detail.get("reregister")), proxy)
    check_prerequisites(facts, args, reasons, bool(install.calls), proxy)
    need_init = bool(reasons)
    pending = need_init and (
        _env.lookup(facts["machine_env"], _host.ENV_INIT_PENDING) is not None
        or any(name.upper() in settings.INIT_VARIABLES for name in env.detail["env_changed"])
    )
    if pending and _env.lookup(facts["machine_env"], _host.ENV_INIT_PENDING) is None:
        env = _with_pending(env)
    service = service_step(facts, args, need_init, env.detail["env_changed"], proxy)
    # Order: the module first, then the old registration, the broken pieces, the environment, the service (a
    # Disabled one cannot be started by Initialize-ECSAgent), the guard against ECSTools' own task, the init.
    out = install.then(reregister).then(remove_step(facts, args, reasons, proxy)).then(env).then(service)
    if need_init:
        out = out.then(guard_step(facts)).then(init_step(facts, args, reasons, pending))
    if need_init or service.detail.get("starts"):
        out = out.then(wait_step(args))
    out.before = _view(facts, want)
    out.after = _after_view(out.before, want, args, facts, need_init, bool(reregister.detail.get("reregister")))
    return out


def _with_pending(env: Plan) -> Plan:
    calls = copy.deepcopy(env.calls) or [("set_machine_env", {"set": {}, "remove": []})]
    calls[0][1]["set"][_host.ENV_INIT_PENDING] = "true"
    return Plan(env.changes, calls, detail=env.detail)


def _after_view(before: dict, want: dict, args: dict, facts: dict, need_init: bool, reregister: bool) -> dict:
    after = copy.deepcopy(before)
    for name, value in want.items():
        after["machine_env"][_env.spelling(facts["machine_env"], name) or name] = (
            _env.mask(name, value) if value is not None else None
        )
    if args.get("install_ecstools"):
        after["ecstools"] = True
    if need_init and args.get("version") and args["version"] != "latest":
        after["agent_version"] = _norm_version(args["version"])
    after["service"] = {"status": "Running", "start_type": "Automatic", "failure_restart": True}
    registered = registered_here(facts, args["cluster"]) and not reregister
    after["registration"] = {
        "cluster": args["cluster"],
        "container_instance_arn": facts["registration"]["container_instance_arn"]
        if registered
        else "(assigned at registration)",
    }
    if args["task_iam_role"]:
        after["credential_endpoint"] = "healthy"
    return after


# --- the facts the plan leads to -------------------------------------------------------------------------------------


def projected(facts: dict, agent: Plan, args: dict) -> dict:
    """The probe facts as they will be once `agent` is applied (verified by the final probe, not trusted): the
    credential proxy and container routes are planned on these, so check mode shows the whole run."""
    out = copy.deepcopy(facts)
    if args["state"] == "absent" or not agent:
        return out
    for name, value in desired_env(facts, args).items():
        key = _env.spelling(out["machine_env"], name) or name
        if value is None:
            out["machine_env"].pop(key, None)
        else:
            out["machine_env"][key] = _env.mask(name, value)
    out["machine_env"].pop(_env.spelling(out["machine_env"], _host.ENV_INIT_PENDING) or _host.ENV_INIT_PENDING, None)
    if any(op == "install_ecstools" for op, _args in agent.calls):
        out["ecstools"] = {"present": True, "version": facts["ecstools"]["version"]}
    out["services"][SERVICE] = {"status": "Running", "start_type": "Automatic", "failure_restart": True}
    out["registration"] = dict(
        out["registration"],
        reachable=True,
        cluster=args["cluster"],
        error=None,
        container_instance_arn=facts["registration"]["container_instance_arn"] or "(assigned at registration)",
    )
    out["endpoints"]["agent_tmds"] = {"ok": True, "status": 400, "code": "NoIdInRequest", "error": None}
    healthy = {"ok": True, "status": 400, "code": "NoIdInRequest", "error": None}
    if args["task_iam_role"] and any(op == "init_agent" for op, _args in agent.calls):
        out["endpoints"]["proxy"] = healthy
    elif _proxy.diagnose(facts).cause == _proxy.AGENT_DOWN:
        # Started again, the agent answers through its proxy; a rule that was dead behind it is found by the
        # verifying probe and repaired in a second pass.
        out["endpoints"]["proxy"] = healthy
    return out
