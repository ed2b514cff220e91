"""Reboot behaviour through the wire: `ctl reboot`, WinRM downtime, what survives a boot, the stale-proxy trap
and a startup task that heals the host (the issue's "Behaviour it must reproduce")."""

from __future__ import annotations

import socket
import time

import pytest
from sim_scripts import build_script, init_args, winrm_ops, winrm_probe, winrm_result

UNREACHABLE = "A socket operation was attempted to an unreachable network 169.254.170.2:80"
CLOSED = "The underlying connection was closed: An unexpected error occurred on a receive."
LOG = r"C:\ProgramData\Amazon\ECS\log\ecs_windows.task_iam-recover.log"
SCRIPT = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover-credential-proxy.ps1"


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=3)


def refused(sim, host):
    try:
        socket.create_connection(("127.0.0.1", sim.port(host)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def reboot(sim, host, downtime=1.5):
    """`ctl reboot` returns at once; WinRM refuses connections, then comes back."""
    started = time.monotonic()
    assert sim.ctl("reboot", host, "--downtime", downtime)["status"] == "rebooting"
    assert refused(sim, host)
    while refused(sim, host):
        assert time.monotonic() - started < downtime + 15, "host did not come back"
        time.sleep(0.1)
    assert time.monotonic() - started >= downtime - 0.2


def test_reboot_leaves_the_proxy_stale(sim):
    host = sim.hosts[0]
    winrm_result(sim, host, "init_agent", init_args("prod"))
    sim.ctl("set", host, "containers=2", "containers-cmd=1")
    before = winrm_probe(sim, host)
    assert before["endpoints"]["proxy"]["ok"] is True and len(before["containers"]) == 3

    reboot(sim, host)
    after = winrm_probe(sim, host)
    assert after["host"]["boot_id"] > before["host"]["boot_id"]
    assert after["host"]["boot_time"] > before["host"]["boot_time"]                # same ISO format, seconds apart
    assert after["proxy"]["ip_bindings"] == []                                # the 169.254.170.2 binding is gone
    assert after["proxy"]["portproxy"] == before["proxy"]["portproxy"]        # the portproxy rule survives
    assert after["proxy"]["firewall_rules"] == before["proxy"]["firewall_rules"]
    assert after["endpoints"]["proxy"] == {"ok": False, "status": None, "code": None, "error": UNREACHABLE}
    assert after["containers"] == []
    assert after["services"]["AmazonECS"]["status"] == "Running"              # automatic services come back
    assert after["services"]["docker"]["status"] == "Running"
    assert after["registration"]["container_instance_arn"] == before["registration"]["container_instance_arn"]
    assert sim.ctl("state", host)["last_boot_runs"][0]["action"] == "noop"  # ECSTools' Initialize-ECSHostReboot


def test_reinit_without_deleting_the_stale_rule_leaves_it_dead(sim):
    host = sim.hosts[1]
    winrm_result(sim, host, "init_agent", init_args("prod"))
    reboot(sim, host)
    winrm_result(sim, host, "init_agent", init_args("prod"))
    facts = winrm_probe(sim, host)
    assert [b["ip_address"] for b in facts["proxy"]["ip_bindings"]] == ["169.254.170.2"]
    assert facts["endpoints"]["agent_tmds"]["ok"] is True
    assert facts["endpoints"]["proxy"] == {"ok": False, "status": None, "code": None, "error": CLOSED}
    assert [(lst["local_address"], lst["service"]) for lst in facts["port80_listeners"]] == [("169.254.170.2", "iphlpsvc")]
    # Deleting the proxy interface first, then initialising again, is the fix the AWS docs describe.
    proxy = facts["proxy"]
    winrm_result(sim, host, "remove_proxy", {
        "portproxy": [{"listen_address": "169.254.170.2", "listen_port": 80}],
        "ip_bindings": [{"ip_address": b["ip_address"], "interface_index": b["interface_index"]} for b in proxy["ip_bindings"]],
        "apipa_adapter": None, "firewall_rules": []})
    winrm_result(sim, host, "init_agent", init_args("prod"))
    assert winrm_probe(sim, host)["endpoints"]["proxy"]["ok"] is True


def test_startup_task_runs_its_op_script_at_boot(sim):
    host = sim.hosts[2]
    winrm_result(sim, host, "init_agent", init_args("prod"))
    script = build_script([
        ("wait_task_idle", {"task_path": "\\", "task_name": "Initialize-ECSHostReboot", "timeout_s": 300}),
        ("recover_proxy", {"init": init_args("prod"), "registration_timeout_s": 60, "log_path": LOG})])
    document = winrm_ops(sim, host, ("boot_task", {
        "state": "present", "task_path": "\\ecs_windows.task_iam\\", "task_name": "Recover-ECSCredentialProxy",
        "script_path": SCRIPT, "script": script, "delay": "PT30S", "description": "recover"}))
    assert document["results"][0]["result"] == {"changed": True}
    reboot(sim, host)
    facts = winrm_probe(sim, host)
    assert facts["endpoints"]["proxy"]["ok"] is True
    assert facts["boot_recovery_last"]["action"] == "repaired"
    assert facts["boot_recovery_last"]["before"]["error"] == UNREACHABLE
    assert facts["boot_recovery_last"]["boot_id"] == facts["host"]["boot_id"]
    runs = sim.ctl("state", host)["last_boot_runs"]
    assert [(r["task"], r["action"], r["rc"]) for r in runs] == [
        ("\\Initialize-ECSHostReboot", "noop", None), ("\\ecs_windows.task_iam\\Recover-ECSCredentialProxy", "op_script", 0)]
