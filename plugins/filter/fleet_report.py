# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report of the verify playbook: one row per host with its health, cause and fix, and a summary by finding.

Every function here is linear in the number of hosts (verify runs it once over fleets of thousands).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._report_html import ecs_cells, render_html

# What to run for a finding, in the order a human should deal with them: a host problem the collection
# refuses to touch blocks everything else, an agent that is not set up blocks the proxy, a broken proxy
# comes before what only matters once it works, and so on. Codes not listed are "manual (see fix)".
_NEXT_STEP = (
    ("port80_in_use", "manual"),
    ("agent_port_excluded", "manual"),
    ("duplicate_nat_adapters", "manual"),
    ("docker_not_answering", "manual"),
    ("cluster_mismatch", "manual"),
    ("ecstools_missing", "configure"),
    ("agent_not_initialized", "configure"),
    ("agent_init_pending", "configure"),
    ("task_iam_disabled", "configure"),
    ("agent_not_registered", "configure"),
    ("ecs_task_iam_capability_missing", "configure"),
    ("no_proxy_missing", "configure"),
    ("agent_not_running", "recover"),
    ("ecs_instance_not_found", "manual"),
    ("ecs_agent_disconnected", "manual"),
    ("proxy_missing", "recover"),
    ("proxy_stale_after_reboot", "recover"),
    ("proxy_dead_rule", "recover"),
    ("boot_recovery_failed", "recover"),
    ("task_credentials_failing", "recover"),
    ("imds_fallback_risk", "configure"),
    ("boot_task_outdated", "configure"),
    ("boot_folder_insecure", "configure"),
    ("container_routes_missing", "bootstrap_containers"),
    ("ecs_view_failed", "manual"),
    ("ecs_credentials_marked_broken", "recover"),
    # The collection's own quarantine (recover returns the host once healthy); one drained by someone else is only
    # informational and keeps the host healthy.
    ("ecs_instance_draining", "recover"),
)
_RANK = dict((code, index) for index, (code, dummy) in enumerate(_NEXT_STEP))
# A code this version does not know comes before the merely informational ones (draining).
_UNKNOWN_RANK = _RANK["ecs_instance_draining"] - 0.5
_PLAYBOOK = dict(_NEXT_STEP)
_HEALTH_ORDER = ("unreachable", "error", "broken", "healthy")
_ECS_KEYS = ("status", "agent_connected", "running_tasks", "pending_tasks", "quarantined", "container_instance_arn")

UNREACHABLE_FIX = (
    "Check that the instance is running and that WinRM answers (address, port, credentials, security group); "
    "a host that is rebooting answers again in a few minutes. Then run verify again."
)
ERROR_FIX = "Run verify again with -vvv to see the WinRM command and its output."
# The pseudo findings of hosts that could not be checked, for the summary by finding.
_NOT_CHECKED = {
    "unreachable": (
        "the host did not answer over WinRM",
        UNREACHABLE_FIX,
        "ansible-playbook ecs_windows.task_iam.verify",
    ),
    "error": ("instance_info failed on the host", ERROR_FIX, "ansible-playbook ecs_windows.task_iam.verify -vvv"),
}
_HEADLINE_MAX = 240

# The innermost reason of a connection error chain (urllib3/requests/pywinrm), and where it happened.
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()\[\]\\]+)")
_ENDPOINT = re.compile(r"host='([^']+)', port=(\d+)")
_ATTEMPTS = re.compile(r"failed (\d+) times")
_KNOWN_REASONS = (
    "certificate verify failed",
    "credentials were rejected",
    "unauthorized",
    "read timed out",
    "connection timed out",
    "timed out",
    "name or service not known",
    "no route to host",
    "connection reset by peer",
    "connection refused",
    "connection aborted",
)


def _step(code: str) -> str:
    playbook = _PLAYBOOK.get(code, "manual")
    if playbook == "manual":
        return "manual (see fix)"
    return "ansible-playbook ecs_windows.task_iam.%s" % playbook


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def _block(text: Any) -> str:
    """Text that may hold a command: line breaks kept, trailing blanks and surrounding blank lines removed."""
    return "\n".join(line.rstrip() for line in str(text or "").strip().splitlines())


def readable_error(msg: Any) -> tuple[str, str]:
    """(headline, detail) of a connection or module error: the reason in one line, the whole text as detail.

    A chain like "connection ... failed 4 times ...: ntlm: HTTPSConnectionPool(host='10.0.0.5', port=5986): Max
    retries exceeded ... [Errno 111] Connection refused'))" becomes "Connection refused (10.0.0.5:5986, 4
    attempts)". The detail is empty when the headline already says everything.
    """
    text = _block(msg)
    flat = _one_line(text)
    if not flat:
        return "", ""
    reasons = _ERRNO.findall(flat)
    reason = reasons[-1].strip() if reasons else None
    if reason is None:
        lowered = flat.lower()
        reason = next((known for known in _KNOWN_REASONS if known in lowered), None)
    if reason is None:
        headline = flat if len(flat) <= _HEADLINE_MAX else flat[: _HEADLINE_MAX - 1].rstrip() + "\u2026"
    else:
        where = []
        endpoints = _ENDPOINT.findall(flat)
        if endpoints:
            where.append("%s:%s" % endpoints[-1])
        attempts = _ATTEMPTS.search(flat)
        if attempts:
            where.append("%s attempts" % attempts.group(1))
        headline = reason[0].upper() + reason[1:]
        if where:
            headline += " (%s)" % ", ".join(where)
    return headline, ("" if flat == headline else text)


def _healed_at_boot(result: dict) -> Any:
    """Time of the boot-time repair of the current boot, or None when the startup task repaired nothing."""
    # The module compared the boot ids (healed_this_boot, with the tolerance WMI's wobbling boot time needs).
    recovery = result.get("boot_recovery") or {}
    last = recovery.get("last") or {}
    if last.get("action") == "repaired" and recovery.get("healed_this_boot"):
        return last.get("time") or "this boot"
    return None


def _ecs(result: dict) -> dict | None:
    """The ECS view of the host (verify with ecs_region), or None when the cross-check did not run for it."""
    ecs = result.get("ecs")
    if not isinstance(ecs, dict):
        return None
    return dict((key, ecs.get(key)) for key in _ECS_KEYS)


def host_row(host: str, result: Any) -> dict:
    """The report row of one host from its instance_info result (None when the host was never checked)."""
    if result is None:
        result = {"unreachable": True, "msg": "the host was not checked (it left the play before verify ran)"}
    if not isinstance(result, dict):
        raise AnsibleFilterError(
            "fleet_report: the result of %s must be a dict, got %s" % (host, type(result).__name__)
        )
    row = {
        "host": host,
        "health": "healthy",
        "findings": [],
        "cause": "",
        "cause_detail": "",
        "fix": "",
        "next_step": "",
        "details": [],
        "hostname": (result.get("host") or {}).get("hostname"),
        "boot_time": (result.get("host") or {}).get("boot_time"),
        "cluster": (result.get("registration") or {}).get("cluster"),
        "on_boot": (result.get("boot_recovery") or {}).get("installed"),
        "healed_at_boot": _healed_at_boot(result),
        "ecs": _ecs(result),
    }
    if result.get("unreachable"):
        headline, detail = readable_error(result.get("msg"))
        row.update(
            health="unreachable",
            cause=headline or "unreachable",
            cause_detail=detail,
            fix=UNREACHABLE_FIX,
            next_step=_NOT_CHECKED["unreachable"][2],
        )
    elif result.get("failed") or "healthy" not in result:
        headline, detail = readable_error(result.get("msg"))
        row.update(
            health="error",
            cause=headline or "instance_info returned no result",
            cause_detail=detail,
            fix=ERROR_FIX,
            next_step=_NOT_CHECKED["error"][2],
        )
    elif not result["healthy"] or result.get("findings"):
        details: list[dict[str, Any]] = [
            dict(
                {
                    "code": _one_line(f.get("code")) or "unknown",
                    "message": _one_line(f.get("message")),
                    "fix": _block(f.get("fix")),
                },
                **({"informational": True} if f.get("informational") else {}),
            )
            for f in result.get("findings") or []
            if isinstance(f, dict)
        ]
        problems = [f for f in details if not f.get("informational")]
        if result["healthy"] and details and not problems:
            # Only informational findings (an instance someone else drained, say): healthy, with the notes kept.
            row.update(findings=[f["code"] for f in details], details=details)
            row["summary"] = _summary(row)
            return row
        details = problems + [f for f in details if f.get("informational")]
        if not details:
            details = [
                {
                    "code": "unknown",
                    "message": "instance_info reported the host unhealthy without a finding",
                    "fix": ERROR_FIX,
                }
            ]
        first = min(problems or details, key=lambda f: _RANK.get(f["code"], _UNKNOWN_RANK))
        row.update(
            health="broken",
            findings=[f["code"] for f in details],
            details=details,
            cause=first["message"],
            fix=first["fix"],
            next_step=_step(first["code"]),
        )
    row["summary"] = _summary(row)
    return row


def _summary(row: dict) -> str:
    if row["health"] == "healthy":
        return "%s: healthy" % row["host"]
    codes = " [%s]" % ", ".join(row["findings"]) if row["findings"] else ""
    return "%s: %s%s: %s Fix: %s" % (row["host"], row["health"], codes, row["cause"], _one_line(row["fix"]))


def _by_finding(rows: list) -> list:
    """Each finding code with the hosts it affects, its next step and its fixes (hosts grouped by the same fix)."""
    groups: dict = {}
    for row in rows:
        if row["health"] == "healthy" and not row["details"]:
            continue
        if row["health"] in _NOT_CHECKED:
            message, fix, dummy = _NOT_CHECKED[row["health"]]
            items = [{"code": row["health"], "message": message, "fix": fix}]
        else:
            items = row["details"]
        seen = set()
        for finding in items:
            code = finding["code"]
            if code in seen:  # a host that reports the same code twice counts once
                continue
            seen.add(code)
            group = groups.get(code)
            if group is None:
                next_step = _NOT_CHECKED[code][2] if code in _NOT_CHECKED and row["health"] == code else _step(code)
                if finding.get("informational"):
                    next_step = "manual (see fix)"
                group = groups[code] = {
                    "code": code,
                    "next_step": next_step,
                    "message": finding["message"],
                    "example_host": row["host"],
                    "hosts": [],
                    "fixes": {},
                }
            group["hosts"].append(row["host"])
            group["fixes"].setdefault(finding["fix"], []).append(row["host"])
    ordered = sorted(
        groups.values(),
        key=lambda g: (
            0 if g["code"] == "unreachable" else 1 if g["code"] == "error" else 2,
            _RANK.get(g["code"], _UNKNOWN_RANK),
            -len(g["hosts"]),
            g["code"],
        ),
    )
    for group in ordered:
        group["count"] = len(group["hosts"])
        fixes = sorted(group["fixes"].items(), key=lambda item: -len(item[1]))
        group["fixes"] = [{"fix": fix, "hosts": hosts} for fix, hosts in fixes]
    return ordered


def _ecs_summary(rows: list) -> dict:
    statuses: dict = {}
    summary: dict[str, Any] = {
        "status": statuses,
        "agent_disconnected": 0,
        "quarantined": 0,
        "running_tasks": 0,
        "pending_tasks": 0,
        "without_ecs_view": 0,
    }
    for row in rows:
        ecs = row["ecs"]
        if ecs is None:
            summary["without_ecs_view"] += 1
            continue
        status = _one_line(ecs["status"]) or "unknown"
        statuses[status] = statuses.get(status, 0) + 1
        summary["agent_disconnected"] += 1 if ecs["agent_connected"] is False else 0
        summary["quarantined"] += 1 if ecs["quarantined"] else 0
        for key in ("running_tasks", "pending_tasks"):
            summary[key] += ecs[key] if isinstance(ecs[key], int) and not isinstance(ecs[key], bool) else 0
    return summary


def fleet_report(results: Any, target: str = "windows_ecs", generated: str | None = None) -> dict:
    """The fleet report from a mapping inventory host -> registered instance_info result."""
    if not isinstance(results, dict):
        raise AnsibleFilterError(
            "fleet_report expects a dict of host -> instance_info result, got %s" % type(results).__name__
        )
    rows = [host_row(host, result) for host, result in results.items()]
    rows.sort(key=lambda r: (_HEALTH_ORDER.index(r["health"]), r["host"]))
    counts = dict((health, 0) for health in _HEALTH_ORDER)
    for row in rows:
        counts[row["health"]] += 1
    text = "%d hosts: %d healthy, %d broken, %d unreachable" % (
        len(rows),
        counts["healthy"],
        counts["broken"],
        counts["unreachable"],
    )
    if counts["error"]:
        text += ", %d failed to answer" % counts["error"]
    summary = dict(counts, hosts=len(rows), text=text)
    ecs_view = any(row["ecs"] is not None for row in rows)
    if ecs_view:
        summary["ecs"] = _ecs_summary(rows)
    else:
        for row in rows:
            del row["ecs"]
    return {
        "target": target,
        "generated": generated,
        "summary": summary,
        "ecs_view": ecs_view,
        "findings": _by_finding(rows),
        "hosts": rows,
    }


def _check_report(report: Any, name: str) -> dict:
    if not isinstance(report, dict) or "hosts" not in report or "summary" not in report:
        raise AnsibleFilterError("%s expects the output of ecs_windows.task_iam.fleet_report" % name)
    return report


# --- Markdown ---------------------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """Text for Markdown: `<cluster>` must not vanish as an HTML tag."""
    return _one_line(text).replace("<", "\\<")


def _cell(text: Any) -> str:
    return _md(text).replace("|", "\\|") or "-"


def _code(text: Any, cell: bool = False) -> str:
    """Inline code for any text: a backtick fence longer than any backtick run inside."""
    text = _one_line(text)
    if not text:
        return "-"
    fence = "`" * (max([len(run) for run in re.findall("`+", text)] or [0]) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    code = "%s%s%s%s%s" % (fence, pad, text, pad, fence)
    return code.replace("|", "\\|") if cell else code


def _fenced(text: Any) -> list:
    text = _block(text) or "-"
    fence = "`" * max(3, max([len(run) for run in re.findall("`+", text)] or [0]) + 1)
    return [fence + "text"] + text.splitlines() + [fence]


def _heals_at_boot(row: dict) -> str:
    if row["healed_at_boot"]:
        return "yes (repaired itself at %s)" % _cell(row["healed_at_boot"])
    if "boot_recovery_failed" in (row.get("findings") or []):
        return "no (its boot repair failed: boot_recovery_failed)"
    return {True: "yes", False: "no"}.get(row["on_boot"], "-")


def fleet_report_markdown(report: Any) -> str:
    """The fleet report as Markdown: summary, each finding with its hosts and fix, a table for every host, details."""
    report = _check_report(report, "fleet_report_markdown")
    ecs_view = bool(report.get("ecs_view"))
    lines = [
        "# Fleet report: IAM roles for tasks on Windows ECS container instances",
        "",
        "Target %s, generated %s by `ecs_windows.task_iam.verify`."
        % (_code(report["target"]), _md(report["generated"]) or "-"),
        "",
        "**%s.**" % _md(report["summary"]["text"]),
    ]
    if ecs_view:
        ecs = report["summary"]["ecs"]
        statuses = ", ".join("%d %s" % (n, _md(status)) for status, n in sorted(ecs["status"].items()))
        lines += [
            "",
            "ECS: %s; %d agents disconnected, %d quarantined, %d tasks running, %d pending%s."
            % (
                statuses or "no container instance found",
                ecs["agent_disconnected"],
                ecs["quarantined"],
                ecs["running_tasks"],
                ecs["pending_tasks"],
                "; %d hosts without the ECS view" % ecs["without_ecs_view"] if ecs["without_ecs_view"] else "",
            ),
        ]
    groups = report.get("findings") or []
    if groups:
        lines += ["", "## By finding"]
        for group in groups:
            plural = "" if group["count"] == 1 else "s"
            lines += [
                "",
                "### %s: %d host%s" % (_code(group["code"]), group["count"], plural),
                "",
                "Next step: %s. On %s: %s"
                % (_code(group["next_step"]), _code(group["example_host"]), _md(group["message"]) or "-"),
                "",
                "Hosts: %s" % ", ".join(_code(host) for host in group["hosts"]),
            ]
            for variant in group["fixes"]:
                intro = (
                    "Fix"
                    if len(group["fixes"]) == 1
                    else "Fix for %s" % ", ".join(_code(host) for host in variant["hosts"])
                )
                if group["code"] in _NOT_CHECKED:
                    lines += ["", "%s: %s" % (intro, _md(variant["fix"]))]
                else:
                    lines += ["", intro + ":", ""] + _fenced(variant["fix"])
    header = ["Host", "Health", "Findings", "Cause", "Next step", "Heals at boot"]
    if ecs_view:
        header += ["ECS status", "Agent connected", "Tasks running / pending", "Quarantined"]
    lines += ["", "## Hosts", "", "| %s |" % " | ".join(header), "|%s" % ("---|" * len(header))]
    for row in report["hosts"]:
        cells = [
            _cell(row["host"]),
            row["health"],
            _cell(", ".join(row["findings"])),
            _cell(row["cause"]),
            _code(row["next_step"], cell=True) if row["next_step"] else "-",
            _heals_at_boot(row),
        ]
        if ecs_view:
            cells += [_cell(value) for value in ecs_cells(row)]
        lines.append("| %s |" % " | ".join(cells))
    detailed = [row for row in report["hosts"] if len(row["details"]) > 1]
    if detailed:
        lines += ["", "## Every finding of hosts with more than one", ""]
        for row in detailed:
            lines += ["### %s" % _md(row["host"]), ""]
            for finding in row["details"]:
                lines += ["- %s: %s Fix:" % (_code(finding["code"]), _md(finding["message"])), ""]
                lines += ["  " + line for line in _fenced(finding["fix"])] + [""]
    errors = [row for row in report["hosts"] if row.get("cause_detail")]
    if errors:
        lines += ["", "## Errors in full", ""]
        for row in errors:
            lines += ["### %s (%s)" % (_md(row["host"]), row["health"]), ""] + _fenced(row["cause_detail"]) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def fleet_report_html(report: Any) -> str:
    """The fleet report as one self-contained HTML page (inline CSS and script, every value escaped)."""
    return render_html(_check_report(report, "fleet_report_html"))


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "fleet_report": fleet_report,
            "fleet_report_markdown": fleet_report_markdown,
            "fleet_report_html": fleet_report_html,
        }
