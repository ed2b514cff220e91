# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, items 4, 6, 10 and 13, through real ansible-playbook runs against simulated hosts.

4. Role options given as strings on the command line (`-e name=value`) work as their documented types: configure
   converges, then has nothing to change; a value that is not of its type is refused before any task touches a host.
6. An administered excluded port range holding the agent's ports (what the fix of `agent_port_excluded` adds) is the
   fix, not a finding: the agent module starts the agent there, and the facts keep the range's administered mark.
10. Two runs on one host at once: the second waits for the host lock and fails `locked` naming the holder (with a short
   lock_timeout), or (with a long one) waits and then plans again on what the first left, changing nothing twice.
13. `ecs-windows-sim serve` keeps its state dir (WinRM password, Machine environments) owner-only: 0700 and 0600.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import stat
import time

import pytest

from configure_plays import control, run_phase, setup, task
from ecs_integration import Simulator, run_playbook

STRINGS, BADSTRING, EXCLUDED, LOCKED = ("ecs-sim-%03d" % n for n in range(1, 5))
CLUSTER = "hostile"
ROLE = "ecs_windows.task_iam.container_instance : "
ROLE_TASK = ROLE + "Configure the agent, the credential proxy and the container routes, and verify the instance"
PROXY = "http://proxy.corp.example:3128"
# Every option as -e name=value gives it: a string.
STRING_OPTIONS = {
    "container_instance_cluster": CLUSTER,
    "container_instance_container_routes": "false",
    "container_instance_on_boot": "true",
    "container_instance_boot_delay": "2",
    "container_instance_enable_task_eni": "no",
    "container_instance_awsvpc_block_imds": "False",
    "container_instance_force_reregister": "0",
    "container_instance_install_ecstools": "false",
    "container_instance_registration_timeout": "60",
    "container_instance_init_attempts": "2",
    "container_instance_init_retry_delay": "0",
    "container_instance_init_timeout": "600",
    "container_instance_lock_timeout": "30",
    "container_instance_logging_drivers": "json-file,awslogs",
    "container_instance_http_proxy": PROXY,
    "container_instance_no_proxy": "10.0.0.0/8",
    "container_instance_imds": "allow",
}


def dash_e(options):
    return [word for name, value in options.items() for word in ("-e", "%s=%s" % (name, value))]


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=4)
    # Launch user data, then winnat took a dynamic range holding 51679 while the agent was stopped (a reboot).
    setup(sim, EXCLUDED, "init-agent=" + CLUSTER, "excluded-port=51679", "agent=stopped")
    setup(sim, LOCKED, "registration-delay=8")
    return sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile-runs")


# --- 4. role options as strings ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def string_runs(sim, workdir):
    runs = []
    for n in (1, 2):
        control(sim, "counters", reset=True)
        run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, workdir / ("strings%d" % n), limit=STRINGS,
                           args=dash_e(STRING_OPTIONS))
        runs.append((run, control(sim, "counters", STRINGS)["commands"], control(sim, "state", STRINGS)))
    return runs


def test_role_options_given_as_strings_converge_then_change_nothing(string_runs):
    (first, _n, state), (second, commands, after) = string_runs
    assert first.rc == 0, first
    result = first.result(STRINGS, ROLE_TASK)
    assert result["changed"] is True and result["healthy"] is True, result
    env = state["machine_env"]
    assert json.loads(env["ECS_AVAILABLE_LOGGING_DRIVERS"]) == ["json-file", "awslogs"]
    assert env["HTTP_PROXY"] == PROXY and env["NO_PROXY"].endswith(",10.0.0.0/8")
    assert "ECS_ENABLE_TASK_ENI" not in env and "ECS_AWSVPC_BLOCK_IMDS" not in env
    boot = [t for t in state["scheduled_tasks"] if t["name"] == "Recover-ECSCredentialProxy"]
    assert len(boot) == 1 and boot[0]["delay"] == "PT2S", boot
    assert second.rc == 0, second
    again = second.result(STRINGS, ROLE_TASK)
    assert again["changed"] is False and again["changes"] == [] and commands == 1, again
    assert after["machine_env"] == env


@pytest.mark.parametrize("name, value", [
    ("container_instance_on_boot", "sometimes"),
    ("container_instance_container_routes", "maybe"),
    ("container_instance_boot_delay", "soon"),
    ("container_instance_registration_timeout", "1.5"),
])
def test_a_string_that_is_not_of_its_type_is_refused_before_any_task_touches_the_host(sim, tmp_path, name, value):
    control(sim, "counters", reset=True)
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path, limit=BADSTRING,
                       args=dash_e({"container_instance_cluster": CLUSTER, name: value}))
    assert run.rc == 2, run
    failed = [r for r in run.records if r["status"] == "failed"]
    # configure checks the role variables itself before the role (and its argument spec) runs.
    assert len(failed) == 1 and failed[0]["task"] == "Check the role variables (container_instance_*) before anything is sent", failed
    assert failed[0]["result"]["msg"].startswith("%s=%r is not " % (name, value)), failed[0]["result"]["msg"]
    assert control(sim, "counters", BADSTRING)["http_requests"] == 0


# --- 6. administered excluded ranges -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def excluded(sim, workdir):
    before = run_phase(sim, workdir, {EXCLUDED: [task("agent", {"cluster": CLUSTER}, ignore_errors=True)]})
    # The operator runs the fix: winnat's range gone, 51678-51679 reserved with netsh (administered, netsh's `*`).
    setup(sim, EXCLUDED, "excluded-port=none", "excluded-port=51678-51679:administered")
    after = run_phase(sim, workdir, {EXCLUDED: [task("agent", {"cluster": CLUSTER}, name="agent after the fix"),
                                                task("agent", {"cluster": CLUSTER}, name="agent again"),
                                                task("instance_info", {"container_detail": "none"})]})
    return before, after


def test_a_dynamic_exclusion_is_refused_with_the_netsh_fix(excluded):
    before, _after = excluded
    result = before.result(EXCLUDED)
    assert before.status(EXCLUDED) == "failed" and result["changed"] is False, result
    assert [f["code"] for f in result["findings"]] == ["agent_port_excluded"]
    assert "netsh int ipv4 add excludedportrange protocol=tcp startport=51678 numberofports=2" in result["msg"]
    assert before.commands[EXCLUDED] == 1 and before.states[EXCLUDED] == before.before[EXCLUDED]


def test_the_administered_range_of_the_fix_is_not_a_finding(excluded):
    _before, after = excluded
    assert after.run.rc == 0, after.run
    fixed = after.result(EXCLUDED, "agent after the fix")
    assert fixed["changed"] is True and "start AmazonECS (it is Stopped)" in fixed["changes"], fixed
    assert after.result(EXCLUDED, "agent again")["changed"] is False
    info = after.result(EXCLUDED, "instance_info")
    assert info["healthy"] is True and info["findings"] == []
    assert info["excluded_port_ranges"] == [{"start": 51678, "end": 51679, "administered": True}]
    assert info["endpoints"]["agent_tmds"]["ok"] is True and info["endpoints"]["proxy"]["ok"] is True


# --- 10. two runs at once on one host --------------------------------------------------------------------------------


def _agent_play(host, **args):
    return ("- hosts: %s\n  gather_facts: false\n  tasks:\n    - name: agent\n      ecs_windows.task_iam.agent: %s\n"
            % (host, json.dumps(dict({"cluster": CLUSTER}, **args))))


@pytest.fixture(scope="module")
def two_runs_at_once(sim, workdir):
    """Run A initialises the agent (its batch waits 8 s for the registration, holding the lock); B (lock_timeout 2)
    and C (lock_timeout 300) start while A holds the lock."""
    def timed(name, lock_timeout):
        started = time.monotonic()
        run = run_playbook(_agent_play(LOCKED, lock_timeout=lock_timeout), sim.inventory, workdir / name)
        return run, started, time.monotonic()

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first = pool.submit(timed, "A", 300)
        deadline = time.monotonic() + 60
        while control(sim, "state", LOCKED)["mutex_holder"] is None:
            assert time.monotonic() < deadline and not first.done(), "run A never held the host lock"
            time.sleep(0.05)
        held_at = time.monotonic()
        second, third = pool.submit(timed, "B", 2), pool.submit(timed, "C", 300)
        return {"A": first.result(), "B": second.result(), "C": third.result(), "held_at": held_at}


def test_the_second_run_waits_then_fails_locked_naming_the_holder(two_runs_at_once):
    run, started, ended = two_runs_at_once["B"]
    a_ended = two_runs_at_once["A"][2]
    assert run.rc == 2, run
    result = run.result(LOCKED, "agent")
    assert result["category"] == "locked" and result["changed"] is False, result
    assert ("the host lock Global\\ecs_windows.task_iam is held by Ansible task ecs_windows.task_iam.agent (pid "
            in result["msg"]), result["msg"]
    assert "this task waited 2 s for it (lock_timeout 2 s)" in result["msg"], result["msg"]
    assert ended - started >= 2 and ended < a_ended, (started, ended, a_ended)
    assert "waiting for it: 0 s of lock_timeout 2 s" in run.stdout  # the progress line, at default verbosity


def test_a_run_that_waits_for_the_lock_plans_again_and_changes_nothing_twice(two_runs_at_once):
    first = two_runs_at_once["A"][0]
    assert first.rc == 0, first
    assert first.result(LOCKED, "agent")["changed"] is True
    run, _started, ended = two_runs_at_once["C"]
    assert run.rc == 0, run
    result = run.result(LOCKED, "agent")
    # The first run initialised the agent: the waiting one, planning again on the host as it was left, has nothing to
    # do (before, it ran the plan it had made before the wait and initialised the agent a second time).
    assert result["changed"] is False and result["changes"] == [], result
    assert result["healthy"] is True
    # It waited for the first run's batch (8 s of registration), in probes that hold the lock: probe, the planned
    # batch (refused at once: locked), the probe that waited.
    assert ended - two_runs_at_once["held_at"] >= 5 and result["commands"] == 3, (ended, two_runs_at_once["held_at"])


# --- 13. the simulator's state dir -----------------------------------------------------------------------------------


def test_serve_keeps_its_state_dir_owner_only(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o755)
    state_dir.chmod(0o755)
    old = os.umask(0o022)  # what most shells have: files 0644 unless the server says otherwise
    try:
        sim = Simulator.start(state_dir, hosts=1)
    finally:
        os.umask(old)
    try:
        secret = "Auth-pw-%d" % os.getpid()
        run = run_playbook(_agent_play("ecs-sim-001", environment={"ECS_ENGINE_AUTH_DATA": secret}), sim.inventory,
                           tmp_path / "run")
        assert run.rc == 0, run
        sim.ctl("set", "ecs-sim-001", "machine-env:DD_API_KEY=" + secret)
        assert secret in (state_dir / "hosts" / "ecs-sim-001.json").read_text()  # what the modes protect
        assert "Sim-Passw0rd!" in (state_dir / "inventory.yml").read_text()
        modes, wrong = {}, {}
        for path in [state_dir] + sorted(state_dir.rglob("*")):
            name, mode = str(path.relative_to(state_dir)), stat.S_IMODE(path.lstat().st_mode)
            modes[name] = mode
            if mode != (0o700 if path.is_dir() else 0o600):
                wrong[name] = oct(mode)
        assert not wrong, wrong
        assert {"inventory.yml", "ntlm_users", "server.json", "server.pid", "control.sock", "tls/key.pem",
                "tls/cert.pem", "hosts/ecs-sim-001.json"} <= set(modes)
    finally:
        sim.stop()
