# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings that make a host slow in real time: registration-delay, ecstools-boot-delay, probe-latency (small values:
these tests really wait)."""

from __future__ import annotations

import time

from ecs_windows_sim import ecstools
from sim_scripts import build_script, example, init_args, new_host, op_error, probe, result

ECSTOOLS_TASK = {"task_path": "\\", "task_name": "Initialize-ECSHostReboot"}
OVERLAP = ("Initialize-ECSAgent ran while ECSTools' Initialize-ECSHostReboot was running: the two configurations of "
           "the credential proxy overlapped (the simulator's model of the race)")


def reboot_task(facts):
    return next(t for t in facts["scheduled_tasks"] if t["name"] == "Initialize-ECSHostReboot")


def test_registration_delay(tmp_path):
    host = new_host(tmp_path, registration_delay=1, init_agent="prod")
    started = time.monotonic()
    registration = probe(host)["registration"]
    # The agent answers at once but has no ContainerInstanceArn until it has registered.
    assert (registration["reachable"], registration["cluster"], registration["container_instance_arn"]) == (True, "prod", None)
    out = result(host, "wait_registered", example("wait_registered", timeout_s=10, interval_s=1))
    assert out["registered"] is True and out["container_instance_arn"].startswith("arn:aws:ecs:")
    assert 0.5 <= out["waited_s"] <= 2.5 and time.monotonic() - started >= 0.95
    # Every start of the agent registers anew after the delay (the ARN itself is kept in the agent's data).
    arn = out["container_instance_arn"]
    result(host, "service", example("service", state="restarted"))
    assert probe(host)["registration"]["container_instance_arn"] is None
    out = result(host, "wait_registered", example("wait_registered", timeout_s=0, interval_s=1))
    assert (out["registered"], out["container_instance_arn"], out["waited_s"]) == (False, None, 0)
    out = result(host, "wait_registered", example("wait_registered", timeout_s=10, interval_s=1))
    assert out["container_instance_arn"] == arn


def test_registration_delay_zero_registers_at_start(tmp_path):
    host = new_host(tmp_path, registration_delay=0, init_agent="prod")
    assert probe(host)["registration"]["container_instance_arn"] is not None


def test_ecstools_boot_delay_makes_its_reboot_task_fire_late(tmp_path):
    """Initialize-ECSHostReboot fires ecstools-boot-delay seconds after a boot and runs for 3 s; an Initialize-ECSAgent
    while it runs fails, and wait_task_idle waits for it."""
    host = new_host(tmp_path, ecstools_boot_delay=1, init_agent="prod")
    host.reboot()
    booted = time.monotonic()
    task = reboot_task(probe(host))
    assert (task["state"], task["last_run_time"], task["last_result"]) == ("Ready", None, None)  # not fired yet
    assert result(host, "wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=0, busy_error=False))["idle"] is False
    time.sleep(max(0.0, booted + 1.3 - time.monotonic()))
    task = reboot_task(probe(host))
    assert (task["state"], task["last_result"]) == ("Running", 267009)  # 0x41301: the task is currently running
    fired = task["last_run_time"]
    assert fired > host.state["boot_time"]
    error = op_error(host, "init_agent", init_args())
    assert error["category"] == "init_failed" and error["message"].endswith(OVERLAP)
    error = op_error(host, "wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=0, busy_error=True))
    assert error == {"op": "wait_task_idle", "index": 0, "category": "busy",
                     "message": "scheduled task \\Initialize-ECSHostReboot is Running (last run %s); waited 0 s" % fired}
    out = result(host, "wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=10, busy_error=True))
    assert out == {"state": "Ready", "last_run_time": fired, "idle": True, "waited_s": out["waited_s"]}
    assert 1.0 <= out["waited_s"] <= 5.0 and time.monotonic() - booted >= 1 + ecstools.REBOOT_TASK_RUN_S
    assert reboot_task(probe(host))["last_result"] == 0
    result(host, "init_agent", init_args())
    # At the next boot its last run is the one of the boot before, until it fires again.
    host.reboot()
    task = reboot_task(probe(host))
    assert (task["state"], task["last_run_time"], task["last_result"]) == ("Ready", fired, 0)


def test_the_boot_script_waits_for_a_late_ecstools_task(tmp_path):
    host = new_host(tmp_path, ecstools_boot_delay=1, init_agent="prod")
    script = build_script([("wait_task_idle", dict(ECSTOOLS_TASK, timeout_s=30, busy_error=False)),
                           ("recover_proxy", example("recover_proxy"))])
    result(host, "boot_task", example("boot_task", script=script))
    host.reboot()  # without the server: the startup tasks run before it returns
    run = host.snapshot()["last_boot_runs"][1]
    assert (run["action"], run["rc"]) == ("op_script", 0)
    wait, recover = (r["result"] for r in run["output"]["results"])
    assert wait["idle"] is True and wait["state"] == "Ready" and wait["waited_s"] >= 3.0
    assert recover["action"] == "repaired" and recover["error"] is None
    assert probe(host)["endpoints"]["proxy"]["ok"] is True


def test_probe_latency_slows_one_section(tmp_path):
    host = new_host(tmp_path, probe_latency="containers:400")
    host.apply_setting("probe-latency", "machine_env:200")
    started = time.monotonic()
    timings = probe(host)["timings_ms"]
    assert time.monotonic() - started >= 0.6
    assert timings["containers"] >= 400 and timings["machine_env"] >= 200
    assert all(ms < 200 for section, ms in timings.items() if section not in ("containers", "machine_env"))
    host.apply_setting("probe-latency", "none")
    assert max(probe(host)["timings_ms"].values()) < 200

