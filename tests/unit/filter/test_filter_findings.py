# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-line words of the roles and playbooks: recover's outcome per host, the boot-time repair's state, the
rolling reboot's verdict. (Through ansible-playbook: tests/integration/test_roles_playbooks.py and
tests/integration/ecs/test_rolling_reboot.py.)"""

from __future__ import annotations

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.filter import findings as ff

BOOT = 133_000_000_000_000_000
FACTS = {"host": {"hostname": "EC2AMAZ-1", "boot_id": BOOT, "boot_time": "2026-03-01T04:00:00Z"},
         "registration": {"reachable": True, "cluster": "prod", "container_instance_arn": None},
         "boot_recovery": {"installed": True, "enabled": True, "last": None}}
IIS = {"code": "port80_in_use", "message": "port 80 is held by W3SVC", "fix": "stop IIS"}
NAT = {"code": "duplicate_nat_adapters", "message": "two nat adapters", "fix": "rename one"}


def proxy(**keys):
    """A credential_proxy result as recover registers it (failed_when: false clears `failed`)."""
    return dict({"changed": False, "facts": FACTS, "findings": [], "healthy": True, "cause": "healthy",
                 "repaired": False, "commands": 1}, **keys)


@pytest.mark.parametrize("result, line", [
    (proxy(), "healthy, nothing to repair"),
    (proxy(changed=True, repaired=True, cause="stale_after_reboot"), "repaired (cause: stale_after_reboot)"),
    # a refusal: msg, and the findings that stopped it
    (proxy(msg="port 80 is held ...", findings=[IIS], healthy=None, cause="port80_in_use"),
     "not repaired by recover: port80_in_use (fix: stop IIS)"),
    # healthy proxy, broken for another reason
    (proxy(findings=[NAT, IIS], healthy=False), "not repaired by recover: duplicate_nat_adapters, port80_in_use "
                                                "(fix: rename one)"),
    (proxy(msg="WinRM 500 while running init_agent", findings=None), "not repaired: WinRM 500 while running init_agent"),
    ({"unreachable": True, "msg": "connection refused"}, "unreachable: connection refused"),
    (None, "not checked: the host left the play before the repair"),
])
def test_recover_outcome(result, line):
    assert ff.recover_outcome(result) == line


def test_recover_outcome_when_the_response_of_the_repair_was_lost():
    line = ff.recover_outcome({"unreachable": True, "response_lost": True, "changed": False,
                               "msg": "connection to h failed while running init_agent (ConnectionError: reset)"})
    assert line.startswith("repair sent, outcome unknown: the connection was lost after the repair was sent (")
    assert line.endswith("run verify to see the host's state")


def test_an_informational_finding_does_not_make_recover_say_broken():
    note = {"code": "ecs_instance_draining", "message": "drained by someone", "fix": "...", "informational": True}
    assert ff.recover_outcome(proxy(findings=[note])) == "healthy, nothing to repair"


def test_boot_repair_state():
    assert ff.boot_repair_state(dict(FACTS)) == "pending"
    done = dict(FACTS, boot_recovery={"installed": True, "enabled": True,
                                      "last": {"boot_id": BOOT + 3 * 10_000_000, "action": "repaired"}})
    assert ff.boot_repair_state(done) == "done"
    started = dict(FACTS, boot_recovery={"installed": True, "enabled": True,
                                         "last": {"boot_id": BOOT, "action": "started"}})
    assert ff.boot_repair_state(started) == "pending"
    earlier = dict(FACTS, boot_recovery={"installed": True, "enabled": True,
                                         "last": {"boot_id": BOOT - 3600 * 10_000_000, "action": "none"}})
    assert ff.boot_repair_state(earlier) == "pending"
    assert ff.boot_repair_state(dict(FACTS, boot_recovery={"installed": False})) == "not_installed"
    assert ff.boot_repair_state({"unreachable": True}) == "unknown"


def test_reboot_outcome():
    assert ff.reboot_outcome(dict(FACTS, findings=[], healthy=True)) == {
        "healthy": True, "line": "rebooted (boot at 2026-03-01T04:00:00Z) and healthy"}
    repaired = ff.reboot_outcome(dict(FACTS, findings=[], healthy=True, repaired=True, cause="stale_after_reboot"))
    assert repaired["line"].endswith("credential_proxy repaired it (cause: stale_after_reboot)")
    broken = ff.reboot_outcome(dict(FACTS, findings=[IIS], healthy=False))
    assert broken == {"healthy": False, "line": "unhealthy after its reboot [port80_in_use]: port 80 is held by W3SVC "
                                                "Fix: stop IIS"}
    assert ff.reboot_outcome({"unreachable": True, "msg": "[Errno 111] Connection refused"})["line"] == (
        "unreachable after its reboot: Connection refused")
    assert ff.reboot_outcome(dict(FACTS, findings=[], healthy=True), "its tasks did not leave") == {
        "healthy": False, "line": "not rebooted: its tasks did not leave"}
