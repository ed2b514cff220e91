# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_windows.task_iam.agent through real ansible-playbook runs against simulated hosts.

One simulator, one host per story, three phases (one ansible-playbook run each) in which the stories advance.
"""

from __future__ import annotations

import json

import pytest

from configure_plays import control, run_phase, setup, task

MAIN, BAD, MOVE, PROXY, ABSENT, PLAIN, REINIT = ("ecs-sim-%03d" % n for n in range(1, 8))
CLUSTER = {"cluster": "windows", "init_retry_delay": 0}
PROXY_ARGS = {"cluster": "windows", "http_proxy": "http://ops:S3cret-pw@proxy.example.com:3128", "no_proxy": ["10.0.0.0/8"],
              "environment": {"ECS_ENABLE_SPOT_INSTANCE_DRAINING": True, "ECS_ENGINE_AUTH_DATA": '{"r":{"password":"Auth-pw"}}'}}
PLAIN_ARGS = {"cluster": "windows", "install_ecstools": True, "ecstools_region": "eu-west-1"}
DRIVERS_ARGS = {"cluster": "windows", "logging_drivers": ["json-file", "awslogs"], "init_attempts": 1, "init_retry_delay": 0}
BAD_ARGS = {
    "hostile-cluster": ({"cluster": "x'; Remove-Item C:\\ -Recurse; '"}, "is not a valid ECS cluster name"),
    "no-cluster": ({}, "state is present but all of the following are missing: cluster"),
    "timeout-type": ({"cluster": "c", "timeout": "soon"}, "timeout"),
    "version": ({"cluster": "c", "version": "newest"}, "version 'newest' is not 'latest'"),
    "owned-env": ({"cluster": "c", "environment": {"ECS_CLUSTER": "other"}}, "environment: ECS_CLUSTER is set by its own option"),
    "no-proxy": ({"cluster": "c", "no_proxy": ["10.0.0.0/8"]}, "no_proxy needs http_proxy"),
    "region": ({"cluster": "c", "install_ecstools": True}, "ecstools_region"),
    "typo": ({"cluster": "c", "clutser": "typo"}, "unsupported argument clutser"),
    "init-attempts-range": ({"cluster": "c", "init_attempts": 0}, "init_attempts must be 1 to 10, got 0"),
}


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=7)
    setup(sim, MOVE, "init-agent=blue", "containers=2")
    setup(sim, PROXY, "init-agent=windows")
    setup(sim, ABSENT, "init-agent=windows")
    setup(sim, PLAIN, "ecstools=absent")
    setup(sim, REINIT, "init-agent=windows")
    control(sim, "fault", REINIT, kind="init-adapter-not-found", count=1, ms=None)
    return sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("agent")


@pytest.fixture(scope="module")
def phase1(sim, workdir):
    return run_phase(sim, workdir, {
        MAIN: [task("agent", {"cluster": "windows"}, check_mode=True, diff=True)],
        BAD: [task("agent", args, name=name, ignore_errors=True) for name, (args, _msg) in BAD_ARGS.items()],
        MOVE: [task("agent", {"cluster": "green"}, ignore_errors=True)],
        PROXY: [task("agent", PROXY_ARGS, diff=True)],
        ABSENT: [task("agent", {"state": "absent"})],
        PLAIN: [task("agent", {"cluster": "windows"}, ignore_errors=True)],
        REINIT: [task("agent", DRIVERS_ARGS, ignore_errors=True)],
    })


@pytest.fixture(scope="module")
def phase2(sim, workdir, phase1):
    return run_phase(sim, workdir, {
        MAIN: [task("agent", CLUSTER, diff=True)],
        MOVE: [task("agent", {"cluster": "green", "force_reregister": True})],
        PROXY: [task("agent", PROXY_ARGS)],
        ABSENT: [task("agent", {"state": "absent"})],
        PLAIN: [task("agent", dict(PLAIN_ARGS, ecstools_sha256={"ECSTools.psm1": "0" * 64}), ignore_errors=True)],
        REINIT: [task("agent", DRIVERS_ARGS)],
    })


@pytest.fixture(scope="module")
def phase3(sim, workdir, phase2):
    return run_phase(sim, workdir, {
        MAIN: [task("agent", CLUSTER, diff=True)],
        ABSENT: [task("agent", CLUSTER)],
        PLAIN: [task("agent", PLAIN_ARGS)],
    })


def healthy(facts, cluster):
    return bool(facts["registration"]["cluster"] == cluster and facts["registration"]["container_instance_arn"]
                and facts["services"]["AmazonECS"] == {"status": "Running", "start_type": "Automatic", "failure_restart": True}
                and facts["endpoints"]["proxy"]["ok"] and facts["machine_env"]["ECS_ENABLE_TASK_IAM_ROLE"] == "true")


# --- a fresh ECS-optimized 2022 host: check mode, first run with diff, second run ---------------------------


def test_check_mode_reports_the_change_and_changes_nothing(phase1):
    result = phase1.result(MAIN)
    assert phase1.status(MAIN) == "ok" and result["changed"] is True
    assert any("initialise the agent (Initialize-ECSAgent -Cluster windows -EnableTaskIAMRole)" in c for c in result["changes"])
    assert phase1.commands[MAIN] == result["commands"] == 1
    assert phase1.states[MAIN] == phase1.before[MAIN]


def test_check_mode_diff_shows_before_and_after(phase1):
    diff = phase1.result(MAIN)["diff"]
    assert diff["before"]["service"] is None and diff["before"]["machine_env"]["ECS_CLUSTER"] is None
    assert diff["after"]["service"] == {"status": "Running", "start_type": "Automatic", "failure_restart": True}
    assert diff["after"]["machine_env"]["ECS_CLUSTER"] == "windows"


def test_first_run_changes_and_ends_healthy_in_two_commands(phase2):
    result = phase2.result(MAIN)
    assert phase2.status(MAIN) == "ok" and result["changed"] is True
    assert healthy(result["facts"], "windows")
    assert result["container_instance_arn"].startswith("arn:aws:ecs:us-east-1:123456789012:container-instance/windows/")
    assert result["cluster"] == "windows" and result["agent_version"] == "1.105.1"
    assert result["init"] == {"attempts": 1, "retried_errors": [], "duration_s": 0.0,
                              "output": ["[INFO]:Agent initialized (ecs-windows-sim)"]}
    assert result["diff"]["after"]["credential_endpoint"] == "healthy" and result["diff"]["before"]["credential_endpoint"] == "broken"
    assert phase2.commands[MAIN] == result["commands"] == 2
    assert phase2.states[MAIN]["derived"]["proxy_endpoint"]["ok"] is True


def test_second_run_changes_nothing_in_one_command(phase3):
    result = phase3.result(MAIN)
    assert phase3.status(MAIN) == "ok" and result["changed"] is False and result["changes"] == []
    assert "diff" not in result
    assert phase3.commands[MAIN] == result["commands"] == 1
    assert phase3.states[MAIN] == phase3.before[MAIN]


# --- bad arguments never reach the host -----------------------------------------------------------------


def test_bad_arguments_fail_before_any_winrm_command(sim, phase1):
    for name, (_args, message) in BAD_ARGS.items():
        result = phase1.result(BAD, name)
        assert phase1.status(BAD, name) == "failed"
        assert result["msg"].startswith("invalid arguments for ecs_windows.task_iam.agent: ") and message in result["msg"], (name, result)
    assert phase1.commands[BAD] == 0
    assert control(sim, "counters", BAD)["http_requests"] == 0


# --- cluster change ---------------------------------------------------------------------------------------


def test_cluster_change_is_refused_saying_tasks_are_stranded(phase1):
    result = phase1.result(MOVE)
    assert phase1.status(MOVE) == "failed" and result["changed"] is False
    assert "registered to cluster 'blue'" in result["msg"] and "strands the tasks running on it (2 task container(s)" in result["msg"]
    assert "force_reregister: true" in result["msg"]
    assert phase1.commands[MOVE] == 1 and phase1.states[MOVE] == phase1.before[MOVE]


def test_forced_cluster_change_reregisters(phase2):
    result = phase2.result(MOVE)
    assert phase2.status(MOVE) == "ok", phase2.run
    assert any("saved registration with cluster 'blue'" in c and "stranded" in c for c in result["changes"])
    assert healthy(result["facts"], "green") and "/green/" in result["container_instance_arn"]
    assert phase2.commands[MOVE] == 2


# --- settings beyond the cluster, secrets ---------------------------------------------------------------------


def test_proxy_and_extra_settings_restart_only_the_agent(phase1):
    result = phase1.result(PROXY)
    assert phase1.status(PROXY) == "ok", phase1.run
    env = phase1.states[PROXY]["machine_env"]
    assert env["HTTP_PROXY"] == PROXY_ARGS["http_proxy"]
    assert env["NO_PROXY"] == "169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine,10.0.0.0/8"
    assert env["ECS_ENABLE_SPOT_INSTANCE_DRAINING"] == "true"
    assert "restart AmazonECS so the agent reads its changed Machine environment" in result["changes"]
    assert not any("initialise the agent" in c for c in result["changes"])
    assert phase1.commands[PROXY] == 2


def test_no_secret_reaches_the_output(phase1, phase2):
    for phase in (phase1, phase2):
        for secret in ("S3cret-pw", "Auth-pw"):
            assert secret not in phase.run.stdout and secret not in json.dumps(phase.result(PROXY))
    # The whole user information is masked: a token is often the user part (https://TOKEN@host).
    assert phase1.result(PROXY)["facts"]["machine_env"]["HTTP_PROXY"] == "http://********@proxy.example.com:3128"


def test_settings_are_idempotent(phase2):
    assert phase2.result(PROXY)["changed"] is False and phase2.commands[PROXY] == 1


# --- state: absent, and back ----------------------------------------------------------------------------------


def test_absent_stops_and_disables_then_present_restores(phase1, phase2, phase3):
    assert phase1.status(ABSENT) == "ok", phase1.run
    state = phase1.states[ABSENT]
    assert state["services"]["AmazonECS"]["status"] == "Stopped" and state["services"]["AmazonECS"]["start_type"] == "Disabled"
    assert "ECS_CLUSTER" not in state["machine_env"] and "ECS_ENABLE_TASK_IAM_ROLE" not in state["machine_env"]
    assert phase1.commands[ABSENT] == 2
    assert phase2.result(ABSENT)["changed"] is False and phase2.commands[ABSENT] == 1
    result = phase3.result(ABSENT)
    assert phase3.status(ABSENT) == "ok", phase3.run
    assert healthy(result["facts"], "windows") and phase3.commands[ABSENT] == 2


# --- plain Windows Server: ECSTools from the regional bucket ------------------------------------------------


def test_plain_windows_refused_without_ecstools(phase1):
    result = phase1.result(PLAIN)
    assert phase1.status(PLAIN) == "failed" and "install_ecstools: true" in result["msg"] and phase1.commands[PLAIN] == 1
    assert [f["code"] for f in result["findings"]][:1] == ["ecstools_missing"]


def test_ecstools_checksum_mismatch_fails_and_installs_nothing(phase2):
    result = phase2.result(PLAIN)
    assert phase2.status(PLAIN) == "failed" and "checksum_mismatch" in result["msg"] and phase2.commands[PLAIN] == 2
    assert phase2.states[PLAIN]["ecstools"]["present"] is False


def test_ecstools_installed_from_the_regional_bucket(phase3):
    result = phase3.result(PLAIN)
    assert phase3.status(PLAIN) == "ok", phase3.run
    assert result["changes"][0].startswith("install ECSTools from https://s3.eu-west-1.amazonaws.com/amazon-ecs-agent-eu-west-1/")
    assert healthy(result["facts"], "windows") and result["facts"]["ecstools"]["present"] and phase3.commands[PLAIN] == 2


# --- a failed initialisation is completed by the next run -------------------------------------------------------


def test_a_failed_initialisation_is_run_again_by_the_next_run(phase1, phase2):
    # Initialize-ECSAgent writes the new settings before the step that failed: the agent still runs with the old ones.
    result = phase1.result(REINIT)
    assert phase1.status(REINIT) == "failed" and result["changed"] is True and "op init_agent failed" in result["msg"]
    state = phase1.states[REINIT]
    assert state["machine_env"]["ECS_AVAILABLE_LOGGING_DRIVERS"] == '["json-file","awslogs"]'
    assert "ECS_AVAILABLE_LOGGING_DRIVERS" not in state["agent"]["running_config"]
    result = phase2.result(REINIT)
    assert phase2.status(REINIT) == "ok" and result["changed"] is True, phase2.run
    assert any("the last initialisation did not finish" in c for c in result["changes"])
    state = phase2.states[REINIT]
    assert state["agent"]["running_config"]["ECS_AVAILABLE_LOGGING_DRIVERS"] == '["json-file","awslogs"]'
    assert not [name for name in state["machine_env"] if "INIT_PENDING" in name]
