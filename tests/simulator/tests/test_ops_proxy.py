"""Credential proxy ops and reboots: remove_proxy, recover_proxy, boot_task, wait_task_idle, startup tasks."""

from __future__ import annotations

import json

from ecs_windows_sim import model
from sim_scripts import build_script, example, init_args, new_host, op_error, probe, result, settings

IP = "169.254.170.2"
BOOT_DIR = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam"
LOG = BOOT_DIR + r"\recover.log"
SCRIPT_PATH = BOOT_DIR + r"\recover-credential-proxy.ps1"
TASK_ARGUMENTS = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % SCRIPT_PATH
CLOSED = "The underlying connection was closed: An unexpected error occurred on a receive."
UNREACHABLE = "A socket operation was attempted to an unreachable network 169.254.170.2:80"
ECSTOOLS_TASK = {"task_path": "\\", "task_name": "Initialize-ECSHostReboot"}


def remove_args(facts, adapter=None):
    proxy = facts["proxy"]
    return {"portproxy": [{"listen_address": r["listen_address"], "listen_port": r["listen_port"]} for r in proxy["portproxy"]],
            "ip_bindings": [{"ip_address": b["ip_address"], "interface_index": b["interface_index"]} for b in proxy["ip_bindings"]],
            "apipa_adapter": adapter, "firewall_rules": [r["name"] for r in proxy["firewall_rules"]]}


def recover_args(**overrides):
    return example("recover_proxy", attempts=3, log_path=LOG, **overrides)


def boot_task_args(script, state="present", delay="PT30S", execution_limit_s=3600, description="recover"):
    return {"state": state, "script": script, "delay": delay, "execution_limit_s": execution_limit_s,
            "description": description}


def log_lines(host):
    return [json.loads(line) for line in host.read_file(LOG).decode("utf-8").splitlines()]


# --- reboot (model) ----------------------------------------------------------------------------

def test_reboot_leaves_a_stale_proxy(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2)
    before = probe(host)
    host.reboot()
    after = probe(host)
    assert after["host"]["boot_id"] > before["host"]["boot_id"]
    assert after["host"]["boot_time"] >= before["host"]["boot_time"]
    assert after["proxy"]["ip_bindings"] == []
    assert after["proxy"]["portproxy"] == before["proxy"]["portproxy"]
    assert after["proxy"]["firewall_rules"] == before["proxy"]["firewall_rules"]
    assert after["endpoints"]["proxy"]["error"] == UNREACHABLE
    assert after["containers"] == []
    assert after["services"]["AmazonECS"]["status"] == "Running" and after["services"]["docker"]["status"] == "Running"
    assert after["registration"]["container_instance_arn"] == before["registration"]["container_instance_arn"]
    assert host.snapshot()["last_boot_runs"] == [{"task": "\\Initialize-ECSHostReboot", "action": "noop", "rc": None,
                                                  "output": None, "stderr": ""}]


def test_reboot_stops_manual_services(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "service", example("service", start_type="Manual", state=None, failure_restart=None))
    host.reboot()
    assert probe(host)["services"]["AmazonECS"]["status"] == "Stopped"


def test_reinit_on_a_stale_rule_leaves_it_dead(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    result(host, "init_agent", init_args("prod"))
    facts = probe(host)
    assert [b["ip_address"] for b in facts["proxy"]["ip_bindings"]] == [IP]
    assert facts["endpoints"]["proxy"] == {"ok": False, "status": None, "code": None, "error": CLOSED}
    assert facts["port80_listeners"] == [{"local_address": IP, "local_port": 80, "pid": 2144, "process": "svchost",
                                          "service": "iphlpsvc"}]
    # The documented recovery: delete the proxy interface first, then initialise again.
    result(host, "remove_proxy", remove_args(facts))
    result(host, "init_agent", init_args("prod"))
    assert probe(host)["endpoints"]["proxy"]["ok"] is True


# --- remove_proxy ------------------------------------------------------------------------------

def test_remove_proxy_removes_exactly_the_listed_pieces(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    facts = probe(host)
    rule = facts["proxy"]["firewall_rules"][0]["name"]
    out = result(host, "remove_proxy", remove_args(facts))
    assert out == {"removed": ["portproxy 169.254.170.2:80", "ip 169.254.170.2 on interface 12", "firewall rule " + rule]}
    after = probe(host)
    assert after["proxy"] == {"ip_bindings": [], "portproxy": [], "firewall_rules": [], "apipa_adapter": None}
    assert [a["name"] for a in after["nat_adapters"]] == ["vEthernet (nat)"]
    assert result(host, "remove_proxy", remove_args(facts)) == {"removed": []}


def test_remove_proxy_apipa_adapter(tmp_path):
    host = new_host(tmp_path, apipa_adapter="on")
    out = result(host, "remove_proxy", remove_args(probe(host), adapter="vEthernet (APIPA)"))
    assert out["removed"] == ["ip 169.254.170.2 on interface 25", "adapter vEthernet (APIPA)"]
    assert probe(host)["proxy"]["apipa_adapter"] is None


def test_remove_proxy_refuses_other_adapters(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    facts = probe(host)
    error = op_error(host, "remove_proxy", remove_args(facts, adapter="vEthernet (nat)"))
    assert error["message"] == ("refusing to remove adapter 'vEthernet (nat)': remove_proxy only removes the legacy "
                                "APIPA vNIC")
    assert error["category"] == "host_state"
    assert probe(host)["proxy"] == facts["proxy"]


def test_remove_proxy_refuses_what_its_powershell_refuses(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    facts = probe(host)
    args = dict(remove_args(facts), ip_bindings=[{"ip_address": "10.0.1.23", "interface_index": 5}])
    error = op_error(host, "remove_proxy", args)
    assert (error["category"], error["message"]) == (
        "invalid_argument", "remove_proxy only removes the credential proxy address 169.254.170.2, not 10.0.1.23")
    assert probe(host)["proxy"] == facts["proxy"]  # checked before anything was deleted


# --- recover_proxy -----------------------------------------------------------------------------

def test_recover_proxy_healthy_does_nothing_but_log(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "none" and out["removed"] == [] and out["error"] is None and out["settings"] is None
    facts = probe(host)
    last = facts["boot"]["last_run"]
    assert last["action"] == "none" and last["boot_id"] == facts["host"]["boot_id"]
    started, done = log_lines(host)
    # A started line first, so that a run that dies half-way still leaves a trace.
    assert (started["action"], started["boot_id"], started["pid"]) == ("started", facts["host"]["boot_id"], 4321)
    assert done == last


def test_recover_proxy_repairs_after_reboot_with_the_settings_of_the_machine_env(tmp_path):
    host = new_host(tmp_path, init_agent="prod", **{"machine-env:ECS_ENABLE_TASK_ENI": "TRUE",
                                                    "machine-env:ECS_AVAILABLE_LOGGING_DRIVERS": '["json-file"]'})
    host.reboot()
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "repaired" and out["before"]["error"] == UNREACHABLE and out["after"]["ok"] is True
    assert out["removed"] == ["portproxy 169.254.170.2:80"] and out["error"] is None
    # What the host has now, never what the task was installed with (a setting changed since is not undone).
    assert out["settings"] == settings("prod", enable_task_eni=True, logging_drivers=["json-file"])
    assert probe(host)["endpoints"]["proxy"]["ok"] is True
    assert [line["action"] for line in log_lines(host)] == ["started", "repaired"]


def test_recover_proxy_without_settings(tmp_path):
    host = new_host(tmp_path)
    out = result(host, "recover_proxy", recover_args())
    assert (out["action"], out["settings"], out["removed"]) == ("failed", None, [])
    assert out["error"] == ("Machine environment ECS_CLUSTER is not set: the agent was never initialised, so there "
                            "are no settings to re-create the proxy with")


def test_recover_proxy_fails_with_iis_on_port_80(tmp_path):
    host = new_host(tmp_path, init_agent="prod", iis="on")
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "failed" and out["after"]["status"] == 404
    assert out["error"] == "169.254.170.2 still fails after the repair: HTTP 404"


def test_recover_proxy_retries_the_adapter_error_within_its_attempts(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    host.inject_fault("init-adapter-not-found", 2)
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "repaired" and host.snapshot()["pending_faults"]["init-adapter-not-found"] == 0


def test_recover_proxy_reports_init_failures(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    host.inject_fault("init-adapter-not-found", 5)
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "failed" and out["error"].endswith(
        "s: VMNetwork adapter 'vEthernet (nat)*' not found (attempt 3 of 3)")
    assert host.snapshot()["pending_faults"]["init-adapter-not-found"] == 2
    assert log_lines(host)[-1]["action"] == "failed"


def test_recover_proxy_init_hang(tmp_path, sleeps):
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    host.inject_fault("init-hang", 1)
    out = result(host, "recover_proxy", recover_args(init_timeout_s=120))
    assert out["action"] == "failed" and sleeps == [120]
    assert out["error"] == "Initialize-ECSAgent did not finish within 120 s and was stopped"


def test_recover_proxy_cannot_remove_an_apipa_vnic_without_hyperv(tmp_path):
    host = new_host(tmp_path, init_agent="prod", apipa_adapter="on", hyperv_powershell="off")
    host.reboot()
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "failed" and "Hyper-V PowerShell module is not installed" in out["error"]


# --- boot_task, wait_task_idle, startup tasks ---------------------------------------------------

def boot_script():
    return build_script([("wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=300, busy_error=False)),
                         ("recover_proxy", recover_args())], lock={"wait_s": 600, "holder": "the boot task"})


def test_boot_task_is_idempotent(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    script = boot_script()
    assert result(host, "boot_task", boot_task_args(script)) == {"changed": True, "secured": True}
    assert result(host, "boot_task", boot_task_args(script)) == {"changed": False, "secured": False}
    assert result(host, "boot_task", boot_task_args(script, delay="PT60S")) == {"changed": True, "secured": False}
    assert result(host, "boot_task", boot_task_args(script, delay="PT60S", execution_limit_s=5400))["changed"] is True
    assert result(host, "boot_task", boot_task_args(script, delay="PT60S", execution_limit_s=5400,
                                                    description="other"))["changed"] is True
    facts = probe(host, files=[SCRIPT_PATH])
    task = facts["scheduled_tasks"][-1]
    assert task.pop("registered_time") is not None
    assert task == {"path": "\\ecs_windows.task_iam\\", "name": "Recover-ECSCredentialProxy", "state": "Ready",
                    "enabled": True, "at_startup": True, "delay": "PT60S", "execute": "PowerShell.exe",
                    "arguments": TASK_ARGUMENTS, "principal": "SYSTEM", "execution_limit": "PT1H30M",
                    "last_run_time": None, "last_result": None}
    assert host.read_file(SCRIPT_PATH) == b"\xef\xbb\xbf" + script.encode("utf-8")
    assert facts["boot"]["script_batch"]["lock"] == {"wait_s": 600, "holder": "the boot task"}
    assert result(host, "boot_task", boot_task_args(None, state="absent")) == {"changed": True, "secured": False}
    assert result(host, "boot_task", boot_task_args(None, state="absent")) == {"changed": False, "secured": False}
    assert probe(host, files=[SCRIPT_PATH])["files"] == {SCRIPT_PATH: None}
    # Without a script only the task is ensured.
    assert result(host, "boot_task", boot_task_args(None)) == {"changed": True, "secured": False}
    assert probe(host, files=[SCRIPT_PATH])["files"] == {SCRIPT_PATH: None}


def test_boot_task_secures_a_user_owned_folder_first(tmp_path):
    host = new_host(tmp_path, init_agent="prod", boot_folder="user-owned")
    assert host.read_file(LOG) is not None
    assert result(host, "boot_task", boot_task_args(boot_script())) == {"changed": True, "secured": True}
    boot = probe(host)["boot"]
    assert boot["folder"] == {"exists": True, "owner": "BUILTIN\\Administrators", "owner_sid": "S-1-5-32-544",
                              "protected": True, "writable_by": []}
    # Emptied: whoever could write there may have replaced the script or forged the log.
    assert boot["last_run"] is None and host.read_file(LOG) is None
    assert host.read_file(SCRIPT_PATH) == b"\xef\xbb\xbf" + boot_script().encode("utf-8")


def test_boot_folder_setting(tmp_path):
    host = new_host(tmp_path, boot_folder="user-owned")
    assert host.path_kind(SCRIPT_PATH) == "file"
    host.apply_setting("boot-folder", "none")
    assert host.path_kind(BOOT_DIR) is None and probe(host)["boot"]["folder"]["exists"] is False


def test_wait_task_idle(tmp_path):
    host = new_host(tmp_path)
    args = dict(ECSTOOLS_TASK, timeout_s=1, busy_error=True)
    assert result(host, "wait_task_idle", args) == {"state": None, "last_run_time": None, "idle": True, "waited_s": 0}
    # After a boot ECSTools' task has run (at once here: no ecstools-boot-delay): idle.
    host.apply_setting("init-agent", "prod")
    host.reboot()
    out = result(host, "wait_task_idle", args)
    assert out == {"state": "Ready", "last_run_time": host.state["boot_time"], "idle": True, "waited_s": 0}


def test_wait_task_idle_a_startup_task_registered_during_this_boot_is_idle(tmp_path):
    host = new_host(tmp_path, init_agent="prod")  # user data made the task during this boot: it fires at the next one
    out = result(host, "wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=5, busy_error=True))
    assert (out["state"], out["last_run_time"], out["idle"]) == ("Ready", None, True) and out["waited_s"] < 1


def test_wait_task_idle_a_startup_task_not_yet_run_since_this_boot_is_busy(tmp_path):
    host = new_host(tmp_path, init_agent="prod", ecstools_boot_delay="30")
    host.reboot()  # registered before this boot; it fires 30 s after it
    out = result(host, "wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=1, busy_error=False))
    assert (out["state"], out["last_run_time"], out["idle"]) == ("Ready", None, False) and out["waited_s"] >= 1
    error = op_error(host, "wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=0, busy_error=True))
    assert (error["category"], error["message"]) == ("busy", "scheduled task \\Initialize-ECSHostReboot is Ready "
                                                             "(last run ); waited 0 s")


def test_wait_task_idle_refuses_wildcards(tmp_path):
    error = op_error(new_host(tmp_path), "wait_task_idle", dict(ECSTOOLS_TASK, task_name="Init*", timeout_s=0,
                                                                busy_error=False))
    assert (error["category"], error["message"]) == (
        "invalid_argument", "task_path and task_name must be non-empty and without wildcards, got 'Init*'")


def test_startup_task_heals_the_host_at_boot(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "boot_task", boot_task_args(boot_script(), delay="PT0S"))
    host.reboot()
    facts = probe(host)
    assert facts["endpoints"]["proxy"]["ok"] is True
    assert facts["boot"]["last_run"]["action"] == "repaired"
    assert facts["boot"]["last_run"]["boot_id"] == facts["host"]["boot_id"]
    runs = host.snapshot()["last_boot_runs"]
    assert [(r["task"], r["action"], r["rc"]) for r in runs] == [
        ("\\Initialize-ECSHostReboot", "noop", None),
        ("\\ecs_windows.task_iam\\Recover-ECSCredentialProxy", "op_script", 0)]
    output = runs[1]["output"]
    assert [r["op"] for r in output["results"]] == ["wait_task_idle", "recover_proxy"]
    assert output["cache"] is None and output["error"] is None  # a script file: no loader, no library cache
    task = next(t for t in facts["scheduled_tasks"] if t["name"] == "Recover-ECSCredentialProxy")
    assert task["last_result"] == 0 and task["last_run_time"] >= facts["host"]["boot_time"]


def test_startup_task_with_a_missing_or_foreign_file(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "boot_task", boot_task_args(boot_script(), delay="PT0S"))
    host.remove_path(SCRIPT_PATH, recurse=False)
    host.reboot()
    run = host.snapshot()["last_boot_runs"][1]
    assert (run["action"], run["rc"]) == ("missing_file", -196608)
    assert "to the -File parameter does not exist" in run["stderr"]
    task = next(t for t in probe(host)["scheduled_tasks"] if t["name"] == "Recover-ECSCredentialProxy")
    assert task["last_result"] == -196608
    host.write_file(SCRIPT_PATH, b"Write-Output 'hello'\r\n")
    host.reboot()
    assert host.snapshot()["last_boot_runs"][1]["action"] == "ignored"
    assert probe(host)["endpoints"]["proxy"]["ok"] is False


def test_boot_task_schedule_and_description_reach_the_model(tmp_path):
    host = new_host(tmp_path)
    result(host, "boot_task", boot_task_args(None, delay="PT90S", execution_limit_s=86400, description="d"))
    task = next(t for t in host.state["scheduled_tasks"] if t["name"] == "Recover-ECSCredentialProxy")
    assert (task["delay"], task["execution_limit"], task["description"], task["user"]) == ("PT90S", "P1D", "d",
                                                                                          "SYSTEM")
    assert model.acl_trusted(model.acl_facts(host.state, BOOT_DIR))
