# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, items 2, 7 and 11, through real ansible-playbook runs against simulated hosts that really reboot.

2. A setting changed with the `agent` module alone survives a reboot: the boot repair reads the agent's settings from
   the host when it runs. A boot task that still embeds settings (an earlier version's) is `boot_task_outdated`, with
   its fix, and configure installs the current one.
7. Integer options have bounds and refuse booleans before anything is sent (modules and the role); a boot repair that
   fails before it writes a log line is still seen: `boot_recovery_failed` from the task's last result, in
   instance_info and in the fleet report.
11. A boot folder a local user created and owns is reported (`boot_folder_insecure`, with the fix) and configure takes
   it over: owner Administrators, SYSTEM and Administrators only, inheritance off, the planted script and the forged
   log line gone.
"""

from __future__ import annotations

import json
import time

import pytest

import hostile_pwsh as ps
from configure_plays import control, run_phase, setup, task
from ecs_integration import run_playbook

DRIFT, OUTDATED, FAILBOOT, INSECURE, BOUNDS = ("ecs-sim-%03d" % n for n in range(1, 6))
CLUSTER = "hostile"
ROLE_TASK = ("ecs_windows.task_iam.container_instance : "
             "Configure the agent, the credential proxy and the container routes, and verify the instance")
DRIVERS = ["json-file", "awslogs"]
HUGE = 9223372036854775808
BOUND_TASKS = {
    "credential_proxy huge boot_delay": ("credential_proxy", {"boot_delay": HUGE}, "boot_delay must be 0 to 3600, got %d" % HUGE),
    "credential_proxy boolean timeout": ("credential_proxy", {"registration_timeout": True},
                                         "registration_timeout must be an integer, got a boolean (true)"),
    "agent boolean timeout": ("agent", {"cluster": CLUSTER, "registration_timeout": True},
                              "registration_timeout must be an integer, got a boolean (true)"),
    "agent boolean attempts": ("agent", {"cluster": CLUSTER, "init_attempts": False},
                               "init_attempts must be an integer, got a boolean (false)"),
    "instance huge boot_delay": ("instance", {"cluster": CLUSTER, "boot_delay": HUGE}, "boot_delay must be 0 to 3600"),
    "instance negative lock_timeout": ("instance", {"cluster": CLUSTER, "lock_timeout": -1}, "lock_timeout must be 0 to 3600"),
}


def collection_module(name):
    return ps.collection_module("plugins.plugin_utils." + name)


def boot_task_call(script, delay_s=1):
    boot = collection_module("_boot_task")
    args = boot.boot_task_args("present", boot.recover_args(5, 10, 300, 900), delay_s)
    return {"op": "boot_task", "args": dict(args, script=script)}


def ops_task(name, *calls):
    """A task of the tests' ecs_test_ops action (tests/integration/action_plugins): ops sent as a module sends them."""
    return {"name": name, "ecs_test_ops": {"calls": list(calls)}}


def earlier_versions_script():
    """A boot script as an earlier version wrote it: the settings of its install embedded (json-file only)."""
    script = collection_module("_script")
    boot = collection_module("_boot_task")
    settings = {"cluster": CLUSTER, "enable_task_iam_role": True, "version": None, "logging_drivers": ["json-file"],
                "enable_task_eni": False, "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None}
    calls = boot._calls(boot.recover_args(5, 10, 300, 900))[:1] + [
        ("init_agent", {"settings": settings, "timeout_s": 900, "attempts": 5, "retry_delay_s": 10})]
    return script.build_script(calls, lock={"wait_s": boot.LOCK_WAIT_S, "holder": boot.LOCK_HOLDER})


def script_refused_before_logging():
    """The boot script of `registration_timeout: true` before issue 9: the host refuses its batch (a boolean where an
    integer is wanted) before recover_proxy writes its first log line."""
    boot = collection_module("_boot_task")
    return boot.script(boot.recover_args(5, 10, True, 900))


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=5)
    # A local user created the boot folder first, planted a script and forged a "repaired" line; the host was set up
    # by launch user data.
    setup(sim, INSECURE, "init-agent=" + CLUSTER, "boot-folder=user-owned")
    return sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile-boot")


def configure(sim, workdir, name, hosts, host_vars=None, extra=None):
    inventory = workdir / ("%s-vars.yml" % name)
    inventory.write_text(json.dumps({"windows_ecs": {"hosts": {h: (host_vars or {}).get(h, {}) for h in hosts}}}))
    control(sim, "counters", reset=True)
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, workdir / name, limit=",".join(hosts),
                       extra_vars=dict({"container_instance_cluster": CLUSTER, "container_instance_boot_delay": 1},
                                       **(extra or {})),
                       args=["-i", str(inventory)])
    counters = control(sim, "counters")["hosts"]
    return run, {h: counters[h]["commands"] for h in hosts}


@pytest.fixture(scope="module")
def before_configure(sim, workdir):
    return run_phase(sim, workdir, {
        INSECURE: [task("instance_info", {"container_detail": "none"})],
        BOUNDS: [task(module, args, name=name, ignore_errors=True) for name, (module, args, _m) in BOUND_TASKS.items()],
    })


@pytest.fixture(scope="module")
def first_configure(sim, workdir, before_configure):
    return configure(sim, workdir, "configure1", [DRIFT, OUTDATED, FAILBOOT, INSECURE],
                     host_vars={OUTDATED: {"container_instance_logging_drivers": ["json-file"]}})


@pytest.fixture(scope="module")
def changed_alone(sim, workdir, first_configure):
    """The agent module alone changes the log drivers; an earlier version's boot task, a boot script the host refuses."""
    return run_phase(sim, workdir, {
        DRIFT: [task("agent", {"cluster": CLUSTER, "logging_drivers": DRIVERS})],
        OUTDATED: [ops_task("old boot task", boot_task_call(earlier_versions_script())),
                   task("agent", {"cluster": CLUSTER, "logging_drivers": DRIVERS}),
                   task("instance_info", {"container_detail": "none"})],
        FAILBOOT: [ops_task("bad boot task", boot_task_call(script_refused_before_logging()))],
        INSECURE: [task("instance_info", {"container_detail": "none"})],
    })


@pytest.fixture(scope="module")
def after_reboot(sim, workdir, changed_alone):
    for host in (DRIFT, FAILBOOT):
        control(sim, "reboot", host, downtime=0.5)
    for host in (DRIFT, FAILBOOT):
        _wait_booted(sim, host)
    return run_phase(sim, workdir, {
        DRIFT: [task("instance_info", {"container_detail": "none"})],
        FAILBOOT: [task("instance_info", {"container_detail": "none"})],
    })


def _wait_booted(sim, host):
    """Until the host answers WinRM and its startup tasks (the boot repair, after its delay) have finished."""
    deadline = time.monotonic() + 90
    while True:
        counters = control(sim, "counters", host)
        if counters.get("status") == "up" and not counters.get("boot_tasks_running"):
            return
        assert time.monotonic() < deadline, "%s did not come back" % host
        time.sleep(0.1)


@pytest.fixture(scope="module")
def verified(sim, workdir, after_reboot):
    reports = workdir / "reports"
    run = run_playbook("ecs_windows.task_iam.verify", sim.inventory, workdir / "verify", limit=",".join([DRIFT, FAILBOOT]),
                       extra_vars={"task_iam_report_dir": str(reports)})
    return run, json.loads((reports / "fleet-report.json").read_text()), (reports / "fleet-report.md").read_text()


@pytest.fixture(scope="module")
def second_configure(sim, workdir, verified):
    return configure(sim, workdir, "configure2", [OUTDATED, FAILBOOT],
                     host_vars={OUTDATED: {"container_instance_logging_drivers": DRIVERS}})


def codes(result):
    return [f["code"] for f in result["findings"]]


# --- 2. a reboot never undoes a setting -------------------------------------------------------------------------------


def test_a_setting_changed_with_the_agent_module_alone_survives_a_reboot(sim, first_configure, changed_alone, after_reboot):
    run, _commands = first_configure
    assert run.rc == 0, run
    assert run.result(DRIFT, ROLE_TASK)["facts"]["boot_recovery"]["installed"] is True
    assert changed_alone.status(DRIFT) == "ok" and changed_alone.result(DRIFT)["changed"] is True, changed_alone.run
    assert changed_alone.result(DRIFT)["findings"] == []  # the boot task reads the settings at boot: not outdated

    result = after_reboot.result(DRIFT)
    assert result["host"]["boot_id"] != changed_alone.result(DRIFT)["facts"]["host"]["boot_id"]  # it rebooted
    assert result["boot_recovery"]["healed_this_boot"] is True, result["boot_recovery"]
    assert result["boot_recovery"]["last"]["action"] == "repaired"
    assert result["healthy"] is True and result["findings"] == [], result["findings"]
    assert json.loads(result["machine_env"]["ECS_AVAILABLE_LOGGING_DRIVERS"]) == DRIVERS
    # The agent the boot repair initialised runs with the new drivers.
    state = after_reboot.states[DRIFT]
    assert json.loads(state["agent"]["running_config"]["ECS_AVAILABLE_LOGGING_DRIVERS"]) == DRIVERS


def test_a_boot_task_that_embeds_settings_is_outdated_with_its_fix(changed_alone):
    assert changed_alone.run.rc == 0, changed_alone.run
    result = changed_alone.result(OUTDATED, "instance_info")
    found = {f["code"]: f for f in result["findings"]}
    assert list(found) == ["boot_task_outdated"] and result["healthy"] is False, result["findings"]
    assert "was not written by this version of the collection" in found["boot_task_outdated"]["message"]
    assert "reads the agent's settings at boot" in found["boot_task_outdated"]["message"]
    assert found["boot_task_outdated"]["fix"].startswith("run ecs_windows.task_iam.configure")
    # The agent module's own result says so too (every host module returns the findings).
    assert [f["code"] for f in changed_alone.result(OUTDATED, "agent")["findings"]] == ["boot_task_outdated"]


def test_configure_replaces_the_outdated_boot_task(sim, second_configure):
    run, commands = second_configure
    result = run.result(OUTDATED, ROLE_TASK)
    assert run.status(OUTDATED, ROLE_TASK) == "ok" and result["changed"] is True, run
    assert result["healthy"] is True and result["findings"] == []
    batch = result["facts"]["boot"]["script_batch"]
    assert [call["op"] for call in batch["ops"]] == ["wait_task_idle", "recover_proxy"]
    assert commands[OUTDATED] == result["commands"]


# --- 7. bounds, booleans, and a boot repair that fails before logging ---------------------------------------------


def test_integer_options_out_of_bounds_or_boolean_are_refused_before_sending(sim, before_configure):
    for name, (module, _args, message) in BOUND_TASKS.items():
        result = before_configure.result(BOUNDS, name)
        assert before_configure.status(BOUNDS, name) == "failed", (name, result)
        assert result["msg"] == "invalid arguments for ecs_windows.task_iam.%s: %s" % (module, result["msg"].split(": ", 1)[1])
        assert message in result["msg"], (name, result["msg"])
    assert before_configure.commands[BOUNDS] == 0


@pytest.mark.parametrize("extra, message", [
    # -e name=value gives a string: the role's argument spec makes it an int, the module's bounds refuse it.
    (["-e", "container_instance_boot_delay=%d" % HUGE], "boot_delay must be 0 to 3600, got %d" % HUGE),
    # A boolean is refused by configure's check of the role variables, before the role runs.
    (["-e", json.dumps({"container_instance_registration_timeout": True})],
     "container_instance_registration_timeout=True is not an integer"),
])
def test_the_role_refuses_them_before_any_task_touches_the_host(sim, workdir, tmp_path, extra, message):
    control(sim, "counters", reset=True)
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path, limit=BOUNDS,
                       extra_vars={"container_instance_cluster": CLUSTER}, args=extra)
    assert run.rc == 2, run
    failed = [r for r in run.records if r["status"] == "failed"]
    assert len(failed) == 1 and message in failed[0]["result"]["msg"], failed
    assert control(sim, "counters", BOUNDS)["commands"] == 0


def test_a_boot_repair_that_fails_before_logging_is_boot_recovery_failed(after_reboot):
    result = after_reboot.result(FAILBOOT)
    found = {f["code"]: f for f in result["findings"]}
    assert "boot_recovery_failed" in found and result["healthy"] is False, result["findings"]
    assert "did not log anything at this boot" in found["boot_recovery_failed"]["message"]
    assert "ended with 0x00000001" in found["boot_recovery_failed"]["message"]
    assert result["boot_recovery"]["healed_this_boot"] is False
    # The log holds no line of this boot: the host refused the script before recover_proxy ran.
    last = result["boot_recovery"]["last"]
    assert last is None or last["boot_id"] != result["host"]["boot_id"]


def test_the_fleet_report_does_not_say_it_heals_at_boot(verified):
    run, report, markdown = verified
    rows = {row["host"]: row for row in report["hosts"]}
    assert rows[DRIFT]["health"] == "healthy" and rows[DRIFT]["healed_at_boot"], rows[DRIFT]
    row = rows[FAILBOOT]
    assert row["health"] == "broken" and "boot_recovery_failed" in row["findings"], row
    assert not row["healed_at_boot"]
    line = [line for line in markdown.splitlines() if line.startswith("| %s " % FAILBOOT)]
    assert len(line) == 1 and "boot_recovery_failed" in line[0] and "repaired itself" not in line[0], line
    assert run.rc == 2  # verify fails the broken host


def test_the_fleet_report_does_not_say_yes_heals_at_boot_when_the_boot_repair_failed(verified):
    _run, _report, markdown = verified
    line = [line for line in markdown.splitlines() if line.startswith("| %s " % FAILBOOT)][0]
    assert not line.rstrip(" |").endswith("| yes"), line


def test_configure_repairs_the_failed_boot_repair(second_configure):
    run, _commands = second_configure
    result = run.result(FAILBOOT, ROLE_TASK)
    assert run.status(FAILBOOT, ROLE_TASK) == "ok" and result["healthy"] is True, result["findings"]


# --- 11. a boot folder a local user owns ------------------------------------------------------------------------------


def test_a_user_owned_boot_folder_is_reported_with_its_fix(before_configure):
    result = before_configure.result(INSECURE)
    found = {f["code"]: f for f in result["findings"]}
    assert "boot_folder_insecure" in found, result["findings"]
    message = found["boot_folder_insecure"]["message"]
    assert "the folder is owned by" in message and "may change the folder" in message
    assert "inherits its permissions from C:\\ProgramData" in message
    assert found["boot_folder_insecure"]["fix"].startswith("run ecs_windows.task_iam.configure")
    assert result["healthy"] is False


def test_configure_takes_the_folder_over(first_configure, changed_alone):
    run, _commands = first_configure
    result = run.result(INSECURE, ROLE_TASK)
    assert run.status(INSECURE, ROLE_TASK) == "ok" and result["healthy"] is True, result["findings"]
    boot = changed_alone.result(INSECURE)["boot"]
    assert boot["folder"]["owner_sid"] == "S-1-5-32-544" and boot["folder"]["protected"] is True, boot["folder"]
    assert boot["folder"]["writable_by"] == [] and boot["script"]["writable_by"] == []
    # The planted script is the collection's now, and the forged "repaired" line is gone with the old log.
    assert [call["op"] for call in boot["script_batch"]["ops"]] == ["wait_task_idle", "recover_proxy"]
    assert changed_alone.result(INSECURE)["boot_recovery"]["healed_this_boot"] is False
    assert "boot_folder_insecure" not in codes(changed_alone.result(INSECURE))
