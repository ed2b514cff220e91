# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential_proxy planner: probe facts + validated options -> Plan. It repairs what the diagnosis
(_proxy.diagnose) finds, with the settings the host has now, and keeps the boot-time repair task (_boot_task).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import (
    _agent_settings,
    _boot_task,
    _env,
    _findings,
    _host,
    _proxy,
)
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan, Wait, refuse, step
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan_agent import (
    REGISTRATION_ROUND_S,
    SERVICE_TIMEOUT_S,
    guard_step,
    init_call,
)

# Findings that stop a repair: the agent module fixes the first group, nothing this collection runs fixes the
# second; each carries its exact remedy.
PREREQUISITE_CODES = ("ecstools_missing", "agent_not_initialized", "task_iam_disabled")
BLOCKER_CODES = ("port80_in_use", "agent_port_excluded", "duplicate_nat_adapters")


def check_args(args: dict) -> dict:
    """Cross-argument rules the DOCUMENTATION cannot express; raises ValueError naming the argument."""
    if args["state"] == "absent" and args.get("on_boot"):
        raise ValueError(
            "on_boot: true cannot be combined with state: absent (absent removes the startup task); drop on_boot"
        )
    return args


def prerequisites(facts: dict) -> list[dict]:
    """What the agent module must set up before the proxy can be repaired (credential_proxy refuses these)."""
    found = _findings.findings(facts)
    problems = [f for f in found if f["code"] in PREREQUISITE_CODES]
    service = facts["services"][_host.AGENT_SERVICE]
    if service is not None and service["start_type"] == "Disabled":
        problems += [f for f in found if f["code"] == "agent_not_running"]
    if service is not None and not _env.lookup(facts["machine_env"], _host.ENV_CLUSTER):
        problems.append(
            {
                "code": "agent_not_initialized",
                "message": "Machine environment ECS_CLUSTER is not set, so the agent's settings are unknown",
                "fix": "run ecs_windows.task_iam.agent with the cluster first",
            }
        )
    return problems


def blockers(facts: dict) -> list[dict]:
    """Host state that re-initialising the agent cannot fix."""
    return [f for f in _findings.findings(facts) if f["code"] in BLOCKER_CODES]


def _endpoint_view(facts: dict, diagnosis: _proxy.Diagnosis) -> str:
    endpoint = facts["endpoints"]["proxy"]
    if endpoint["ok"]:
        return "healthy"
    return "broken (%s): %s" % (
        diagnosis.cause,
        endpoint["error"] or "HTTP %s %s" % (endpoint["status"], endpoint["code"]),
    )


def _pieces_view(found: dict) -> dict:
    return {
        "portproxy": [_proxy.describe_rule(r) for r in found["portproxy"]],
        "ip_bindings": [_proxy.describe_binding(b) for b in found["ip_bindings"]],
        "apipa_adapter": found["apipa_adapter"],
        "firewall_rules": [f["display_name"] for f in found["firewall_rules"]],
    }


def _reinitialised_view(found: dict) -> dict:
    """What Initialize-ECSAgent is expected to leave (verified by the final probe, not trusted)."""
    return {
        "portproxy": [
            "portproxy %s:%d -> %s:%d (re-created)"
            % (_host.PROXY_IP, _host.PROXY_PORT, _host.TMDS_ADDRESS, _host.TMDS_PORT)
        ],
        "ip_bindings": ["IP %s/32 (re-created)" % _host.PROXY_IP],
        "apipa_adapter": None,
        "firewall_rules": [f["display_name"] for f in found["firewall_rules"]]
        or [_host.FIREWALL_DISPLAY_NAME + " (created)"],
    }


def recover_args(args: dict) -> dict:
    return _boot_task.recover_args(
        args["init_attempts"], args["init_retry_delay"], args["registration_timeout"], args["init_timeout"]
    )


def boot_step(facts: dict, args: dict) -> Plan:
    """on_boot true: the startup task as this collection writes it for these options; false: no task; omitted:
    leave it as it is."""
    have = _boot_task.view(facts)
    if args.get("on_boot"):
        want = _boot_task.desired_view(recover_args(args), args["boot_delay"])
        problems = _boot_task.differences(have, want)
        insecure = [f for f in _findings.findings(facts) if f["code"] == "boot_folder_insecure"]
        if not problems and not insecure:
            return step()
        why = "; ".join(problems + [f["message"] for f in insecure])
        plan = step(
            [
                "install the startup task %s%s running %s (%s)"
                % (_host.BOOT_TASK_PATH, _host.BOOT_TASK_NAME, _host.BOOT_SCRIPT_PATH, why)
            ],
            [("boot_task", _boot_task.boot_task_args("present", recover_args(args), args["boot_delay"]))],
        )
        plan.before, plan.after = {"boot_task": have}, {"boot_task": want}
        return plan
    if args.get("on_boot") is False and have is not None:
        plan = step(
            ["remove the startup task %s%s (on_boot is false)" % (_host.BOOT_TASK_PATH, _host.BOOT_TASK_NAME)],
            [("boot_task", _boot_task.boot_task_args("absent"))],
        )
        plan.before, plan.after = {"boot_task": have}, {"boot_task": None}
        return plan
    return step()


def repair_step(facts: dict, args: dict, diagnosis: _proxy.Diagnosis) -> Plan:
    """Start a stopped agent (a rule may be dead behind it: the next pass sees), or remove the broken pieces and
    re-initialise the agent with the settings the host has now."""
    found = _proxy.pieces(facts)
    if diagnosis.healthy:
        return step()
    service = facts["services"][_host.AGENT_SERVICE]
    # Not None: plan() refuses (prerequisites) when ECS_CLUSTER is not set.
    settings: dict = _agent_settings.settings_from_env(facts["machine_env"])  # type: ignore[assignment]
    wait = step(
        [],
        [
            (
                "wait_registered",
                {
                    "cluster": settings["cluster"],
                    "timeout_s": min(REGISTRATION_ROUND_S, args["registration_timeout"]),
                    "interval_s": 2,
                },
            )
        ],
    )
    wait.waits.append(Wait(settings["cluster"], args["registration_timeout"]))
    if diagnosis.cause == _proxy.AGENT_DOWN:
        state = "running" if service["status"] != "Running" else "restarted"
        plan = step(
            ["start the ECS agent, then repair the proxy only if it still fails: %s" % diagnosis.reason],
            [
                (
                    "service",
                    {
                        "name": _host.AGENT_SERVICE,
                        "start_type": None,
                        "state": state,
                        "failure_restart": None,
                        "timeout_s": SERVICE_TIMEOUT_S,
                    },
                )
            ],
        ).then(wait)
        plan.after = {"endpoint": "healthy"}
        return plan
    plan = step()
    if diagnosis.remove:
        plan = step(
            [
                "remove the broken proxy pieces (%s): %s"
                % (diagnosis.cause, ", ".join(_proxy.describe(dict(found, firewall_rules=[]))))
            ],
            [("remove_proxy", diagnosis.remove)],
        )
    plan = (
        plan.then(guard_step(facts))
        .then(
            step(
                [
                    "re-initialise the agent with its current settings (%s): %s"
                    % (_agent_settings.initialize_command(settings), diagnosis.reason)
                ],
                [init_call(settings, args)],
            )
        )
        .then(wait)
    )
    plan.after = {"endpoint": "healthy", "pieces": _reinitialised_view(found)}
    return plan


def _absent(facts: dict, diagnosis: _proxy.Diagnosis) -> Plan:
    found = _proxy.pieces(facts)
    out = Plan(
        before={
            "endpoint": _endpoint_view(facts, diagnosis),
            "pieces": _pieces_view(found),
            "boot_task": _boot_task.view(facts),
        }
    )
    out.after = dict(out.before)
    removal = _proxy.remove_args(found, firewall=True)
    if removal:
        out.calls.append(("remove_proxy", removal))
        out.changes.append("remove the credential proxy: %s" % ", ".join(_proxy.describe(found)))
        out.after.update(
            pieces={"portproxy": [], "ip_bindings": [], "apipa_adapter": None, "firewall_rules": []}, endpoint="absent"
        )
    if out.before["boot_task"] is not None:
        out.calls.append(("boot_task", _boot_task.boot_task_args("absent")))
        out.changes.append("remove the startup task %s%s and its script" % (_host.BOOT_TASK_PATH, _host.BOOT_TASK_NAME))
        out.after["boot_task"] = None
    return out


def plan(facts: dict, args: dict) -> Plan:
    """facts (probe result) + validated credential_proxy options -> Plan (detail: cause, reason). Raises Refusal for
    what re-initialising cannot fix."""
    diagnosis = _proxy.diagnose(facts)
    if args["state"] == "absent":
        out = _absent(facts, diagnosis)
    else:
        needs_repair = not diagnosis.healthy
        if needs_repair or args.get("on_boot"):
            problems = prerequisites(facts)
            if problems:
                refuse(
                    ("the credential proxy cannot be repaired yet (%s)" % diagnosis.reason)
                    if needs_repair
                    else "the boot recovery task needs the agent's settings",
                    problems,
                )
        if needs_repair and (blockers(facts) or diagnosis.cause == _proxy.PORT80_IN_USE):
            refuse(
                "the credential proxy is broken (%s) and re-initialising the agent cannot fix it" % diagnosis.reason,
                blockers(facts) or [f for f in _findings.findings(facts) if f["code"] == "port80_in_use"],
            )
        boot = boot_step(facts, args)
        repair = repair_step(facts, args, diagnosis)
        found = _proxy.pieces(facts)
        out = boot.then(repair)
        out.before = dict(
            {
                "endpoint": _endpoint_view(facts, diagnosis),
                "pieces": _pieces_view(found),
                "boot_task": _boot_task.view(facts),
            },
            **dict(boot.before),
        )
        out.after = dict(out.before, **boot.after, **repair.after)
    out.detail.update(cause=diagnosis.cause, reason=diagnosis.reason)
    return out
