# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify playbook's fleet report: one row per host with the right health, cause and fix."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.ecs_windows.task_iam.plugins.filter import fleet_report as fr


def finding(code, message="msg of " + "x", fix="fix it"):
    return {"code": code, "message": message, "fix": fix}


HEALTHY = {"changed": False, "healthy": True, "findings": [], "host": {"hostname": "EC2AMAZ-1", "boot_time": "t"},
           "registration": {"cluster": "prod"}, "boot_recovery": {"installed": True}}
STALE = {"changed": False, "healthy": False, "boot_recovery": {"installed": False},
         "findings": [finding("proxy_stale_after_reboot", "169.254.170.2 is not bound since the reboot.",
                              "Run ecs_windows.task_iam.recover.")]}
IIS_AND_STALE = {"changed": False, "healthy": False,
                 "findings": [finding("proxy_dead_rule", "A dead rule holds port 80.", "Recover."),
                              finding("port80_in_use", "IIS (W3SVC) listens on 0.0.0.0:80.",
                                      "Stop W3SVC | bind IIS to <host ip>.")]}
UNREACHABLE = {"unreachable": True, "msg": "ntlm: HTTPConnectionPool(host='127.0.0.5', port=5985)\n refused",
               "changed": False}
FAILED = {"failed": True, "msg": "probe: internal error"}


def test_rows_sorted_and_counted():
    report = fr.fleet_report({"h-ok": HEALTHY, "h-stale": STALE, "h-down": UNREACHABLE, "h-iis": IIS_AND_STALE,
                              "h-err": FAILED, "h-none": None}, target="windows_ecs", generated="2026-01-01T00:00:00Z")
    assert [r["host"] for r in report["hosts"]] == ["h-down", "h-none", "h-err", "h-iis", "h-stale", "h-ok"]
    assert report["summary"] == {"hosts": 6, "healthy": 1, "broken": 2, "unreachable": 2, "error": 1,
                                 "text": "6 hosts: 1 healthy, 2 broken, 2 unreachable, 1 failed to answer"}


def test_broken_row_names_the_most_fundamental_finding():
    row = fr.host_row("h-iis", IIS_AND_STALE)
    assert row["health"] == "broken"
    assert row["findings"] == ["proxy_dead_rule", "port80_in_use"]
    assert row["cause"] == "IIS (W3SVC) listens on 0.0.0.0:80."
    assert row["fix"] == "Stop W3SVC | bind IIS to <host ip>."
    assert row["next_step"] == "manual (see fix)"
    assert len(row["details"]) == 2


def test_stale_row_points_at_recover():
    row = fr.host_row("h", STALE)
    assert (row["health"], row["findings"], row["next_step"], row["on_boot"]) == (
        "broken", ["proxy_stale_after_reboot"], "ansible-playbook ecs_windows.task_iam.recover", False)
    assert row["summary"] == ("h: broken [proxy_stale_after_reboot]: 169.254.170.2 is not bound since the reboot. "
                              "Fix: Run ecs_windows.task_iam.recover.")


def test_unreachable_and_error_rows():
    row = fr.host_row("h", UNREACHABLE)
    assert row["health"] == "unreachable"
    assert row["cause"] == "ntlm: HTTPConnectionPool(host='127.0.0.5', port=5985) refused"
    assert row["fix"] == fr.UNREACHABLE_FIX
    assert fr.host_row("h", FAILED)["health"] == "error"
    assert fr.host_row("h", None)["health"] == "unreachable"


def test_healed_at_boot_only_counts_the_current_boot():
    last = {"time": "2026-01-01T10:00:05Z", "boot_id": 7, "action": "repaired"}
    healed = dict(HEALTHY, host={"boot_id": 7}, boot_recovery={"installed": True, "last": last})
    assert fr.host_row("h", healed)["healed_at_boot"] == "2026-01-01T10:00:05Z"
    older = dict(healed, host={"boot_id": 8})
    assert fr.host_row("h", older)["healed_at_boot"] is None
    nothing = dict(healed, boot_recovery={"installed": True, "last": dict(last, action="none")})
    assert fr.host_row("h", nothing)["healed_at_boot"] is None
    text = fr.fleet_report_markdown(fr.fleet_report({"h": healed}))
    assert "| h | healthy | - | - | - | - | yes (repaired itself at 2026-01-01T10:00:05Z) |" in text


def test_healthy_row():
    row = fr.host_row("h", HEALTHY)
    assert (row["health"], row["findings"], row["cause"], row["cluster"], row["on_boot"]) == (
        "healthy", [], "", "prod", True)


def test_markdown_table_escapes_cells_and_lists_details():
    report = fr.fleet_report({"h-ok": HEALTHY, "h-iis": IIS_AND_STALE}, generated="G")
    text = fr.fleet_report_markdown(report)
    lines = text.splitlines()
    assert "**2 hosts: 1 healthy, 1 broken, 0 unreachable.**" in lines
    iis = [line for line in lines if line.startswith("| h-iis |")][0]
    assert iis.count(" | ") == 6  # 7 columns, the "|" inside the cause is escaped
    assert "Stop W3SVC \\| bind IIS to \\<host ip>." in iis
    assert "| h-ok | healthy | - | - | - | - | yes |" in lines
    assert "### h-iis" in lines
    assert text.endswith("\n")


@pytest.mark.parametrize("bad", [[], "x", None])
def test_bad_input_is_refused(bad):
    with pytest.raises(AnsibleFilterError):
        fr.fleet_report(bad)
    with pytest.raises(AnsibleFilterError):
        fr.fleet_report_markdown(bad)


def test_every_finding_code_has_a_next_step():
    from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._findings import CODES

    assert sorted(fr._PLAYBOOK) == sorted(CODES)
