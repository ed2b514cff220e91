# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role and the runbook playbooks against simulated hosts: fleet report, recover, AWX's engine, arg specs."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from ecs_integration import ROOT, ansible_env, run_playbook

CLUSTER = "fleet"
ROLE = "ecs_windows.task_iam.container_instance : "
INSTANCE_TASK = ROLE + "Configure the agent, the credential proxy and the container routes, and verify the instance"
ROLE_VARS_TASK = "Check the role variables (container_instance_*) before anything is sent"
PASSWORD_KEY = "ansible_password"


def host(n):
    return "ecs-sim-%03d" % n


# A fleet of 20 in the states ops meet after a patch wave.
SELF_HEALING_REBOOTED = [host(n) for n in (1, 2, 3, 4)]      # configure (on_boot), then rebooted
SELF_HEALING_IIS = [host(5), host(6)]                        # configure, then IIS started on port 80
SELF_HEALING = [host(n) for n in (7, 8, 9, 10)]              # configure, untouched
PLAIN_REBOOTED = [host(n) for n in (11, 12, 13, 14)]         # launch user data only, rebooted
PLAIN_REBOOTED_IIS = [host(15)]                              # launch user data, IIS on, rebooted
PLAIN = [host(16)]                                           # launch user data only, untouched
FRESH = [host(17), host(18)]                                 # never initialised
UNREACHABLE = [host(19)]                                     # rebooting during verify
PLAIN_EXCLUDED = [host(20)]                                  # launch user data, 51679 excluded, rebooted
CONFIGURED = SELF_HEALING_REBOOTED + SELF_HEALING_IIS + SELF_HEALING


@pytest.fixture(scope="module")
def fleet(sim_factory, tmp_path_factory):
    sim = sim_factory(hosts=20)
    work = tmp_path_factory.mktemp("fleet")
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, work, limit=",".join(CONFIGURED),
                       extra_vars={"container_instance_cluster": CLUSTER}, args=["-f", "10"])
    assert run.rc == 0, run
    for name in PLAIN_REBOOTED + PLAIN_REBOOTED_IIS + PLAIN + PLAIN_EXCLUDED + UNREACHABLE:
        sim.set(name, "init-agent=%s" % CLUSTER)
    for name in SELF_HEALING_IIS + PLAIN_REBOOTED_IIS:
        sim.set(name, "iis=on")
    sim.set(PLAIN_EXCLUDED[0], "excluded-port=51679")
    for name in SELF_HEALING_REBOOTED + PLAIN_REBOOTED + PLAIN_REBOOTED_IIS + PLAIN_EXCLUDED:
        sim.reboot(name, downtime=0.2, wait=False)
    for name in SELF_HEALING_REBOOTED + PLAIN_REBOOTED + PLAIN_REBOOTED_IIS + PLAIN_EXCLUDED:
        sim.wait_up(name)
    sim.reboot(UNREACHABLE[0], downtime=600, wait=False)
    return sim


@pytest.fixture(scope="module")
def after_reboot(fleet, tmp_path_factory):
    """verify over the 20 hosts: its run and the report it wrote."""
    work = tmp_path_factory.mktemp("verify")
    fleet.reset_counters()
    run = run_playbook("ecs_windows.task_iam.verify", fleet.inventory, work, args=["-f", "20"],
                       extra_vars={"task_iam_report_dir": str(work / "reports")})
    return run, work / "reports", fleet.counters()["hosts"]


@pytest.fixture(scope="module")
def recovered(fleet, after_reboot, tmp_path_factory):
    work = tmp_path_factory.mktemp("recover")
    fleet.reset_counters()
    # Without the host that is still rebooting: its retries would only add wall time (verify covers it).
    run = run_playbook("ecs_windows.task_iam.recover", fleet.inventory, work, args=["-f", "20"],
                       limit="all:!%s" % UNREACHABLE[0], extra_vars={"task_iam_report_dir": str(work)})
    return run, json.loads((work / "fleet-report.json").read_text()), fleet.counters()["hosts"]


def rows(report):
    return {row["host"]: row for row in report["hosts"]}


def test_verify_fails_only_the_unhealthy_hosts(after_reboot):
    run, dummy, dummy2 = after_reboot
    assert run.rc == 2, run
    failed = {r["host"] for r in run.results("Fail the host when it is not healthy") if r["status"] == "failed"}
    assert failed == set(SELF_HEALING_IIS + PLAIN_REBOOTED + PLAIN_REBOOTED_IIS + FRESH + UNREACHABLE + PLAIN_EXCLUDED)


def test_verify_is_one_winrm_command_per_host_and_changes_nothing(fleet, after_reboot, tmp_path):
    run, dummy, counters = after_reboot
    reachable = [h for h in counters if h not in UNREACHABLE]
    remote = [r for r in run.records if r["action"] == "ecs_windows.task_iam.instance_info"]
    assert len(remote) == 20 and not [r for r in remote if r["result"].get("changed")]
    cache = {r["host"]: r["result"]["cache"] for r in remote}
    # A host the collection has met (configure stored its op library there): one command, the cached library runs.
    # The first contact with a host the collection never touched costs 2: the first command carries no code and the
    # host answers `cache: miss`, the second sends the code and stores the library (issue 10, docs/dev/op-contract.md).
    for name in reachable:
        met = name in CONFIGURED
        assert (counters[name]["commands"], cache[name]) == ((1, "hit") if met else (2, "stored")), (name, cache[name])
    # From then on every verify is one command per host.
    fleet.reset_counters()
    again = run_playbook("ecs_windows.task_iam.verify", fleet.inventory, tmp_path, args=["-f", "20"],
                         limit="all:!%s" % UNREACHABLE[0], extra_vars={"task_iam_report_dir": str(tmp_path)})
    assert again.rc == 2, again
    counters = fleet.counters()["hosts"]
    assert {h: counters[h]["commands"] for h in reachable} == {h: 1 for h in reachable}
    assert {r["result"]["cache"] for r in again.records if r["action"] == "ecs_windows.task_iam.instance_info"} == {"hit"}


def test_fleet_report_lists_every_host_with_state_and_remedy(after_reboot):
    dummy, reports, dummy2 = after_reboot
    report = json.loads((reports / "fleet-report.json").read_text())
    by_host = rows(report)
    assert sorted(by_host) == [host(n) for n in range(1, 21)]
    assert report["summary"] == {"hosts": 20, "healthy": 9, "broken": 10, "unreachable": 1, "error": 0,
                                 "text": "20 hosts: 9 healthy, 10 broken, 1 unreachable"}

    for name in SELF_HEALING_REBOOTED:
        assert by_host[name]["health"] == "healthy", by_host[name]
        assert by_host[name]["healed_at_boot"], by_host[name]
    for name in SELF_HEALING + PLAIN:
        assert (by_host[name]["health"], by_host[name]["healed_at_boot"]) == ("healthy", None), by_host[name]
    for name in SELF_HEALING_REBOOTED + SELF_HEALING:
        assert by_host[name]["on_boot"] is True
    for name in PLAIN_REBOOTED:
        row = by_host[name]
        assert (row["health"], row["findings"], row["on_boot"]) == ("broken", ["proxy_stale_after_reboot"], False), row
        assert row["next_step"] == "ansible-playbook ecs_windows.task_iam.recover"
        assert "169.254.170.2" in row["cause"] and "credential_proxy" in row["fix"]
    for name in SELF_HEALING_IIS + PLAIN_REBOOTED_IIS:
        row = by_host[name]
        assert row["health"] == "broken" and "port80_in_use" in row["findings"], row
        assert "W3SVC" in row["cause"] and "W3SVC" in row["fix"], row
        assert row["next_step"] == "manual (see fix)"
    for name in FRESH:
        row = by_host[name]
        assert (row["health"], row["findings"]) == ("broken", ["agent_not_initialized"]), row
        assert row["next_step"] == "ansible-playbook ecs_windows.task_iam.configure"
    row = by_host[PLAIN_EXCLUDED[0]]
    assert row["health"] == "broken" and "agent_port_excluded" in row["findings"], row
    assert "51679" in row["cause"] and "excludedportrange" in row["fix"] and row["next_step"] == "manual (see fix)"
    row = by_host[UNREACHABLE[0]]
    assert row["health"] == "unreachable" and "refused" in row["cause"], row

    # Unhealthy first (unreachable, broken), then healthy; Markdown has one table row per host.
    assert [r["health"] for r in report["hosts"]][:11] == ["unreachable"] + ["broken"] * 10
    markdown = (reports / "fleet-report.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("| ecs-sim-")]
    assert len(table) == 20
    assert "**20 hosts: 9 healthy, 10 broken, 1 unreachable.**" in markdown


def test_recover_repairs_only_the_broken_proxies(fleet, recovered):
    run, report, counters = recovered
    by_host = rows(report)
    # One credential_proxy task per host: it probes first and repairs only a broken proxy.
    attempted = {r["host"] for r in run.results("Repair the credential proxy") if r["status"] != "skipped"}
    assert attempted == {host(n) for n in range(1, 21)} - set(UNREACHABLE)
    changed = {r["host"] for r in run.results("Repair the credential proxy") if r["result"].get("changed")}
    assert changed == set(PLAIN_REBOOTED)
    for name in PLAIN_REBOOTED:
        assert by_host[name]["health"] == "healthy" and by_host[name]["on_boot"] is False, by_host[name]
        # the probe, then one batch that repairs and ends with the verifying probe
        assert counters[name]["commands"] == 2, (name, counters[name])
    # Healthy hosts: that one probe, whose facts feed the report (no second command); their startup task (or its
    # absence) is left alone.
    for name in SELF_HEALING_REBOOTED + SELF_HEALING + PLAIN:
        assert counters[name]["commands"] == 1, (name, counters[name])
    assert [by_host[name]["on_boot"] for name in SELF_HEALING + PLAIN] == [True] * len(SELF_HEALING) + [False]
    # Refused or impossible repairs stay broken with their remedy; the run fails exactly those hosts.
    for name in SELF_HEALING_IIS + PLAIN_REBOOTED_IIS:
        assert "port80_in_use" in by_host[name]["findings"]
    assert by_host[FRESH[0]]["findings"] == ["agent_not_initialized"]
    assert UNREACHABLE[0] not in by_host
    assert run.rc == 2, run
    failed = {r["host"] for r in run.results("Fail the host when it is not healthy") if r["status"] == "failed"}
    assert failed == set(SELF_HEALING_IIS + PLAIN_REBOOTED_IIS + FRESH + PLAIN_EXCLUDED)
    outcome = {r["host"]: r["result"]["msg"] for r in run.results("Report the outcome")}
    assert outcome[PLAIN_REBOOTED[0]] == "repaired (cause: stale_after_reboot)"
    assert outcome[SELF_HEALING[0]] == "healthy, nothing to repair"
    # A host broken for another reason is not "healthy, nothing to repair": its codes and the fix.
    iis = by_host[SELF_HEALING_IIS[0]]
    assert outcome[SELF_HEALING_IIS[0]].startswith("not repaired by recover: port80_in_use (fix: stop IIS"), outcome
    assert "W3SVC" in outcome[SELF_HEALING_IIS[0]] and "W3SVC" in iis["fix"]
    assert outcome[FRESH[0]].startswith("not repaired by recover: agent_not_initialized (fix: ")
    assert outcome[PLAIN_EXCLUDED[0]].startswith("not repaired by recover: agent_port_excluded (fix: ")


def test_recover_in_batches_reports_every_batch(sim_factory, tmp_path):
    sim = sim_factory(hosts=3)
    for name in (host(1), host(2)):
        sim.set(name, "init-agent=%s" % CLUSTER)
        sim.reboot(name, downtime=0.2)
    run = run_playbook("ecs_windows.task_iam.recover", sim.inventory, tmp_path,
                       extra_vars={"task_iam_report_dir": str(tmp_path), "task_iam_batch_size": 1})
    assert run.rc == 2, run  # host 3 was never initialised
    outcome = {r["host"]: r["result"]["msg"] for r in run.results("Report the outcome")}
    assert outcome[host(1)] == outcome[host(2)] == "repaired (cause: stale_after_reboot)"
    assert outcome[host(3)].startswith("not repaired by recover: agent_not_initialized")
    by_host = rows(json.loads((tmp_path / "fleet-report.json").read_text()))
    assert {name: by_host[name]["health"] for name in sim.hosts} == {host(1): "healthy", host(2): "healthy",
                                                                      host(3): "broken"}


def test_recover_names_what_it_does_not_repair_on_a_host_whose_proxy_answers(sim_factory, tmp_path):
    # issue 9: duplicate nat adapters (after sysprep) with a working proxy were "healthy, nothing to repair".
    sim = sim_factory(hosts=1)
    sim.set(host(1), "init-agent=%s" % CLUSTER)
    sim.set(host(1), "duplicate-nat=on")
    sim.reset_counters()
    run = run_playbook("ecs_windows.task_iam.recover", sim.inventory, tmp_path,
                       extra_vars={"task_iam_report_dir": str(tmp_path)})
    assert run.rc == 2, run
    assert run.result(host(1), "Repair the credential proxy")["changed"] is False
    line = run.result(host(1), "Report the outcome")["msg"]
    assert line.startswith("not repaired by recover: duplicate_nat_adapters (fix: "), line
    [row] = json.loads((tmp_path / "fleet-report.json").read_text())["hosts"]
    assert row["findings"] == ["duplicate_nat_adapters"] and row["fix"] in line
    assert sim.commands(host(1)) == 1  # the probe decides; its facts feed the report


def test_recover_says_when_the_response_of_the_repair_was_lost(sim_factory, tmp_path):
    """issue 9: a repair whose response is lost (here: the host reboots while Initialize-ECSAgent runs) is not
    reported as a success: the line says the repair was sent and its outcome is unknown."""
    sim = sim_factory(hosts=1)
    sim.set(host(1), "init-agent=%s" % CLUSTER)
    sim.reboot(host(1), downtime=0.3)
    sim.ctl("fault", host(1), "init-hang")
    sim.reset_counters()

    def reboot_during_the_repair():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sim.commands(host(1)) < 2:  # the probe, then the repair batch
            time.sleep(0.1)
        time.sleep(1)
        sim.reboot(host(1), downtime=1, wait=False)

    thread = threading.Thread(target=reboot_during_the_repair, daemon=True)
    thread.start()
    run = run_playbook("ecs_windows.task_iam.recover", sim.inventory, tmp_path,
                       extra_vars={"task_iam_report_dir": str(tmp_path), "container_instance_init_timeout": 30})
    thread.join(timeout=10)
    assert run.rc == 2, run
    repair = run.result(host(1), "Repair the credential proxy")
    assert repair["unreachable"] is True and repair["response_lost"] is True, repair
    line = run.result(host(1), "Report the outcome")["msg"]
    assert line.startswith("repair sent, outcome unknown: the connection was lost after the repair was sent ("), line
    assert line.endswith("run verify to see the host's state")
    [row] = json.loads((tmp_path / "fleet-report.json").read_text())["hosts"]
    assert row["health"] == "unreachable"


def test_a_winrm_500_on_the_apply_says_what_failed(sim_factory, tmp_path):
    """issue 9 (12): the WinRM service failing the apply command (HTTP 500, after the probe went through) fails the
    task with a message that names the host, the ops and what to do, not "(AnsibleError: stderr)"."""
    sim = sim_factory(hosts=1)
    sim.ctl("fault", host(1), "winrm-500", "--count", "1", "--after-commands", "1")
    sim.reset_counters()
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path,
                       extra_vars={"container_instance_cluster": CLUSTER})
    assert run.rc != 0, run
    [failed] = [r for r in run.records if r["status"] in ("failed", "unreachable")]
    message = failed["result"]["msg"]
    assert message.startswith("connection to %s failed while running " % host(1)), message
    assert "init_agent" in message and "it is not sent again: run the task again" in message, message
    assert "AnsibleError: stderr" not in message and "Traceback" not in message, message
    assert failed["result"].get("response_lost") is True, failed["result"]
    assert sim.commands(host(1)) == 1  # the probe ran; the apply got the 500 and was not sent again


# --- configure through ansible-runner, the engine AWX uses ---------------------------------------


def runner_run(private_data_dir, playbook):
    import ansible_runner

    return ansible_runner.run(private_data_dir=str(private_data_dir), playbook=playbook, quiet=True,
                              extravars={"container_instance_cluster": "awx"})


def test_configure_through_ansible_runner_records_the_events_awx_shows(sim_factory, tmp_path):
    sim = sim_factory(hosts=2)
    private = tmp_path / "runner"
    shutil.copytree(ROOT / "awx", private / "project", ignore=shutil.ignore_patterns("collections"))
    (private / "inventory").mkdir(parents=True)
    shutil.copy(sim.inventory, private / "inventory" / "hosts.yml")
    (private / "env").mkdir()
    env = {key: value for key, value in ansible_env(tmp_path).items()
           if key.startswith("ANSIBLE_") and key not in ("ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_CALLBACK_PLUGINS")}
    env["PATH"] = ansible_env(tmp_path)["PATH"]
    (private / "env" / "envvars").write_text(json.dumps(env))

    first = runner_run(private, "configure.yml")
    assert (first.status, first.rc) == ("successful", 0), first.stdout.read()
    events = list(first.events)
    tasks = [e["event_data"]["task"] for e in events if e["event"] == "playbook_on_task_start"]
    assert tasks == [
        "Check the playbook variables",
        "Stop on a wrong playbook variable",
        "Warn about a playbook variable given without its task_iam_ prefix",
        ROLE_VARS_TASK,
        "Validating arguments against arg spec 'main' - Configure a Windows ECS container instance for IAM roles "
        "for tasks, and verify it",
        "Configure the agent, the credential proxy and the container routes, and verify the instance",
        "Fail the host when it is not healthy, with every finding and its fix",
        "Return the healthy hosts the collection took out of service",
    ]
    ok = [(e["event_data"]["host"], e["event_data"]["task"], e["event_data"]["res"]["changed"])
          for e in events if e["event"] == "runner_on_ok"]
    for name in sim.hosts:
        assert (name, "Configure the agent, the credential proxy and the container routes, and verify the instance",
                True) in ok
    assert not [e for e in events if e["event"] in ("runner_on_failed", "runner_on_unreachable")]
    stats = [e for e in events if e["event"] == "playbook_on_stats"][0]["event_data"]
    assert stats["changed"] == {name: 1 for name in sim.hosts}
    assert stats["failures"] == {} and stats["dark"] == {}
    instance = [e for e in events if e["event"] == "runner_on_ok" and e["event_data"]["task"].startswith("Configure the")]
    assert instance[0]["event_data"]["res"]["cluster"] == "awx" and instance[0]["event_data"]["res"]["healthy"] is True

    sim.reset_counters()
    second = runner_run(private, "configure.yml")
    assert (second.status, second.rc) == ("successful", 0), second.stdout.read()
    stats = [e for e in second.events if e["event"] == "playbook_on_stats"][0]["event_data"]
    assert stats["changed"] == {}
    assert not [e for e in second.events if e["event"] == "runner_on_ok" and e["event_data"]["res"].get("changed")]
    # Idempotent run: one instance task, one WinRM command per host.
    assert {name: sim.commands(name) for name in sim.hosts} == {name: 1 for name in sim.hosts}

    # verify publishes the report summary as job artifacts (set_stats), which AWX stores with the job.
    report = runner_run(private, "verify.yml")
    assert (report.status, report.rc) == ("successful", 0), report.stdout.read()
    artifact = [e for e in report.events if e["event"] == "playbook_on_stats"][0]["event_data"]["artifact_data"]
    assert artifact["ecs_fleet_report"]["summary"]["healthy"] == 2
    assert artifact["ecs_fleet_report"]["unhealthy"] == []

    # The job's recorded output and events never carry the WinRM password.
    password = sim.vars[PASSWORD_KEY]
    recorded = [p for p in (private / "artifacts").rglob("*") if p.is_file() and "job_events" in p.parts or
                p.name == "stdout"]
    assert recorded
    for path in recorded:
        assert password not in path.read_text(errors="replace"), path


# --- role argument validation -----------------------------------------------------------------------

GOOD = {"container_instance_cluster": "good"}
BAD_VALUES = {
    host(1): (dict(GOOD, container_instance_imds="maybe"), "container_instance_imds"),
    host(2): (dict(GOOD, container_instance_on_boot="sometimes"), "container_instance_on_boot"),
    host(3): (dict(GOOD, container_instance_boot_delay="soon"), "container_instance_boot_delay"),
    host(4): (dict(GOOD, container_instance_container_names={"not": "a list"}), "container_instance_container_names"),
    host(5): ({"container_instance_cluster": "bad name!"}, "cluster"),
    host(6): ({}, "container_instance_cluster"),
    # Ranges, which argument_specs cannot express: the instance module checks them before anything is sent.
    host(7): (dict(GOOD, container_instance_init_attempts=0), "init_attempts must be 1 to 10, got 0"),
    host(8): (dict(GOOD, container_instance_boot_delay=-5), "boot_delay must be 0 to 3600, got -5"),
    host(9): (dict(GOOD, container_instance_registration_timeout=99999), "timeout must be 0 to 3600"),
    host(10): (dict(GOOD, container_instance_init_retry_delay=1000), "init_retry_delay must be 0 to 300"),
    # A misspelt option name (issue 14: the common slips get one line naming the variable and the fix).
    host(11): (dict(GOOD, container_instance_clustr="good"), "container_instance_clustr"),
}
# The fix each one-line message names, for the slips the playbook's own check catches.
FIXES = {
    host(1): "give one of allow, block (-e container_instance_imds=...)",
    host(2): "give true or false (-e container_instance_on_boot=...)",
    host(3): "give a whole number (-e container_instance_boot_delay=...)",
    host(4): "give a list, e.g. [a, b] or a,b (-e container_instance_container_names=...)",
    host(6): "with -e container_instance_cluster=NAME",
    host(11): "did you mean container_instance_cluster?",
}


def test_bad_role_arguments_fail_before_anything_is_sent(sim_factory, tmp_path):
    sim = sim_factory(hosts=len(BAD_VALUES))
    host_vars = tmp_path / "bad-values.yml"
    host_vars.write_text(json.dumps({"windows_ecs": {
        "hosts": {name: values for name, (values, dummy) in BAD_VALUES.items()}}}))
    sim.reset_counters()
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path, args=["-i", str(host_vars)])
    assert run.rc == 2, run
    failures = {r["host"]: r for r in run.records if r["status"] == "failed"}
    assert sorted(failures) == sorted(BAD_VALUES)
    for name, (dummy, argument) in BAD_VALUES.items():
        message = failures[name]["result"]["msg"]
        assert argument in message, (name, message)
        assert sim.commands(name) == 0, name
        # One short line: no argument spec dump (the role's own validation prints kilobytes of it per host).
        assert "\n" not in message and len(message) < 300, (name, message)
        printed = [line for line in run.stdout.splitlines() if line.startswith("fatal: [%s]" % name)]
        assert len(printed) == 1 and len(printed[0]) < 400, (name, printed)
    assert "argument_spec" not in run.stdout and "Validating arguments against arg spec" not in " ".join(
        failures[name]["task"] for name in failures)
    assert "not a valid ECS cluster name" in failures[host(5)]["result"]["msg"]
    for name in (host(5), host(7), host(8), host(9), host(10)):
        assert failures[name]["task"] == INSTANCE_TASK, failures[name]
    for name, fix in FIXES.items():
        assert failures[name]["task"] == ROLE_VARS_TASK, failures[name]
        assert fix in failures[name]["result"]["msg"], (name, failures[name]["result"]["msg"])


def test_role_options_given_as_strings_work_as_their_types(sim_factory, tmp_path):
    # -e name=value makes every value a string (issue 9): booleans, integers and lists must still work, before and
    # after the role.
    sim = sim_factory(hosts=1)
    args = ["-e", "container_instance_cluster=%s" % CLUSTER, "-e", "container_instance_on_boot=false",
            "-e", "container_instance_container_routes=false", "-e", "container_instance_boot_delay=5",
            "-e", "container_instance_logging_drivers=json-file,awslogs", "-e", "task_iam_batch_size=1"]
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path, args=args)
    assert run.rc == 0, run
    result = run.result(host(1), INSTANCE_TASK)
    assert result["changed"] is True and result["healthy"] is True
    assert result["facts"]["boot_recovery"]["installed"] is False  # on_boot=false: no startup task
    state = sim.state(host(1))
    assert json.loads(state["machine_env"]["ECS_AVAILABLE_LOGGING_DRIVERS"]) == ["json-file", "awslogs"]
    again = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path / "again", args=args)
    assert again.rc == 0 and again.result(host(1), INSTANCE_TASK)["changed"] is False, again


@pytest.mark.parametrize("variables, words", [
    ({"task_iam_batch_sise": "2"}, "task_iam_batch_sise is not a variable of the collection's playbooks: did you mean "
                                   "task_iam_batch_size?"),
    ({"task_iam_fail_on_unhealthy": "maybe"}, "task_iam_fail_on_unhealthy='maybe' is not a boolean"),
    ({"task_iam_quarantine": "drain"}, "task_iam_quarantine=drain needs the ECS view: set task_iam_ecs_region"),
])
def test_a_wrong_playbook_variable_stops_the_run_in_one_line(sim_factory, tmp_path, variables, words):
    sim = sim_factory(hosts=1)
    sim.reset_counters()
    run = run_playbook("ecs_windows.task_iam.verify", sim.inventory, tmp_path, extra_vars=variables)
    assert run.rc == 2, run
    [failure] = [r for r in run.records if r["status"] == "failed"]
    assert failure["task"] == "Stop on a wrong playbook variable"
    assert failure["result"]["msg"].startswith(words) and len(failure["result"]["msg"]) < 200
    assert sim.commands(host(1)) == 0


def test_verify_flags_a_host_registered_to_another_cluster(sim_factory, tmp_path):
    # issue 9: verify with container_instance_cluster set (instance_info's cluster option) flags cluster_mismatch.
    sim = sim_factory(hosts=1)
    sim.set(host(1), "init-agent=other")
    run = run_playbook("ecs_windows.task_iam.verify", sim.inventory, tmp_path,
                       extra_vars={"container_instance_cluster": CLUSTER, "task_iam_report_dir": str(tmp_path)})
    assert run.rc == 2, run
    [row] = json.loads((tmp_path / "fleet-report.json").read_text())["hosts"]
    assert (row["health"], row["findings"], row["cluster"]) == ("broken", ["cluster_mismatch"], "other"), row
    assert "'other'" in row["cause"] and "'%s'" % CLUSTER in row["cause"] and "force_reregister" in row["fix"]
    # Without it, the host is judged on its own.
    alone = run_playbook("ecs_windows.task_iam.verify", sim.inventory, tmp_path / "alone",
                         extra_vars={"task_iam_report_dir": str(tmp_path / "alone")})
    assert alone.rc == 0, alone
    # A cluster name that is not one fails before anything is sent.
    sim.reset_counters()
    bad = run_playbook("ecs_windows.task_iam.verify", sim.inventory, tmp_path / "bad",
                       extra_vars={"container_instance_cluster": "bad name!", "task_iam_report_dir": str(tmp_path)})
    message = bad.result(host(1), "Read the instance state and its findings")["msg"]
    assert "is not a valid ECS cluster name" in message and sim.commands(host(1)) == 0


def test_check_mode_plans_and_changes_nothing(sim_factory, tmp_path):
    sim = sim_factory(hosts=1)
    before = sim.state(host(1))
    sim.reset_counters()
    run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, tmp_path, check=True, diff=True,
                       extra_vars={"container_instance_cluster": CLUSTER})
    assert run.rc == 0, run
    assert run.status(host(1), INSTANCE_TASK) == "ok"
    result = run.result(host(1), INSTANCE_TASK)
    assert result["changed"] is True
    # One probe; the plan covers the agent and the proxy's boot task, which the real run then does.
    assert sim.commands(host(1)) == 1
    assert any("recover-credential-proxy.ps1" in change for change in result["changes"]), result["changes"]
    # The findings describe the host before the planned changes, so they are not asserted in check mode.
    assert run.status(host(1), ROLE + "Fail the host when it is not healthy, with every finding and its fix") == "skipped"
    assert sim.state(host(1)) == before


def test_bootstrap_containers_routes_running_containers(sim_factory, tmp_path):
    sim = sim_factory(hosts=1)
    sim.set(host(1), "init-agent=%s" % CLUSTER, "containers=2", "containers-cmd=1")
    run = run_playbook("ecs_windows.task_iam.bootstrap_containers", sim.inventory, tmp_path,
                       extra_vars={"container_instance_imds": "block"})
    assert run.rc == 0, run
    result = run.result(host(1), "Add the missing routes inside running nat containers")
    assert result["changed"] is True
    assert sorted(c["action"] for c in result["containers"]) == ["added"] * 3
    again = run_playbook("ecs_windows.task_iam.bootstrap_containers", sim.inventory, tmp_path / "again",
                         extra_vars={"container_instance_imds": "block"})
    assert again.result(host(1), "Add the missing routes inside running nat containers")["changed"] is False


PROXY_SET_ELSEWHERE = """
- name: An HTTP proxy set on the host by something else than this collection
  hosts: ecs-sim-001
  gather_facts: false
  tasks:
    - name: Set HTTP_PROXY without NO_PROXY
      ecs_test_ops:
        calls:
          - {op: set_machine_env, args: {set: {HTTP_PROXY: "http://proxy.corp.example:3128"}, remove: []}}

- name: Configure
  ansible.builtin.import_playbook: ecs_windows.task_iam.configure
"""


def test_configure_fails_a_host_left_unhealthy_with_each_finding_and_fix(sim_factory, tmp_path):
    # The role does not manage a proxy it was not given, so the agent and proxy tasks succeed and only the
    # final verification can tell that the agent's requests to 169.254.170.2 would go through the proxy.
    sim = sim_factory(hosts=1)
    run = run_playbook(PROXY_SET_ELSEWHERE, sim.inventory, tmp_path, extra_vars={"container_instance_cluster": CLUSTER})
    assert run.rc == 2, run
    assert run.result(host(1), INSTANCE_TASK)["changed"] is True
    assert run.result(host(1), INSTANCE_TASK)["healthy"] is False
    message = run.result(host(1), ROLE + "Fail the host when it is not healthy, with every finding and its fix")["msg"]
    assert message.startswith("%s is not healthy after configuration: [no_proxy_missing] " % host(1)), message
    assert "169.254.170.2" in message and ". Fix: " in message and " | " not in message
