# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the runbook costs per host, read from the simulator's counters through real ansible-playbook runs (issue 10):
these fail when a run costs more WinRM commands, or more bytes, than its target.

Targets: `configure --check --diff` of a fresh ECS-optimized instance 1 command, with a diff that shows everything
the real run does (the boot task included); its first configure at most 2; a configure with nothing to change 1;
verify 1 command of at most 20 KiB on the wire (HTTPS + NTLM) once the collection has met the host.
"""

from __future__ import annotations

import pytest

from ecs_integration import run_playbook

CLUSTER = "costs"
CHECKED, CONFIGURED = "ecs-sim-001", "ecs-sim-002"
VERIFY_BYTES_TARGET = 20 * 1024


@pytest.fixture(scope="module")
def sim(sim_factory):
    return sim_factory(hosts=2)


@pytest.fixture(scope="module")
def runs(sim, tmp_path_factory):
    """check+diff on CHECKED; configure twice and verify on CONFIGURED; the counters of each run."""
    work = tmp_path_factory.mktemp("costs")
    out = {}

    def run(name, playbook, limit, **kwargs):
        sim.reset_counters()
        result = run_playbook(playbook, sim.inventory, work, limit=limit,
                              extra_vars={"container_instance_cluster": CLUSTER}, **kwargs)
        out[name] = (result, sim.counters(limit))

    run("check", "ecs_windows.task_iam.configure", CHECKED, check=True, diff=True)
    run("first", "ecs_windows.task_iam.configure", CONFIGURED)
    run("second", "ecs_windows.task_iam.configure", CONFIGURED)
    run("verify", "ecs_windows.task_iam.verify", CONFIGURED)
    return out


def instance_result(run, host):
    found = [r for r in run.records if r["host"] == host and r["action"] == "ecs_windows.task_iam.instance"]
    assert len(found) == 1, run
    return found[0]["result"]


def test_check_diff_of_a_fresh_instance_is_one_command_and_shows_the_whole_plan(sim, runs):
    run, counters = runs["check"]
    assert run.rc == 0, run
    assert counters["commands"] == 1, counters
    result = instance_result(run, CHECKED)
    assert result["changed"] is True and result["commands"] == 1
    changes = " | ".join(result["changes"])
    assert "Initialize-ECSAgent -Cluster costs -EnableTaskIAMRole" in changes
    assert "startup task" in changes, changes  # the proxy part is planned on the state the agent's plan leads to
    after = result["diff"]["after"]
    assert after["credential_proxy"]["boot_task"]["task"]["at_startup"] is True, after
    assert sim.state(CHECKED)["machine_env"].get("ECS_CLUSTER") is None  # check mode changed nothing


def test_first_configure_of_a_fresh_instance_is_at_most_two_commands(runs):
    run, counters = runs["first"]
    assert run.rc == 0, run
    assert counters["commands"] <= 2, counters
    result = instance_result(run, CONFIGURED)
    assert result["changed"] is True and result["healthy"] is True, result["findings"]


def test_configure_with_nothing_to_change_is_one_command(runs):
    run, counters = runs["second"]
    assert run.rc == 0, run
    assert counters["commands"] == 1, counters
    assert instance_result(run, CONFIGURED)["changed"] is False


def test_verify_is_one_small_command(runs):
    run, counters = runs["verify"]
    assert run.rc == 0, run
    assert counters["commands"] == 1, counters
    assert counters["bytes_in"] <= VERIFY_BYTES_TARGET, counters


def test_minus_v_names_the_slowest_probe_sections(sim, runs, tmp_path):
    # probe-latency models a slow host section (a real host's slow CIM or docker query): -v says where time goes.
    sim.set(CONFIGURED, "probe-latency=containers:1200", "probe-latency=services:400")
    try:
        run = run_playbook("- hosts: %s\n  gather_facts: false\n  tasks:\n    - ecs_windows.task_iam.instance_info:\n"
                           % CONFIGURED, sim.inventory, tmp_path, verbosity=1)
    finally:
        sim.set(CONFIGURED, "probe-latency=none")
    assert run.rc == 0, run
    line = next(line for line in run.stdout.splitlines() if "slowest sections" in line)
    assert "slowest sections: containers 12" in line and "services 4" in line, line
    timings = run.records[0]["result"]["timings_ms"]
    assert timings["containers"] >= 1200 and timings["services"] >= 400, timings
