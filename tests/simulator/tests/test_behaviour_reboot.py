"""Reboot behaviour through the wire: `ctl reboot`, WinRM downtime, what survives a boot, the stale-proxy trap, the
host clock of quick reboots, and the collection's startup task healing the host in the background while WinRM is
already back (the issue's "Behaviour it must reproduce")."""

from __future__ import annotations

import socket
import time

import pytest
from sim_scripts import init_args, winrm_ops, winrm_probe, winrm_result

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _boot_task

UNREACHABLE = "A socket operation was attempted to an unreachable network 169.254.170.2:80"
CLOSED = "The underlying connection was closed: An unexpected error occurred on a receive."
MIN_BOOT_INTERVAL = 120 * 10_000_000  # FILETIME ticks


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=4)


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


def wait_boot_tasks(sim, host, timeout=30):
    """Until the startup tasks the server runs after a boot have ended; how long that took."""
    started = time.monotonic()
    while sim.counters(host)["boot_tasks_running"]:
        assert time.monotonic() - started < timeout, "startup tasks still running"
        time.sleep(0.1)
    return time.monotonic() - started


def boot_task_args(delay_s=0):
    """What the collection's credential_proxy module installs (on_boot), with short waits."""
    recover = _boot_task.recover_args(attempts=3, retry_delay_s=0, registration_timeout_s=30, init_timeout_s=60)
    return _boot_task.boot_task_args("present", recover, delay_s)


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
    wait_boot_tasks(sim, host)
    assert sim.ctl("state", host)["last_boot_runs"][0]["action"] == "noop"  # ECSTools' Initialize-ECSHostReboot


def test_a_quick_reboot_moves_the_host_clock(sim):
    """The host booted (the simulator started) moments ago; a real reboot takes minutes, so the new boot is dated at
    least 120 s after the last one and the host's clock runs ahead from then on."""
    host = sim.hosts[3]
    first = winrm_probe(sim, host, "none")["host"]["boot_id"]
    reboot(sim, host, downtime=0.5)
    second = winrm_probe(sim, host, "none")["host"]["boot_id"]
    assert second == first + MIN_BOOT_INTERVAL
    reboot(sim, host, downtime=0.5)
    third = winrm_probe(sim, host, "none")["host"]["boot_id"]
    assert third == second + MIN_BOOT_INTERVAL
    state = sim.ctl("state", host)
    assert state["boot_id"] == third and 220 < state["clock_offset_s"] <= 240


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


def test_the_startup_task_heals_the_host_in_the_background(sim):
    """After the downtime WinRM listens at once while Task Scheduler runs the startup tasks: the boot script waits for
    ECSTools' own reboot task (ecstools-boot-delay: it fires 2 s after the boot and runs 3 s) holding the host lock,
    then repairs the proxy. Meanwhile the host answers probes, and a run that needs the lock is told who holds it."""
    host = sim.hosts[2]
    sim.ctl("set", host, "init-agent=prod", "ecstools-boot-delay=2")
    assert winrm_result(sim, host, "boot_task", boot_task_args()) == {"changed": True, "secured": True}
    reboot(sim, host, downtime=1)

    assert sim.counters(host)["boot_tasks_running"] is True
    deadline = time.monotonic() + 5
    while sim.ctl("state", host)["mutex_holder"] is None:
        assert time.monotonic() < deadline, "the boot script never took the host lock"
        time.sleep(0.05)
    state = sim.ctl("state", host)
    assert state["boot_tasks_running"] is True and state["mutex_holder"]["holder"] == _boot_task.LOCK_HOLDER
    facts = winrm_probe(sim, host, "none")
    assert facts["endpoints"]["proxy"]["error"] == UNREACHABLE  # not repaired yet: it waits for ECSTools' task
    document = winrm_ops(sim, host, ("set_machine_env", {"set": {"ECS_RESERVED_MEMORY": "256"}, "remove": []}),
                         lock={"wait_s": 1, "holder": "ansible-playbook recover.yml"})
    assert document["error"]["category"] == "locked"
    assert document["error"]["message"].startswith("the host lock Global\\ecs_windows.task_iam is held by %s (pid "
                                                   % _boot_task.LOCK_HOLDER)

    wait_boot_tasks(sim, host)
    state = sim.ctl("state", host)
    assert state["mutex_holder"] is None and state["boot_tasks_running"] is False
    runs = state["last_boot_runs"]
    assert [(r["task"], r["action"], r["rc"]) for r in runs] == [
        ("\\Initialize-ECSHostReboot", "noop", None), ("\\ecs_windows.task_iam\\Recover-ECSCredentialProxy", "op_script", 0)]
    wait, recover = (r["result"] for r in runs[1]["output"]["results"])
    assert wait["idle"] is True and wait["waited_s"] >= 2  # it waited for ECSTools' task to fire and end
    assert recover["action"] == "repaired" and recover["before"]["error"] == UNREACHABLE
    facts = winrm_probe(sim, host)
    assert facts["endpoints"]["proxy"]["ok"] is True
    assert facts["boot"]["last_run"]["action"] == "repaired"
    assert facts["boot"]["last_run"]["boot_id"] == facts["host"]["boot_id"]
    ecstools_task = next(t for t in facts["scheduled_tasks"] if t["name"] == "Initialize-ECSHostReboot")
    assert (ecstools_task["state"], ecstools_task["last_result"]) == ("Ready", 0)
    assert winrm_ops(sim, host, ("set_machine_env", {"set": {"ECS_RESERVED_MEMORY": "256"}, "remove": []}),
                     lock={"wait_s": 1, "holder": "ansible-playbook recover.yml"})["error"] is None
