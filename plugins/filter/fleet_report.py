# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report of the verify playbook: one row per host with its health, cause and fix."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# What to run for a finding, in the order a human should deal with them: a host problem the collection
# refuses to touch blocks everything else, an agent that is not set up blocks the proxy, and so on.
_NEXT_STEP = (
    ("port80_in_use", "manual"),
    ("agent_port_excluded", "manual"),
    ("duplicate_nat_adapters", "manual"),
    ("ecstools_missing", "configure"),
    ("agent_not_initialized", "configure"),
    ("task_iam_disabled", "configure"),
    ("agent_not_registered", "configure"),
    ("no_proxy_missing", "configure"),
    ("agent_not_running", "recover"),
    ("proxy_missing", "recover"),
    ("proxy_stale_after_reboot", "recover"),
    ("proxy_dead_rule", "recover"),
    ("boot_recovery_failed", "recover"),
    ("container_routes_missing", "bootstrap_containers"),
    ("cluster_mismatch", "manual"),
    ("docker_not_answering", "manual"),
    ("agent_init_pending", "configure"),
    ("boot_task_outdated", "configure"),
    ("boot_folder_insecure", "configure"),
    ("imds_fallback_risk", "configure"),
    ("task_credentials_failing", "recover"),
)
_RANK = dict((code, index) for index, (code, dummy) in enumerate(_NEXT_STEP))
_PLAYBOOK = dict(_NEXT_STEP)
_HEALTH_ORDER = ("unreachable", "error", "broken", "healthy")

UNREACHABLE_FIX = (
    "Check that the instance is running and that WinRM answers (address, port, credentials, security group); "
    "a host that is rebooting answers again in a few minutes. Then run verify again."
)
ERROR_FIX = "Run verify again with -vvv to see the WinRM command and its output."


def _step(code):
    playbook = _PLAYBOOK.get(code, "manual")
    if playbook == "manual":
        return "manual (see fix)"
    return "ansible-playbook ecs_windows.task_iam.%s" % playbook


def _one_line(text):
    return " ".join(str(text or "").split())


def _healed_at_boot(result):
    """Time of the boot-time repair of the current boot, or None when the startup task repaired nothing."""
    last = (result.get("boot_recovery") or {}).get("last") or {}
    boot_id = (result.get("host") or {}).get("boot_id")
    if last.get("action") == "repaired" and boot_id is not None and last.get("boot_id") == boot_id:
        return last.get("time") or "this boot"
    return None


def host_row(host, result):
    """The report row of one host from its instance_info result (None when the host was never checked)."""
    if result is None:
        result = {"unreachable": True, "msg": "the host was not checked (it left the play before verify ran)"}
    if not isinstance(result, dict):
        raise AnsibleFilterError("fleet_report: the result of %s must be a dict, got %s" % (host, type(result).__name__))
    row = {
        "host": host,
        "health": "healthy",
        "findings": [],
        "cause": "",
        "fix": "",
        "next_step": "",
        "details": [],
        "hostname": (result.get("host") or {}).get("hostname"),
        "boot_time": (result.get("host") or {}).get("boot_time"),
        "cluster": (result.get("registration") or {}).get("cluster"),
        "on_boot": (result.get("boot_recovery") or {}).get("installed"),
        "healed_at_boot": _healed_at_boot(result),
    }
    if result.get("unreachable"):
        row.update(health="unreachable", cause=_one_line(result.get("msg")) or "unreachable",
                   fix=UNREACHABLE_FIX, next_step="ansible-playbook ecs_windows.task_iam.verify")
    elif result.get("failed") or "healthy" not in result:
        row.update(health="error", cause=_one_line(result.get("msg")) or "instance_info returned no result",
                   fix=ERROR_FIX, next_step="ansible-playbook ecs_windows.task_iam.verify -vvv")
    elif not result["healthy"] or result.get("findings"):
        details = [
            {"code": f.get("code"), "message": _one_line(f.get("message")), "fix": _one_line(f.get("fix"))}
            for f in result.get("findings") or []
        ]
        if not details:
            details = [{"code": "unknown", "message": "instance_info reported the host unhealthy without a finding",
                        "fix": ERROR_FIX}]
        first = min(details, key=lambda f: _RANK.get(f["code"], len(_RANK)))
        row.update(health="broken", findings=[f["code"] for f in details], details=details,
                   cause=first["message"], fix=first["fix"], next_step=_step(first["code"]))
    row["summary"] = _summary(row)
    return row


def _summary(row):
    if row["health"] == "healthy":
        return "%s: healthy" % row["host"]
    codes = " [%s]" % ", ".join(row["findings"]) if row["findings"] else ""
    return "%s: %s%s: %s Fix: %s" % (row["host"], row["health"], codes, row["cause"], row["fix"])


def fleet_report(results, target="windows_ecs", generated=None):
    """The fleet report from a mapping inventory host -> registered instance_info result."""
    if not isinstance(results, dict):
        raise AnsibleFilterError("fleet_report expects a dict of host -> instance_info result, got %s"
                                 % type(results).__name__)
    rows = [host_row(host, results[host]) for host in results]
    rows.sort(key=lambda r: (_HEALTH_ORDER.index(r["health"]), r["host"]))
    counts = dict((health, sum(1 for r in rows if r["health"] == health)) for health in _HEALTH_ORDER)
    text = "%d hosts: %d healthy, %d broken, %d unreachable" % (
        len(rows), counts["healthy"], counts["broken"], counts["unreachable"])
    if counts["error"]:
        text += ", %d failed to answer" % counts["error"]
    summary = dict(counts, hosts=len(rows), text=text)
    return {"target": target, "generated": generated, "summary": summary, "hosts": rows}


def _heals_at_boot(row):
    if row["healed_at_boot"]:
        return "yes (repaired itself at %s)" % _cell(row["healed_at_boot"])
    return {True: "yes", False: "no"}.get(row["on_boot"], "-")


def _md(text):
    """Text for Markdown: `<cluster>` must not vanish as an HTML tag."""
    return _one_line(text).replace("<", "\\<")


def _cell(text):
    return _md(text).replace("|", "\\|") or "-"


def fleet_report_markdown(report):
    """The fleet report as a Markdown page (a table for every host, then the details of the unhealthy ones)."""
    if not isinstance(report, dict) or "hosts" not in report:
        raise AnsibleFilterError("fleet_report_markdown expects the output of ecs_windows.task_iam.fleet_report")
    lines = [
        "# Fleet report: IAM roles for tasks on Windows ECS container instances",
        "",
        "Target `%s`, generated %s by `ecs_windows.task_iam.verify`." % (report["target"], report["generated"] or "-"),
        "",
        "**%s.**" % report["summary"]["text"],
        "",
        "| Host | Health | Findings | Cause | Fix | Next step | Heals at boot |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["hosts"]:
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            _cell(row["host"]), row["health"], _cell(", ".join(row["findings"])),
            _cell(row["cause"]), _cell(row["fix"]), _cell(row["next_step"] and "`%s`" % row["next_step"]),
            _heals_at_boot(row)))
    detailed = [row for row in report["hosts"] if len(row["details"]) > 1]
    if detailed:
        lines += ["", "## Every finding of hosts with more than one", ""]
        for row in detailed:
            lines.append("### %s" % row["host"])
            lines.append("")
            for finding in row["details"]:
                lines.append("- `%s`: %s Fix: %s" % (finding["code"], _md(finding["message"]), _md(finding["fix"])))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "fleet_report": fleet_report,
            "fleet_report_markdown": fleet_report_markdown,
        }
