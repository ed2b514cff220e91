# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_windows.task_iam.rolling_reboot (issue 12 part 5) through real ansible-playbook runs against simulator hosts
served with --ecs-endpoint and a real moto server: a 6-host fleet in batches of 2 is drained, rebooted
(ansible.windows.win_reboot, answered by the simulator), healed (the boot-time repair, or the wave's own repair where
on_boot is off), verified and reactivated batch by batch, and the wave stops at the batch where a host stays broken
(IIS on port 80); the drain waits, with a line per look, until the tasks have left, and is bounded; check mode
changes nothing in ECS (moto's request recording) or on the hosts; without an ECS region the hosts are still
rebooted and repaired, and the run says it could not drain them."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from aws_moto import REGION
from collection_calls import collection_calls as ecs_calls
from collection_calls import mutating
from ecs_integration import run_playbook

CLUSTER = "patchwave"
MARKER = "ecs_windows.task_iam.quarantine"
HOSTS = ["ecs-sim-%03d" % n for n in range(1, 7)]
PLAIN = "ecs-sim-002"  # configured with container_instance_on_boot: false
IIS = "ecs-sim-003"    # IIS takes port 80 again at every boot
TASK_STOPPED_AFTER_S = 3


def state_changes(calls, ids):
    """[(host, status)] of the UpdateContainerInstancesState calls, in order."""
    host_of = {instance_id: host for host, instance_id in ids.items()}
    return [(host_of[ci.rsplit("/", 1)[-1]], body["status"]) for action, body in calls
            if action == "UpdateContainerInstancesState" for ci in body["containerInstances"]]


def instance_state(moto, arn):
    ci = moto.client("ecs").describe_container_instances(cluster=CLUSTER, containerInstances=[arn])[
        "containerInstances"][0]
    return ci["status"], {a["name"]: a.get("value") for a in ci["attributes"] if a["name"].startswith("ecs_windows.")}


@pytest.fixture(scope="module")
def fleet(sim_factory, moto, aws_env, tmp_path_factory):
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "mcr.microsoft.com/windows/servercore/iis", "memory": 256, "cpu": 256}])
    sim = sim_factory(hosts=6, extra=["--ecs-endpoint", moto.url, "--ecs-region", REGION])
    work = tmp_path_factory.mktemp("wave")
    host_vars = work / "hosts.yml"
    host_vars.write_text(json.dumps({"windows_ecs": {
        "vars": {"container_instance_cluster": CLUSTER, "container_instance_boot_delay": 2},
        "hosts": {PLAIN: {"container_instance_on_boot": False}}}}))
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, work / "configure", args=["-i", str(host_vars)])
    assert run.rc == 0, run
    for host in HOSTS:
        sim.set(host, "reboot-downtime=1")
    sim.set(IIS, "iis=on")
    arns = {host: sim.state(host)["agent"]["saved_registration"]["container_instance_arn"] for host in HOSTS}
    return {"sim": sim, "env": aws_env, "work": work, "hosts": host_vars, "arns": arns,
            "ids": {host: arn.rsplit("/", 1)[-1] for host, arn in arns.items()}}


def wave(fleet, moto, step, *args, ecs=True, check=False, limit=None):
    extra = {"task_iam_batch_size": 2, "task_iam_poll_interval": 1}
    if ecs:
        extra.update(task_iam_ecs_region=REGION, task_iam_aws_endpoint_url=moto.url)
    moto.reset_recording()
    return run_playbook("ecs_windows.task_iam.rolling_reboot", fleet["sim"].inventory, fleet["work"] / step,
                        extra_vars=extra, env=fleet["env"], check=check, limit=limit,
                        args=["-i", str(fleet["hosts"])] + list(args))


def boots(sim):
    return {host: sim.state(host)["boot_id"] for host in HOSTS}


@pytest.fixture(scope="module")
def checked(fleet, moto):
    sim = fleet["sim"]
    before = {host: sim.state(host) for host in HOSTS}
    run = wave(fleet, moto, "check", check=True)
    return run, before, ecs_calls(moto)


@pytest.fixture(scope="module")
def rolled(fleet, moto, checked):
    """The wave, with a task on ecs-sim-001 that leaves TASK_STOPPED_AFTER_S seconds after the wave's first look at
    the drained batch (so at least that look sees it running, however loaded the machine is)."""
    ecs = moto.client("ecs")
    task = ecs.start_task(cluster=CLUSTER, taskDefinition="web", containerInstances=[fleet["arns"]["ecs-sim-001"]])
    task_arn = task["tasks"][0]["taskArn"]
    stopped = {}

    def looked_after_the_drain():
        """Both hosts of the first batch drained, then a look (DescribeContainerInstances) naming ecs-sim-001."""
        calls = [(action, [ci.rsplit("/", 1)[-1] for ci in body.get("containerInstances", [])], body.get("status"))
                 for action, body in ecs_calls(moto)]
        drained = [i for i, (action, ids, status) in enumerate(calls) if action == "UpdateContainerInstancesState"
                   and status == "DRAINING" and set(ids) & {fleet["ids"][host] for host in HOSTS[:2]}]
        return len(drained) == 2 and any(action == "DescribeContainerInstances" and fleet["ids"]["ecs-sim-001"] in ids
                                         for action, ids, status in calls[drained[-1] + 1:])

    def stop_after_the_first_look():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not looked_after_the_drain():
            time.sleep(0.2)
        time.sleep(TASK_STOPPED_AFTER_S)
        ecs.stop_task(cluster=CLUSTER, task=task_arn)
        stopped["at"] = time.time()

    thread = threading.Thread(target=stop_after_the_first_look, daemon=True)
    sim = fleet["sim"]
    before = boots(sim)
    moto.reset_recording()  # wave() resets it too; this one keeps the thread from reading an earlier run's calls
    thread.start()
    run = wave(fleet, moto, "wave")
    thread.join(timeout=30)
    return run, before, boots(sim), ecs_calls(moto), stopped


def test_check_mode_changes_nothing_in_ecs_or_on_the_hosts(fleet, moto, checked):
    run, before, calls = checked
    assert mutating(calls) == [] and "DescribeContainerInstances" in [a for a, b in calls]
    sim = fleet["sim"]
    assert {host: sim.state(host) for host in HOSTS} == before
    # It plans the drain it would make.
    planned = run.results("Change the container instances in ECS (on the controller)")
    assert [i["item"]["host"] for r in planned for i in r["result"].get("results", [])][:2] == HOSTS[:2]


def test_the_wave_goes_batch_by_batch_and_stops_at_the_broken_host(fleet, moto, rolled):
    run, before, after, calls, stopped = rolled
    assert run.rc == 2, run
    # Batches of 2 in order; each batch is drained, then rebooted, then reactivated before the next is drained.
    assert state_changes(calls, fleet["ids"]) == [
        ("ecs-sim-001", "DRAINING"), ("ecs-sim-002", "DRAINING"), ("ecs-sim-001", "ACTIVE"), ("ecs-sim-002", "ACTIVE"),
        ("ecs-sim-003", "DRAINING"), ("ecs-sim-004", "DRAINING"), ("ecs-sim-004", "ACTIVE")]
    assert [h for h in HOSTS if after[h] != before[h]] == HOSTS[:4]  # 005 and 006 were not rebooted
    for host in ("ecs-sim-001", "ecs-sim-002", "ecs-sim-004", "ecs-sim-005", "ecs-sim-006"):
        assert instance_state(moto, fleet["arns"][host]) == ("ACTIVE", {}), host
    # The broken host stays drained, marked as the wave's, for recover to return once it is healthy.
    status, attributes = instance_state(moto, fleet["arns"][IIS])
    assert status == "DRAINING" and attributes[MARKER].startswith("rolling_reboot ")
    [failure] = [r for r in run.records if r["status"] == "failed"]
    assert (failure["host"], failure["task"]) == (IIS, "Stop the wave at a host left unhealthy")
    message = failure["result"]["msg"]
    assert message.startswith("%s unhealthy after its reboot [port80_in_use" % IIS), message
    assert "W3SVC" in message
    assert message.endswith("The wave stops after this batch (ecs-sim-003, ecs-sim-004); not rebooted: ecs-sim-005, "
                            "ecs-sim-006.")
    outcome = {r["host"]: r["result"]["msg"] for r in run.results("Report the outcome")}
    assert sorted(outcome) == HOSTS[:4]
    assert "the boot-time repair repaired its credential proxy" in outcome["ecs-sim-001"]
    assert "credential_proxy repaired it (cause: stale_after_reboot)" in outcome[PLAIN]
    for host in ("ecs-sim-001", PLAIN, "ecs-sim-004"):
        assert outcome[host].startswith("rebooted (boot at "), outcome[host]
        assert "; returned to ACTIVE in ECS (drained by rolling_reboot at " in outcome[host], outcome[host]


def test_the_drain_waits_for_the_tasks_to_leave_with_a_line_per_look(fleet, moto, rolled):
    run, before, after, calls, stopped = rolled
    assert "at" in stopped
    # ecs-sim-001 was rebooted only after its task had stopped.
    assert fleet["sim"].state("ecs-sim-001")["booted_at_real"] > stopped["at"]
    looks = [line for line in run.stdout.splitlines()
             if line.startswith("FAILED - RETRYING: [ecs-sim-001 -> localhost]: Wait until the tasks of the batch")]
    # One line per look: each look says one retry fewer is left (how many looks fit in the wait depends on the load).
    left = [int(re.search(r"\((\d+) retries left\)", line).group(1)) for line in looks]
    assert left and left == list(range(left[0], left[0] - len(left), -1)), run.stdout


def test_a_task_that_does_not_leave_keeps_its_host_from_the_reboot(fleet, moto, rolled):
    sim, host = fleet["sim"], "ecs-sim-005"
    moto.client("ecs").start_task(cluster=CLUSTER, taskDefinition="web", containerInstances=[fleet["arns"][host]])
    boot = sim.state(host)["boot_id"]
    run = wave(fleet, moto, "stuck", "-e", "task_iam_drain_timeout=3", limit=host)
    assert run.rc == 2, run
    assert sim.state(host)["boot_id"] == boot
    [failure] = [r for r in run.records if r["status"] == "failed"]
    assert failure["result"]["msg"] == (
        "%s not rebooted: its tasks did not leave within task_iam_drain_timeout (3 s): 1 running, 0 pending; stop them "
        "or raise task_iam_drain_timeout. The wave stops after this batch (%s); not rebooted: none (this was the last "
        "batch)." % (host, host))
    # Not rebooted, healthy: back to ACTIVE.
    assert state_changes(ecs_calls(moto), fleet["ids"]) == [(host, "DRAINING"), (host, "ACTIVE")]
    assert instance_state(moto, fleet["arns"][host]) == ("ACTIVE", {})


def test_without_a_region_it_reboots_and_repairs_and_says_it_could_not_drain(fleet, moto, rolled):
    sim, host = fleet["sim"], "ecs-sim-006"
    boot = sim.state(host)["boot_id"]
    run = wave(fleet, moto, "no-region", ecs=False, limit=host)
    assert run.rc == 0, run
    assert sim.state(host)["boot_id"] != boot
    assert ecs_calls(moto) == []
    said = run.result(host, "Say that the batch is not drained")["msg"]
    assert said.startswith("Could not drain %s before the reboot: task_iam_ecs_region is not set" % host)
    summary = run.result(host, "Summarise the wave")["msg"]
    assert summary[0] == "Rebooted 1 host, every batch healthy (not drained: no task_iam_ecs_region)"
    assert summary[1].startswith("%s: rebooted (boot at " % host) and "healthy" in summary[1]
