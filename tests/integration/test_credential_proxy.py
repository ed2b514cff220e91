# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_windows.task_iam.credential_proxy through real ansible-playbook runs against simulated hosts.

One simulator, one host per story, three phases (one ansible-playbook run each); between phases 2 and 3 the
on_boot host reboots and must heal itself without Ansible.
"""

from __future__ import annotations

import pytest

from configure_plays import control, reboot, run_phase, setup, task

BOOT_DELAY = 3  # seconds the simulated boot task really waits after the reboot
STALE, DEAD, DOWN, IIS, EXCLUDED, FRESH, BOOT, BAD, DUPNAT, APIPA, FAIL = ("ecs-sim-%03d" % n for n in range(1, 12))
REPAIR = {"init_retry_delay": 0}
BOOT_TASK = ("\\ecs_windows.task_iam\\", "Recover-ECSCredentialProxy")
BOOT_SCRIPT = "C:\\ProgramData\\Amazon\\ECS\\ecs_windows.task_iam\\recover-credential-proxy.ps1"
BAD_ARGS = {
    "absent-with-on-boot": ({"state": "absent", "on_boot": True}, "on_boot: true cannot be combined with state: absent"),
    "delay-type": ({"boot_delay": "soon"}, "boot_delay"),
    "state-choice": ({"state": "fixed"}, "value of state must be one of: healthy, absent"),
    "timeout-range": ({"registration_timeout": 7200}, "registration_timeout must be 0 to 3600, got 7200"),
}


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=11)
    for host in (STALE, DEAD, DOWN, IIS, EXCLUDED, BOOT, DUPNAT, FAIL):
        setup(sim, host, "init-agent=windows")
    setup(sim, APIPA, "apipa-adapter=on")
    setup(sim, APIPA, "init-agent=windows")
    setup(sim, DOWN, "agent=stopped")
    setup(sim, IIS, "iis=on")
    setup(sim, EXCLUDED, "excluded-port=51679", "agent=stopped")
    setup(sim, EXCLUDED, "agent=running")
    setup(sim, DUPNAT, "duplicate-nat=on")
    for host in (STALE, DEAD, DUPNAT, APIPA, FAIL):
        reboot(sim, host)
    control(sim, "fault", FAIL, kind="init-adapter-not-found", count=1, ms=None)
    setup(sim, DEAD, "init-agent=windows")  # initialising on top of the stale rule: the dead-rule trap
    return sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("credential_proxy")


@pytest.fixture(scope="module")
def phase1(sim, workdir):
    return run_phase(sim, workdir, {
        STALE: [task("credential_proxy", REPAIR, check_mode=True, diff=True)],
        DEAD: [task("credential_proxy", REPAIR)],
        DOWN: [task("credential_proxy", REPAIR)],
        IIS: [task("credential_proxy", REPAIR, ignore_errors=True)],
        EXCLUDED: [task("credential_proxy", REPAIR, ignore_errors=True)],
        FRESH: [task("credential_proxy", REPAIR, ignore_errors=True)],
        BOOT: [task("credential_proxy", dict(REPAIR, on_boot=True, boot_delay=BOOT_DELAY), diff=True)],
        BAD: [task("credential_proxy", args, name=name, ignore_errors=True) for name, (args, _msg) in BAD_ARGS.items()],
        DUPNAT: [task("credential_proxy", REPAIR, ignore_errors=True)],
        APIPA: [task("credential_proxy", REPAIR)],
        FAIL: [task("credential_proxy", dict(REPAIR, init_attempts=1), ignore_errors=True)],
    })


@pytest.fixture(scope="module")
def phase2(sim, workdir, phase1):
    return run_phase(sim, workdir, {
        STALE: [task("credential_proxy", REPAIR, diff=True)],
        DEAD: [task("credential_proxy", REPAIR)],
        BOOT: [task("credential_proxy", dict(REPAIR, on_boot=True, boot_delay=BOOT_DELAY))],
        FAIL: [task("credential_proxy", REPAIR)],
    })


@pytest.fixture(scope="module")
def rebooted_boot_host(sim, phase2):
    """The on_boot host after a reboot, before any Ansible run: (state before reboot, state after)."""
    before = control(sim, "state", BOOT)
    reboot(sim, BOOT)
    return before, control(sim, "state", BOOT)


@pytest.fixture(scope="module")
def phase3(sim, workdir, rebooted_boot_host):
    return run_phase(sim, workdir, {
        STALE: [task("credential_proxy", REPAIR)],
        BOOT: [task("credential_proxy", dict(REPAIR, on_boot=True, boot_delay=BOOT_DELAY), name="after reboot"),
               task("credential_proxy", REPAIR, name="on_boot omitted"),
               task("credential_proxy", {"state": "absent"}, diff=True)],
    })


def proxy_rules(state):
    return [r for r in state["portproxy"] if r["listen_address"] == "169.254.170.2"]


# --- stale after reboot: check mode, repair with diff, idempotence ------------------------------------------


def test_check_mode_reports_the_stale_proxy_and_changes_nothing(phase1):
    result = phase1.result(STALE)
    assert phase1.status(STALE) == "ok" and result["changed"] is True
    assert result["cause"] == "stale_after_reboot" and result["repaired"] is False
    assert "unreachable network" in result["reason"]
    assert phase1.commands[STALE] == result["commands"] == 1
    assert phase1.states[STALE] == phase1.before[STALE]
    assert result["diff"]["before"]["endpoint"].startswith("broken (stale_after_reboot)")
    assert result["diff"]["after"]["endpoint"] == "healthy"


def test_stale_proxy_is_repaired_in_one_run_of_two_commands(phase2):
    result = phase2.result(STALE)
    assert phase2.status(STALE) == "ok", phase2.run
    assert result["changed"] is True and result["cause"] == "stale_after_reboot" and result["repaired"] is True
    assert result["changes"][0] == "remove the broken proxy pieces (stale_after_reboot): portproxy 169.254.170.2:80 -> 127.0.0.1:51679"
    assert result["changes"][1].startswith("re-initialise the agent with its current settings (Initialize-ECSAgent -Cluster windows "
                                           "-EnableTaskIAMRole)")
    assert result["facts"]["endpoints"]["proxy"] == {"ok": True, "status": 400, "code": "NoIdInRequest", "error": None}
    assert phase2.commands[STALE] == result["commands"] == 2
    assert "--- before" in phase2.run.stdout
    assert [r["live"] for r in proxy_rules(phase2.states[STALE])] == [True]


def test_repair_touches_nothing_it_did_not_identify(phase2):
    before, after = phase2.before[STALE], phase2.states[STALE]
    assert after["adapters"] == before["adapters"]
    assert after["firewall_rules"] == before["firewall_rules"]
    assert [a for a in after["ip_addresses"] if a["ip_address"] != "169.254.170.2"] == \
        [a for a in before["ip_addresses"] if a["ip_address"] != "169.254.170.2"]
    assert after["machine_env"] == before["machine_env"]


def test_healthy_proxy_costs_one_command_and_changes_nothing(phase3):
    result = phase3.result(STALE)
    assert result["changed"] is False and result["cause"] == "healthy" and result["repaired"] is False
    assert phase3.commands[STALE] == result["commands"] == 1
    assert phase3.states[STALE] == phase3.before[STALE]


# --- other causes it repairs ---------------------------------------------------------------------------------


def test_dead_rule_is_deleted_before_reinitialising(phase1, phase2):
    result = phase1.result(DEAD)
    assert phase1.before[DEAD]["derived"]["proxy_endpoint"]["ok"] is False and proxy_rules(phase1.before[DEAD])[0]["live"] is False
    assert phase1.status(DEAD) == "ok", phase1.run
    assert result["cause"] == "dead_rule" and result["repaired"] is True
    assert "portproxy 169.254.170.2:80 -> 127.0.0.1:51679" in result["changes"][0] and "IP 169.254.170.2/32" in result["changes"][0]
    assert [r["live"] for r in proxy_rules(phase1.states[DEAD])] == [True]
    assert phase1.commands[DEAD] == 2
    assert phase2.result(DEAD)["changed"] is False and phase2.commands[DEAD] == 1


def test_stopped_agent_is_started_first(phase1):
    result = phase1.result(DOWN)
    assert phase1.status(DOWN) == "ok", phase1.run
    assert result["cause"] == "agent_down" and result["repaired"] is True
    assert not [c for c in result["changes"] if c.startswith("remove")]  # starting the agent was enough
    assert proxy_rules(phase1.states[DOWN]) == proxy_rules(phase1.before[DOWN])
    assert phase1.commands[DOWN] == 2


def test_legacy_apipa_vnic_is_removed_with_the_stale_rule(phase1):
    result = phase1.result(APIPA)
    assert phase1.before[APIPA]["derived"]["proxy_endpoint"]["ok"] is False
    assert phase1.status(APIPA) == "ok", phase1.run
    assert "vNIC 'vEthernet (APIPA)'" in result["changes"][0]
    assert result["facts"]["proxy"]["apipa_adapter"] is None and result["repaired"] is True
    assert [a["name"] for a in phase1.states[APIPA]["adapters"]] == ["Ethernet", "vEthernet (nat)"]


def test_a_failed_repair_is_reported_and_the_next_run_completes_it(phase1, phase2):
    result = phase1.result(FAIL)
    assert phase1.status(FAIL) == "failed" and result["changed"] is True  # the stale rule was already deleted
    assert "op init_agent failed" in result["msg"] and "VMNetwork adapter 'vEthernet (nat)*' not found" in result["msg"]
    assert proxy_rules(phase1.states[FAIL]) == [] and phase1.commands[FAIL] == 2
    result = phase2.result(FAIL)
    assert phase2.status(FAIL) == "ok", phase2.run
    assert result["cause"] == "missing" and result["repaired"] is True and phase2.commands[FAIL] == 2


# --- refusals: nothing changed, the remedy in the message ------------------------------------------------------


@pytest.mark.parametrize("host, cause, remedy", [
    (IIS, "port80_in_use", "name: W3SVC, state: stopped, start_mode: disabled"),
    (EXCLUDED, "agent_port_excluded", "netsh int ipv4 add excludedportrange protocol=tcp startport=51678 numberofports=2"),
    (FRESH, "agent_not_initialized", "run ecs_windows.task_iam.agent"),
    (DUPNAT, "duplicate_nat_adapters", "Rename-NetAdapter -Name 'vEthernet (nat) 2'"),
], ids=["iis", "excluded-51679", "not-initialised", "duplicate-nat"])
def test_refuses_what_it_cannot_fix_with_the_remedy(phase1, host, cause, remedy):
    result = phase1.result(host)
    assert phase1.status(host) == "failed" and result["changed"] is False
    assert result["cause"] == cause and cause in [f["code"] for f in result["findings"]]
    assert remedy in result["msg"] and "Fix:" in result["msg"]
    assert phase1.commands[host] == result["commands"] == 1
    assert phase1.states[host] == phase1.before[host]


def test_bad_arguments_fail_before_any_winrm_command(sim, phase1):
    for name, (_args, message) in BAD_ARGS.items():
        result = phase1.result(BAD, name)
        assert phase1.status(BAD, name) == "failed"
        assert result["msg"].startswith("invalid arguments for ecs_windows.task_iam.credential_proxy: ") and message in result["msg"]
    assert phase1.commands[BAD] == 0 and control(sim, "counters", BAD)["http_requests"] == 0


# --- on_boot: the startup task, idempotence, self-healing reboot, teardown ----------------------------------------


def test_on_boot_installs_the_startup_task(phase1):
    result = phase1.result(BOOT)
    assert phase1.status(BOOT) == "ok" and result["changed"] is True and result["cause"] == "healthy"
    task_ = [t for t in phase1.states[BOOT]["scheduled_tasks"] if (t["path"], t["name"]) == BOOT_TASK]
    assert len(task_) == 1 and task_[0]["at_startup"] and task_[0]["delay"] == "PT%dS" % BOOT_DELAY and task_[0]["user"] == "SYSTEM"
    assert task_[0]["arguments"] == '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % BOOT_SCRIPT
    assert BOOT_SCRIPT in phase1.states[BOOT]["files"]
    assert result["diff"]["before"]["boot_task"] is None and result["diff"]["after"]["boot_task"]["task"]["delay"] == "PT%dS" % BOOT_DELAY
    assert result["boot_recovery"]["installed"] is True
    assert phase1.commands[BOOT] == 2


def test_on_boot_is_idempotent(phase2):
    assert phase2.result(BOOT)["changed"] is False and phase2.commands[BOOT] == 1


def test_a_reboot_heals_itself_without_ansible(rebooted_boot_host):
    before, after = rebooted_boot_host
    assert after["boot_id"] != before["boot_id"]
    assert after["derived"]["proxy_endpoint"]["ok"] is True
    runs = {run["task"]: run for run in after["last_boot_runs"]}
    assert list(runs) == ["\\Initialize-ECSHostReboot", "\\ecs_windows.task_iam\\Recover-ECSCredentialProxy"]
    ops = runs["\\ecs_windows.task_iam\\Recover-ECSCredentialProxy"]["output"]["results"]
    assert [op["op"] for op in ops] == ["wait_task_idle", "recover_proxy"]
    assert ops[1]["result"]["action"] == "repaired" and ops[1]["result"]["removed"] == ["portproxy 169.254.170.2:80"]


def test_after_the_self_healing_reboot_ansible_finds_nothing_to_do(phase3):
    result = phase3.result(BOOT, "after reboot")
    assert result["changed"] is False and result["cause"] == "healthy"
    assert result["boot_recovery"]["last"]["action"] == "repaired"


def test_a_repair_without_on_boot_keeps_the_startup_task(phase3):
    result = phase3.result(BOOT, "on_boot omitted")
    assert phase3.status(BOOT, "on_boot omitted") == "ok" and result["changed"] is False and result["changes"] == []
    assert result["boot_recovery"]["installed"] is True


def test_absent_removes_the_proxy_pieces_and_the_startup_task(phase3):
    result = phase3.result(BOOT, "credential_proxy")
    assert phase3.status(BOOT, "credential_proxy") == "ok" and result["changed"] is True
    state = phase3.states[BOOT]
    assert proxy_rules(state) == [] and not [a for a in state["ip_addresses"] if a["ip_address"] == "169.254.170.2"]
    assert not [r for r in state["firewall_rules"] if r["display_name"] == "Allow Inbound Port 51679"]
    assert not [t for t in state["scheduled_tasks"] if (t["path"], t["name"]) == BOOT_TASK] and BOOT_SCRIPT not in state["files"]
    assert [t["name"] for t in state["scheduled_tasks"]] == ["Initialize-ECSHostReboot"]  # ECSTools' own task stays
    assert result["diff"]["after"]["pieces"] == {"portproxy": [], "ip_bindings": [], "apipa_adapter": None, "firewall_rules": []}
    assert phase3.commands[BOOT] == 1 + 1 + 2
