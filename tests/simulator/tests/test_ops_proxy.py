"""Credential proxy ops and reboots: remove_proxy, recover_proxy, boot_task, wait_task_idle, startup tasks."""

from __future__ import annotations

import json

from sim_scripts import build_script, init_args, new_host, op_error, probe, result

IP = "169.254.170.2"
LOG = r"C:\ProgramData\Amazon\ECS\log\ecs_windows.task_iam-recover.log"
SCRIPT_PATH = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover-credential-proxy.ps1"
CLOSED = "The underlying connection was closed: An unexpected error occurred on a receive."
UNREACHABLE = "A socket operation was attempted to an unreachable network 169.254.170.2:80"


def remove_args(facts, adapter=None):
    proxy = facts["proxy"]
    return {"portproxy": [{"listen_address": r["listen_address"], "listen_port": r["listen_port"]} for r in proxy["portproxy"]],
            "ip_bindings": [{"ip_address": b["ip_address"], "interface_index": b["interface_index"]} for b in proxy["ip_bindings"]],
            "apipa_adapter": adapter, "firewall_rules": [r["name"] for r in proxy["firewall_rules"]]}


def recover_args(cluster="prod"):
    return {"init": init_args(cluster), "registration_timeout_s": 60, "log_path": LOG}


def boot_task_args(script, state="present", delay="PT30S"):
    return {"state": state, "task_path": "\\ecs_windows.task_iam\\", "task_name": "Recover-ECSCredentialProxy",
            "script_path": SCRIPT_PATH, "script": script, "delay": delay, "description": "recover"}


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
    result(host, "service", {"name": "AmazonECS", "start_type": "Manual", "state": None, "failure_restart": None})
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


# --- recover_proxy -----------------------------------------------------------------------------

def test_recover_proxy_healthy_does_nothing_but_log(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "none" and out["removed"] == [] and out["error"] is None
    last = probe(host)["boot_recovery_last"]
    assert last["action"] == "none" and last["boot_id"] == probe(host)["host"]["boot_id"]


def test_recover_proxy_repairs_after_reboot(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "repaired" and out["before"]["error"] == UNREACHABLE and out["after"]["ok"] is True
    assert out["removed"] == ["portproxy 169.254.170.2:80"]
    assert probe(host)["endpoints"]["proxy"]["ok"] is True


def test_recover_proxy_fails_with_iis_on_port_80(tmp_path):
    host = new_host(tmp_path, init_agent="prod", iis="on")
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "failed" and out["after"]["status"] == 404
    assert out["error"] == "169.254.170.2 still fails after the repair: HTTP 404"


def test_recover_proxy_reports_init_failures(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    host.inject_fault("init-adapter-not-found", 5)
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "failed" and "attempt 3 of 3" in out["error"]
    lines = host.read_file(LOG).decode("utf-8").splitlines()
    assert json.loads(lines[-1])["action"] == "failed"


# --- boot_task, wait_task_idle, startup tasks ---------------------------------------------------

def boot_script():
    return build_script([("wait_task_idle", {"task_path": "\\", "task_name": "Initialize-ECSHostReboot", "timeout_s": 300}),
                         ("recover_proxy", recover_args())])


def test_boot_task_is_idempotent(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    script = boot_script()
    assert result(host, "boot_task", boot_task_args(script)) == {"changed": True}
    assert result(host, "boot_task", boot_task_args(script)) == {"changed": False}
    assert result(host, "boot_task", boot_task_args(script, delay="PT60S")) == {"changed": True}
    facts = probe(host, files=[SCRIPT_PATH])
    task = facts["scheduled_tasks"][-1]
    assert task["arguments"] == '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % SCRIPT_PATH
    assert (task["execute"], task["delay"], task["at_startup"]) == ("PowerShell.exe", "PT60S", True)
    assert host.read_file(SCRIPT_PATH) == b"\xef\xbb\xbf" + script.encode("utf-8")
    assert result(host, "boot_task", boot_task_args(None, state="absent")) == {"changed": True}
    assert result(host, "boot_task", boot_task_args(None, state="absent")) == {"changed": False}
    assert probe(host, files=[SCRIPT_PATH])["files"] == {SCRIPT_PATH: None}
    # Without a script only the task is ensured.
    assert result(host, "boot_task", boot_task_args(None)) == {"changed": True}
    assert probe(host, files=[SCRIPT_PATH])["files"] == {SCRIPT_PATH: None}
    bad = dict(boot_task_args(script), script_path=r"C:\x\recover.txt")
    assert op_error(host, "boot_task", bad)["message"].startswith("script_path must name a .ps1 file")


def test_wait_task_idle(tmp_path):
    host = new_host(tmp_path)
    args = {"task_path": "\\", "task_name": "Initialize-ECSHostReboot", "timeout_s": 10}
    assert result(host, "wait_task_idle", args) == {"state": None, "waited_s": 0}
    host.apply_setting("init-agent", "prod")
    assert result(host, "wait_task_idle", args) == {"state": "Ready", "waited_s": 0}


def test_startup_task_heals_the_host_at_boot(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "boot_task", boot_task_args(boot_script()))
    host.reboot()
    facts = probe(host)
    assert facts["endpoints"]["proxy"]["ok"] is True
    assert facts["boot_recovery_last"]["action"] == "repaired"
    assert facts["boot_recovery_last"]["boot_id"] == facts["host"]["boot_id"]
    runs = host.snapshot()["last_boot_runs"]
    assert [(r["task"], r["action"], r["rc"]) for r in runs] == [
        ("\\Initialize-ECSHostReboot", "noop", None),
        ("\\ecs_windows.task_iam\\Recover-ECSCredentialProxy", "op_script", 0)]
    assert [r["op"] for r in runs[1]["output"]["results"]] == ["wait_task_idle", "recover_proxy"]


def test_startup_task_with_a_missing_or_foreign_file(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "boot_task", boot_task_args(boot_script()))
    host.remove_path(SCRIPT_PATH, recurse=False)
    host.reboot()
    run = host.snapshot()["last_boot_runs"][1]
    assert (run["action"], run["rc"]) == ("missing_file", -196608)
    assert "to the -File parameter does not exist" in run["stderr"]
    host.write_file(SCRIPT_PATH, b"Write-Output 'hello'\r\n")
    host.reboot()
    assert host.snapshot()["last_boot_runs"][1]["action"] == "ignored"
    assert probe(host)["endpoints"]["proxy"]["ok"] is False


def test_remove_proxy_refuses_what_its_powershell_refuses(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    facts = probe(host)
    args = dict(remove_args(facts), ip_bindings=[{"ip_address": "10.0.1.23", "interface_index": 5}])
    error = op_error(host, "remove_proxy", args)
    assert (error["category"], error["message"]) == (
        "invalid_argument", "remove_proxy only removes the credential proxy address 169.254.170.2, not 10.0.1.23")
    assert probe(host)["proxy"] == facts["proxy"]  # checked before anything was deleted


def test_recover_proxy_cannot_remove_an_apipa_vnic_without_hyperv(tmp_path):
    host = new_host(tmp_path, init_agent="prod", apipa_adapter="on", hyperv_powershell="off")
    host.reboot()
    out = result(host, "recover_proxy", recover_args())
    assert out["action"] == "failed" and "Hyper-V PowerShell module is not installed" in out["error"]
