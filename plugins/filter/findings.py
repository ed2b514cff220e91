# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that put a host module's result into words for the roles and playbooks (logic that stays out of Jinja)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.filter.fleet_report import host_row
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _findings


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def findings_message(result: dict, prefix: str = "the host is not healthy") -> str:
    """'<prefix>: [code] message. Fix: fix | ...' for the findings of a host module's result."""
    if not isinstance(result, dict):
        raise AnsibleFilterError(
            "findings_message expects the registered result of a host module, got %s" % type(result).__name__
        )
    if result.get("unreachable") or "findings" not in result:
        return "%s: %s" % (prefix, _one_line(result.get("msg")) or "the module returned no findings")
    parts = [
        "[%s] %s. Fix: %s" % (f.get("code"), _one_line(f.get("message")), _one_line(f.get("fix")))
        for f in result["findings"]
    ]
    return "%s: %s" % (prefix, " | ".join(parts) or "no finding")


def _problem_codes(result: dict) -> list:
    return [f for f in result.get("findings") or [] if isinstance(f, dict) and not f.get("informational")]


def _ecs_outcome(result: dict) -> str:
    """What recover did in ECS for the host (ecs.change, from the ecs_view filters), as a suffix of its line."""
    change = (result.get("ecs") or {}).get("change") if isinstance(result.get("ecs"), dict) else None
    if not isinstance(change, dict):
        return ""
    action = change.get("action") or {}
    if change.get("error"):
        return "; could not return it to service in ECS: %s" % _one_line(change["error"])
    done = []
    if action.get("status") == "ACTIVE":
        done.append("returned to ACTIVE")
    removed = [name for name in action.get("remove_attributes") or [] if name != "ecs_windows.task_iam.quarantine"]
    if removed:
        done.append("attribute %s removed" % ", ".join(removed))
    marker = action.get("marker") or {}
    if marker.get("mode") == "rolling_reboot":
        why = " (drained by rolling_reboot at %s)" % marker.get("time")
    elif marker:
        why = " (quarantined with %s by this collection at %s)" % (marker.get("mode"), marker.get("time"))
    else:
        why = ""
    return "; %s in ECS%s" % (" and ".join(done) or "quarantine marker removed", why)


def recover_outcome(result: Any, repair: Any = None) -> str:
    """The one line the recover playbook prints per host, from the registered result of its credential_proxy task
    (registered with ignore_unreachable and failed_when false; `repair` is an optional second task's result, for
    callers that probe first), or that result joined with the ECS view (ecs_windows.task_iam.ecs_join)."""
    if isinstance(repair, dict) and not repair.get("skipped"):
        result = repair
    if not isinstance(result, dict):
        return "not checked: the host left the play before the repair"
    if result.get("unreachable"):
        if result.get("response_lost"):
            return (
                "repair sent, outcome unknown: the connection was lost after the repair was sent (%s); run verify to "
                "see the host's state" % _one_line(result.get("msg"))
            )
        return "unreachable: %s" % _one_line(result.get("msg"))
    problems = _problem_codes(result)
    if result.get("repaired"):
        line = "repaired (cause: %s)" % result.get("cause")
        if problems:
            line += "; still not healthy: %s (fix: %s)" % (
                ", ".join(f["code"] for f in problems),
                _one_line(problems[0].get("fix")),
            )
        return line + _ecs_outcome(result)
    # A task that failed (its registered `failed` is cleared by failed_when) carries msg; a refusal also names the
    # finding codes that stopped it, which say more than the message.
    if (result.get("failed") or result.get("msg")) and not problems:
        return "not repaired: %s" % _one_line(result.get("msg") or "the task failed without a message")
    if problems:
        return "not repaired by recover: %s (fix: %s)" % (
            ", ".join(f["code"] for f in problems),
            _one_line(problems[0].get("fix")),
        ) + _ecs_outcome(result)
    return "healthy, nothing to repair" + _ecs_outcome(result)


def boot_repair_state(result: Any) -> str:
    """Where the collection's boot-time repair stands on a host, from an instance_info result: V(not_installed),
    V(pending) (it has not finished at this boot yet), V(done) (it logged its outcome at this boot), or V(unknown)
    (the host did not answer)."""
    if not isinstance(result, dict) or result.get("unreachable") or not isinstance(result.get("host"), dict):
        return "unknown"
    recovery = result.get("boot_recovery") or {}
    if not recovery.get("installed") or not recovery.get("enabled"):
        return "not_installed"
    last = recovery.get("last") or {}
    if _findings.same_boot(last.get("boot_id"), result["host"].get("boot_id")) and last.get("action") not in (
        None,
        "started",
    ):
        return "done"
    return "pending"


def reboot_outcome(result: Any, problem: str = "") -> dict:
    """The rolling_reboot playbook's verdict on one host of a batch: {healthy, line}. `result` is the host's result
    after its reboot (credential_proxy, joined with the ECS view), `problem` what kept the host from being rebooted."""
    if problem:
        return {"healthy": False, "line": "not rebooted: %s" % _one_line(problem)}
    row = host_row("host", result)
    if row["health"] == "unreachable":
        return {"healthy": False, "line": "unreachable after its reboot: %s" % row["cause"]}
    if row["health"] == "error":
        return {"healthy": False, "line": "could not be checked after its reboot: %s" % row["cause"]}
    if row["health"] != "healthy":
        return {
            "healthy": False,
            "line": "unhealthy after its reboot [%s]: %s Fix: %s"
            % (", ".join(row["findings"]), row["cause"], _one_line(row["fix"])),
        }
    words = ["rebooted (boot at %s) and healthy" % (row["boot_time"] or "unknown")]
    if row["healed_at_boot"]:
        words.append("the boot-time repair repaired its credential proxy")
    if result.get("repaired"):
        words.append("credential_proxy repaired it (cause: %s)" % result.get("cause"))
    line = "; ".join(words) + _ecs_outcome(result)
    return {"healthy": True, "line": line}


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "findings_message": findings_message,
            "recover_outcome": recover_outcome,
            "boot_repair_state": boot_repair_state,
            "reboot_outcome": reboot_outcome,
        }
