# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential proxy diagnosis and the credential_proxy planner (pure: probe facts + args -> plan)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

import plan_scenarios as sc
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _agent_settings, _boot_task, _host, _plan, _proxy, _script
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_proxy as pp

ARGS = {"state": "healthy", "on_boot": False, "boot_delay": 30, "registration_timeout": 300, "init_attempts": 5, "init_retry_delay": 10,
        "init_timeout": 900}
SETTINGS = {"cluster": "windows", "enable_task_iam_role": True, "version": None, "logging_drivers": None, "enable_task_eni": False,
            "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None}
RECOVER = _boot_task.recover_args(5, 10, 300, 900)
GUARD = "wait_task_idle"


def args(**kw):
    return pp.check_args(dict(ARGS, **kw))


ops, call = sc.ops, sc.call


def batch_of(script):
    return json.loads(base64.b64decode(re.search(r"^\$EcsBatch = '([^']*)'$", script, re.M).group(1)))


def installed_boot_task(facts, script, delay="PT30S", arguments=_host.BOOT_TASK_ARGUMENTS, limit=None, principal="SYSTEM"):
    """facts of a host with the boot task installed from `script`, as the probe reports it."""
    facts["scheduled_tasks"].append({
        "path": _host.BOOT_TASK_PATH, "name": _host.BOOT_TASK_NAME, "state": "Ready", "enabled": True, "at_startup": True,
        "delay": delay, "execute": "PowerShell.exe", "arguments": arguments, "principal": principal,
        "execution_limit": limit or "PT%dS" % _boot_task.execution_limit_s(RECOVER), "last_run_time": None, "last_result": None,
        "registered_time": "2024-12-01T10:00:00Z"})
    facts["boot"].update(folder=dict(sc.pd.TRUSTED_ACL), script=dict(sc.pd.TRUSTED_ACL, protected=False),
                         script_sha256=hashlib.sha256(b"\xef\xbb\xbf" + script.encode("utf-8")).hexdigest(),
                         script_batch=batch_of(script) if "$EcsBatch" in script else None)
    return sc.valid(facts)


# --- diagnosis ---------------------------------------------------------------------------------------


def test_healthy_endpoint_is_healthy_whatever_the_pieces():
    facts = sc.configured()
    facts["proxy"]["firewall_rules"] = []
    assert _proxy.diagnose(facts).cause == "healthy"
    plan = pp.plan(facts, args())
    assert plan.calls == [] and plan.changes == [] and plan.detail["cause"] == "healthy"


def test_stale_after_reboot_removes_only_the_rule_then_reinitialises_with_current_settings():
    plan = pp.plan(sc.stale(), args())
    assert plan.detail["cause"] == "stale_after_reboot"
    assert ops(plan) == ["remove_proxy", GUARD, "init_agent", "wait_registered"]
    assert call(plan, "remove_proxy") == {"portproxy": [{"listen_address": "169.254.170.2", "listen_port": 80}],
                                          "ip_bindings": [], "apipa_adapter": None, "firewall_rules": []}
    assert call(plan, "init_agent") == {"settings": SETTINGS, "timeout_s": 900, "attempts": 5, "retry_delay_s": 10}
    assert call(plan, "wait_registered") == {"cluster": "windows", "timeout_s": 20, "interval_s": 2}
    assert plan.waits == [_plan.Wait("windows", 300)]
    assert any("stale_after_reboot" in c and "portproxy 169.254.170.2:80 -> 127.0.0.1:51679" in c for c in plan.changes)
    assert any("Initialize-ECSAgent -Cluster windows -EnableTaskIAMRole" in c for c in plan.changes)


def test_dead_rule_removes_rule_and_binding_before_init_never_the_firewall_rule():
    plan = pp.plan(sc.dead_rule(), args())
    assert plan.detail["cause"] == "dead_rule"
    assert ops(plan) == ["remove_proxy", GUARD, "init_agent", "wait_registered"]
    removal = call(plan, "remove_proxy")
    assert removal["portproxy"] == [{"listen_address": "169.254.170.2", "listen_port": 80}]
    assert removal["ip_bindings"] == [{"ip_address": "169.254.170.2", "interface_index": 12}]
    assert removal["firewall_rules"] == []


def test_dead_rule_pointing_elsewhere_is_named():
    facts = sc.dead_rule()
    facts["proxy"]["portproxy"][0]["connect_address"] = "169.254.170.2"
    plan = pp.plan(facts, args())
    assert plan.detail["cause"] == "dead_rule" and "does not lead to the agent" in plan.detail["reason"]


def test_only_the_proxys_pieces_are_identified():
    facts = sc.stale()
    facts["proxy"]["portproxy"].append({"listen_address": "10.0.1.23", "listen_port": 8080, "connect_address": "127.0.0.1",
                                        "connect_port": 8080})
    facts["proxy"]["ip_bindings"].append({"ip_address": "169.254.10.10", "prefix_length": 16, "interface_alias": "Ethernet",
                                          "interface_index": 5, "address_state": "Preferred"})
    facts["proxy"]["firewall_rules"].append({"name": "WinRM", "display_name": "Windows Remote Management (HTTP-In)", "enabled": True,
                                             "direction": "Inbound", "protocol": "TCP", "local_port": "5985", "action": "Allow"})
    removal = call(pp.plan(sc.valid(facts), args()), "remove_proxy")
    assert removal["portproxy"] == [{"listen_address": "169.254.170.2", "listen_port": 80}]
    assert removal["ip_bindings"] == [] and removal["firewall_rules"] == []


def test_legacy_apipa_vnic_is_removed_with_the_stale_rule():
    facts = sc.stale()
    facts["proxy"]["apipa_adapter"] = "vEthernet (APIPA)"
    assert call(pp.plan(facts, args()), "remove_proxy")["apipa_adapter"] == "vEthernet (APIPA)"


def test_missing_proxy_initialises_without_removing():
    facts = sc.configured()
    facts["proxy"]["portproxy"] = []
    facts["proxy"]["ip_bindings"] = []
    facts["port80_listeners"] = []
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None, "error": sc.UNREACHABLE}
    plan = pp.plan(sc.valid(facts), args())
    assert plan.detail["cause"] == "missing"
    assert ops(plan) == [GUARD, "init_agent", "wait_registered"]


def test_stopped_agent_is_started_first_and_the_proxy_repaired_only_if_still_broken():
    # The follow-up pass of the action plans again on the verifying probe: a dead rule then gets its repair.
    plan = pp.plan(sc.agent_stopped(), args())
    assert plan.detail["cause"] == "agent_down"
    assert ops(plan) == ["service", "wait_registered"]
    assert call(plan, "service") == {"name": "AmazonECS", "start_type": None, "state": "running", "failure_restart": None,
                                     "timeout_s": 60}
    assert ops(pp.plan(sc.dead_rule(), args())) == ["remove_proxy", GUARD, "init_agent", "wait_registered"]


def test_running_agent_not_answering_is_restarted():
    facts = sc.configured()
    facts["endpoints"]["agent_tmds"] = {"ok": False, "status": None, "code": None, "error": sc.REFUSED}
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None, "error": sc.CLOSED}
    plan = pp.plan(facts, args())
    assert plan.detail["cause"] == "agent_down" and call(plan, "service")["state"] == "restarted"


def test_current_settings_come_from_the_machine_environment_whatever_the_case():
    facts = sc.stale()
    del facts["machine_env"]["ECS_CLUSTER"]
    facts["machine_env"].update(ecs_cluster="prod-a", ECS_AVAILABLE_LOGGING_DRIVERS='["json-file","awslogs"]', ECS_ENABLE_TASK_ENI="True",
                                ECS_AWSVPC_BLOCK_IMDS="false", ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES='["10.0.0.0/8"]')
    init = call(pp.plan(facts, args(init_attempts=3, init_retry_delay=0)), "init_agent")
    assert init["settings"] == dict(SETTINGS, cluster="prod-a", logging_drivers=["json-file", "awslogs"], enable_task_eni=True,
                                    awsvpc_additional_local_routes=["10.0.0.0/8"])


def test_unparseable_list_setting_is_not_passed():
    assert _agent_settings.settings_from_env({"ECS_CLUSTER": "c", "ECS_AVAILABLE_LOGGING_DRIVERS": "awslogs"})["logging_drivers"] is None
    assert _agent_settings.settings_from_env({}) is None


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("facts, code, remedy", [
    (sc.with_iis(), "port80_in_use", "W3SVC"),
    (sc.with_iis(sc.stale()), "port80_in_use", "W3SVC"),
    (sc.with_excluded(), "agent_port_excluded", "excludedportrange"),
    (sc.with_duplicate_nat(sc.stale()), "duplicate_nat_adapters", "Rename-NetAdapter"),
], ids=["iis", "iis-after-reboot", "excluded-51679", "duplicate-nat"])
def test_refuses_what_reinitialising_cannot_fix_with_the_remedy(facts, code, remedy):
    with pytest.raises(_plan.Refusal) as caught:
        pp.plan(facts, args())
    assert caught.value.problems[0]["code"] == code
    assert remedy in str(caught.value) and "Fix:" in str(caught.value)


@pytest.mark.parametrize("facts, code", [
    (sc.fresh(), "agent_not_initialized"),
    (sc.valid(dict(sc.stale(), machine_env={"ECS_CLUSTER": "windows"})), "task_iam_disabled"),
    (sc.agent_stopped(start_type="Disabled"), "agent_not_running"),
], ids=["not-initialised", "task-iam-disabled", "agent-disabled"])
def test_refuses_until_the_agent_module_ran(facts, code):
    with pytest.raises(_plan.Refusal) as caught:
        pp.plan(facts, args())
    assert code in [p["code"] for p in caught.value.problems]
    assert "ecs_windows.task_iam.agent" in str(caught.value)


def test_missing_ecstools_refused():
    facts = sc.stale()
    facts["ecstools"] = {"present": False, "version": None}
    with pytest.raises(_plan.Refusal, match="install_ecstools"):
        pp.plan(facts, args())


def test_on_boot_with_absent_is_an_argument_error():
    with pytest.raises(ValueError, match="on_boot"):
        args(state="absent", on_boot=True)


# --- boot recovery task ------------------------------------------------------------------------------


def test_boot_script_waits_for_ecstools_task_then_recovers_with_the_settings_it_finds_at_boot():
    # Nothing of the agent's settings is embedded: recover_proxy reads them from the host when it runs (issue 9.2).
    script = _boot_task.script(_boot_task.recover_args(5, 10, 120, 600))
    assert script.startswith("#ecs_windows.task_iam ops/2 ")
    batch = batch_of(script)
    assert batch["ops"] == [
        {"op": "wait_task_idle", "args": {"task_path": "\\", "task_name": "Initialize-ECSHostReboot", "timeout_s": 300,
                                          "busy_error": False}},
        {"op": "recover_proxy", "args": {"attempts": 5, "retry_delay_s": 10, "registration_timeout_s": 120, "init_timeout_s": 600,
                                         "log_path": _host.BOOT_LOG_PATH}},
    ]
    assert batch["lock"] == {"wait_s": _boot_task.LOCK_WAIT_S, "holder": _boot_task.LOCK_HOLDER}
    assert script == _script.build_script([(o["op"], o["args"]) for o in batch["ops"]], lock=batch["lock"])
    assert "-Cluster" not in script and "\"cluster\"" not in base64.b64decode(re.search(r"^\$EcsBatch = .([^']*).$", script, re.M).group(1)).decode()


def test_on_boot_installs_the_task_with_the_script_and_delay():
    plan = pp.plan(sc.configured(), args(on_boot=True, boot_delay=45))
    assert ops(plan) == ["boot_task"]
    task = call(plan, "boot_task")
    assert task["state"] == "present" and task["delay"] == "PT45S"
    assert task["script"] == _boot_task.script(RECOVER)
    # The execution limit covers every wait the script may do (issue 11.11).
    assert task["execution_limit_s"] == _boot_task.execution_limit_s(RECOVER) > 5 * 900 + 300
    assert plan.before["boot_task"] is None
    assert plan.after["boot_task"]["script_sha256"] == hashlib.sha256(b"\xef\xbb\xbf" + task["script"].encode()).hexdigest()


def test_on_boot_is_idempotent_by_script_hash_and_task_action():
    facts = installed_boot_task(sc.configured(), _boot_task.script(RECOVER))
    assert pp.plan(facts, args(on_boot=True)).calls == []


def test_a_setting_changed_later_does_not_make_the_boot_task_outdated():
    facts = installed_boot_task(sc.configured(ECS_ENABLE_TASK_ENI="true", ECS_AVAILABLE_LOGGING_DRIVERS='["awslogs"]'),
                                _boot_task.script(RECOVER))
    assert pp.plan(facts, args(on_boot=True)).calls == []


@pytest.mark.parametrize("change", ["script", "delay", "arguments", "limit", "principal", "timeouts"])
def test_on_boot_updates_a_differing_task(change):
    script = _boot_task.script(RECOVER)
    facts = installed_boot_task(sc.configured(), script + "# edited\n" if change == "script" else script,
                                delay="PT10S" if change == "delay" else "PT30S",
                                arguments="-File C:\\other.ps1" if change == "arguments" else _host.BOOT_TASK_ARGUMENTS,
                                limit="PT1H" if change == "limit" else None, principal="Administrator" if change == "principal" else "SYSTEM")
    plan = pp.plan(facts, args(on_boot=True, init_timeout=600 if change == "timeouts" else 900))
    assert ops(plan) == ["boot_task"] and call(plan, "boot_task")["state"] == "present"


def test_on_boot_with_repair_installs_the_task_first():
    plan = pp.plan(sc.stale(), args(on_boot=True))
    assert ops(plan) == ["boot_task", "remove_proxy", GUARD, "init_agent", "wait_registered"]


def test_on_boot_false_removes_an_installed_task():
    facts = installed_boot_task(sc.configured(), _boot_task.script(RECOVER))
    plan = pp.plan(facts, args())
    assert plan.calls == [("boot_task", _boot_task.boot_task_args("absent"))]


@pytest.mark.parametrize("facts", [sc.configured(), sc.stale()], ids=["healthy", "stale"])
def test_on_boot_omitted_leaves_an_installed_task_as_it_is(facts):
    facts = installed_boot_task(facts, _boot_task.script(RECOVER) + "# an older script\n")
    plan = pp.plan(facts, args(on_boot=None))
    assert "boot_task" not in ops(plan)
    assert plan.before["boot_task"] is not None
    assert plan.after["boot_task"] == plan.before["boot_task"]


def test_on_boot_needs_an_initialised_agent_even_when_nothing_is_broken():
    facts = sc.configured()
    del facts["machine_env"]["ECS_CLUSTER"]
    with pytest.raises(_plan.Refusal, match="ECS_CLUSTER"):
        pp.plan(facts, args(on_boot=True))


# --- state: absent -----------------------------------------------------------------------------------


def test_absent_tears_down_identified_pieces_including_firewall_and_boot_task():
    facts = installed_boot_task(sc.configured(), "x")
    plan = pp.plan(facts, args(state="absent"))
    assert ops(plan) == ["remove_proxy", "boot_task"]
    removal = call(plan, "remove_proxy")
    assert removal["firewall_rules"] == [sc.pd.FIREWALL_RULE["name"]]
    assert removal["ip_bindings"] == [{"ip_address": "169.254.170.2", "interface_index": 12}]
    assert call(plan, "boot_task")["state"] == "absent"
    assert plan.after["pieces"] == {"portproxy": [], "ip_bindings": [], "apipa_adapter": None, "firewall_rules": []}


def test_absent_on_a_host_without_proxy_changes_nothing():
    assert pp.plan(sc.fresh(), args(state="absent")).calls == []


# --- diff ----------------------------------------------------------------------------------------------


def test_diff_shows_the_broken_endpoint_and_the_expected_result():
    plan = pp.plan(sc.stale(), args())
    assert plan.before["endpoint"].startswith("broken (stale_after_reboot)")
    assert plan.before["pieces"]["ip_bindings"] == []
    assert plan.after["endpoint"] == "healthy"
    assert plan.after["pieces"]["ip_bindings"]


def test_iis_through_http_sys_is_named_as_iis_in_the_remedy():
    facts = sc.with_iis()
    facts["port80_listeners"][-1]["service"] = None  # netstat shows http.sys as System, pid 4
    with pytest.raises(_plan.Refusal) as caught:
        pp.plan(sc.valid(facts), args())
    assert "name: W3SVC, state: stopped" in str(caught.value)


def test_an_http_answer_that_is_not_the_agents_is_a_port80_conflict_even_unlisted():
    facts = sc.with_iis()
    facts["port80_listeners"] = [dict(sc.pd.PROXY_LISTENER)]
    assert _proxy.diagnose(facts).cause == "port80_in_use"
    with pytest.raises(_plan.Refusal, match="netstat"):
        pp.plan(facts, args())


@pytest.mark.parametrize("text, seconds", [("PT30S", 30), ("PT1M30S", 90), ("PT90S", 90), ("PT1H", 3600), ("P1DT1S", 86401),
                                           ("PT0S", 0), ("", None), ("PT", None), ("30", None), (None, None)])
def test_task_scheduler_delays_compare_as_durations(text, seconds):
    assert _boot_task.duration_s(text) == seconds


def test_a_delay_stored_in_another_form_is_the_same_task():
    facts = installed_boot_task(sc.configured(), _boot_task.script(RECOVER), delay="PT1M30S")
    assert pp.plan(facts, args(on_boot=True, boot_delay=90)).calls == []
