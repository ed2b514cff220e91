"""Agent ops: set_machine_env, install_ecstools, reset_agent_data, init_agent, service, wait_registered."""

from __future__ import annotations

import pytest
from ecs_windows_sim import presets
from sim_scripts import init_args, new_host, op_error, probe, result

BUCKET = "https://s3.eu-west-1.amazonaws.com/amazon-ecs-agent-eu-west-1/"


def ecstools_args(sha=None, require_signature=True, bucket=BUCKET):
    return {"files": [{"name": name, "url": bucket + name, "sha256": (sha or {}).get(name)}
                      for name in ("ECSTools.psm1", "ECSTools.psd1")], "require_signature": require_signature}


# --- set_machine_env ---------------------------------------------------------------------------

def test_set_machine_env_writes_only_differences(tmp_path):
    host = new_host(tmp_path)
    args = {"set": {"ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true", "OS": "Windows_NT"}, "remove": ["NO_SUCH", "TMP"]}
    assert result(host, "set_machine_env", args) == {"changed": ["ECS_ENABLE_SPOT_INSTANCE_DRAINING", "TMP"]}
    assert result(host, "set_machine_env", args) == {"changed": []}
    env = probe(host)["machine_env"]
    assert env["ECS_ENABLE_SPOT_INSTANCE_DRAINING"] == "true" and "TMP" not in env


def test_the_running_agent_keeps_its_config_until_restarted(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "set_machine_env", {"set": {"ECS_CLUSTER": "other"}, "remove": []})
    assert probe(host)["registration"]["cluster"] == "prod"
    error = op_error(host, "service", {"name": "AmazonECS", "start_type": None, "state": "restarted",
                                       "failure_restart": None})
    # The agent starts, then exits: service.ps1 sees it Stopped a moment after Restart-Service.
    assert (error["category"], error["message"]) == ("host_state", (
        "service AmazonECS is Stopped right after it was started: see its log "
        "(AmazonECS: C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log)"))
    assert probe(host)["services"]["AmazonECS"]["status"] == "Stopped"


# --- install_ecstools --------------------------------------------------------------------------

def test_install_ecstools_on_plain_windows(tmp_path):
    host = new_host(tmp_path, "plain-2022")
    out = result(host, "install_ecstools", ecstools_args(presets.ECSTOOLS_SHA256))
    assert out == {"installed": ["ECSTools.psm1", "ECSTools.psd1"], "path": presets.ECSTOOLS_DIR, "version": "1.4.0"}
    assert result(host, "install_ecstools", ecstools_args())["installed"] == []
    assert probe(host)["ecstools"] == {"present": True, "version": "1.4.0"}


@pytest.mark.parametrize("args, category, text", [
    (ecstools_args(bucket="https://example.com/"), "download_failed", "(404) Not Found"),
    (ecstools_args(bucket="https://s3.us-east-1.amazonaws.com/amazon-ecs-agent-eu-west-1/"), "download_failed", "(404)"),
    (ecstools_args({"ECSTools.psm1": "0" * 64}), "checksum_mismatch", "expected " + "0" * 64),
])
def test_install_ecstools_failures(tmp_path, args, category, text):
    host = new_host(tmp_path, "plain-2022")
    error = op_error(host, "install_ecstools", args)
    assert error["category"] == category and text in error["message"]
    assert probe(host)["ecstools"]["present"] is False


def test_install_ecstools_signature_and_network(tmp_path):
    host = new_host(tmp_path, "plain-2022", ecstools_download="unsigned")
    assert op_error(host, "install_ecstools", ecstools_args())["category"] == "signature_invalid"
    assert result(host, "install_ecstools", ecstools_args(require_signature=False))["installed"]
    host.apply_setting("ecstools-download", "unreachable")
    assert "Unable to connect" in op_error(host, "install_ecstools", ecstools_args())["message"]


# --- reset_agent_data --------------------------------------------------------------------------

def test_reset_agent_data_allows_another_cluster(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    old_arn = probe(host)["registration"]["container_instance_arn"]
    error = op_error(host, "init_agent", init_args("test"))
    assert error["category"] == "init_failed" and "Remove C:\\ProgramData\\Amazon\\ECS\\data" in error["message"]
    assert result(host, "reset_agent_data", {}) == {"removed": True}
    assert probe(host)["services"]["AmazonECS"]["status"] == "Stopped"
    assert result(host, "reset_agent_data", {}) == {"removed": False}
    result(host, "init_agent", init_args("test"))
    registration = probe(host)["registration"]
    assert registration["cluster"] == "test"
    assert registration["container_instance_arn"].startswith("arn:aws:ecs:us-east-1:123456789012:container-instance/test/")
    assert registration["container_instance_arn"] != old_arn


# --- init_agent --------------------------------------------------------------------------------

def test_init_agent_sets_up_everything(tmp_path):
    host = new_host(tmp_path)
    out = result(host, "init_agent", init_args("prod", logging_drivers=["json-file", "awslogs"], enable_task_eni=True,
                                               awsvpc_block_imds=True, awsvpc_additional_local_routes=[]))
    assert out == {"attempts": 1, "retried_errors": []}
    facts = probe(host)
    env = facts["machine_env"]
    assert {k: v for k, v in env.items() if k.startswith("ECS_")} == {
        "ECS_AVAILABLE_LOGGING_DRIVERS": '["json-file","awslogs"]', "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES": "[]",
        "ECS_AWSVPC_BLOCK_IMDS": "true", "ECS_CLUSTER": "prod", "ECS_DATADIR": "C:\\ProgramData\\Amazon\\ECS\\data",
        "ECS_ENABLE_TASK_ENI": "true", "ECS_ENABLE_TASK_IAM_ROLE": "true",
        "ECS_LOGFILE": "C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log"}
    assert facts["services"]["AmazonECS"] == {"status": "Running", "start_type": "Automatic", "failure_restart": False}
    assert facts["proxy"]["ip_bindings"][0]["interface_alias"] == "vEthernet (nat)"
    assert facts["endpoints"]["proxy"]["ok"] and facts["endpoints"]["agent_tmds"]["ok"]


def test_init_agent_without_task_iam_role_sets_up_no_proxy(tmp_path):
    host = new_host(tmp_path)
    result(host, "init_agent", init_args("prod", enable_task_iam_role=False))
    facts = probe(host)
    assert "ECS_ENABLE_TASK_IAM_ROLE" not in facts["machine_env"]
    assert facts["proxy"]["portproxy"] == [] and facts["registration"]["cluster"] == "prod"


def test_init_agent_retries_only_the_adapter_error(tmp_path):
    host = new_host(tmp_path)
    host.inject_fault("init-adapter-not-found", 2)
    out = result(host, "init_agent", init_args(attempts=3))
    assert out == {"attempts": 3, "retried_errors": ["VMNetwork adapter 'vEthernet (nat)*' not found"] * 2}
    assert host.snapshot()["pending_faults"]["init-adapter-not-found"] == 0


def test_init_agent_gives_up_after_its_attempts(tmp_path):
    host = new_host(tmp_path)
    host.inject_fault("init-adapter-not-found", 5)
    error = op_error(host, "init_agent", init_args(attempts=2))
    assert error == {"op": "init_agent", "index": 0, "category": "init_failed", "message":
                     "Initialize-ECSAgent failed (attempt 2 of 2): VMNetwork adapter 'vEthernet (nat)*' not found"}
    assert host.snapshot()["pending_faults"]["init-adapter-not-found"] == 3
    # The env of the failed call stays set (ECSTools writes it before the proxy step).
    assert probe(host)["machine_env"]["ECS_CLUSTER"] == "prod"


def test_init_agent_duplicate_nat_fails_at_once(tmp_path):
    host = new_host(tmp_path, duplicate_nat="on")
    error = op_error(host, "init_agent", init_args(attempts=5))
    assert error["message"] == ("Initialize-ECSAgent failed (attempt 1 of 5): "
                                "You cannot call a method on a null-valued expression.")


def test_init_agent_needs_hyperv_powershell(tmp_path):
    host = new_host(tmp_path, "plain-2022", ecstools="present")
    assert "Get-VMNetworkAdapter" in op_error(host, "init_agent", init_args())["message"]


@pytest.mark.parametrize("version, installed", [("latest", "1.105.1"), ("v1.45.0", "1.45.0"), ("1.90.2", "1.90.2")])
def test_init_agent_version(tmp_path, version, installed):
    host = new_host(tmp_path)
    result(host, "init_agent", init_args(version=version))
    facts = probe(host)
    assert facts["agent"]["version"] == installed
    assert facts["registration"]["version"] == "Amazon ECS Agent - v%s (8dfceca6)" % installed


def test_init_agent_plain_windows_installs_latest(tmp_path):
    host = new_host(tmp_path, "plain-2022", ecstools="present", hyperv_powershell="on")
    result(host, "init_agent", init_args())
    assert probe(host)["agent"] == {"installed": True, "version": "1.105.1"}


def test_init_agent_creates_the_reboot_task_only_with_a_new_ecstools(tmp_path):
    assert probe(new_host(tmp_path / "a", "ecs-2019", init_agent="prod"))["scheduled_tasks"] == []
    host = new_host(tmp_path / "b", "ecs-2022", init_agent="prod")
    result(host, "init_agent", init_args("prod"))
    assert [t["name"] for t in probe(host)["scheduled_tasks"]] == ["Initialize-ECSHostReboot"]


# --- service -----------------------------------------------------------------------------------

def test_service_converges(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    args = {"name": "AmazonECS", "start_type": "Automatic", "state": "running", "failure_restart": True}
    assert result(host, "service", args) == {"changed": True, "status": "Running", "start_type": "Automatic"}
    assert result(host, "service", args)["changed"] is False
    stop = dict(args, start_type="Disabled", state="stopped")
    assert result(host, "service", stop) == {"changed": True, "status": "Stopped", "start_type": "Disabled"}
    assert probe(host)["registration"]["reachable"] is False
    error = op_error(host, "service", dict(stop, start_type=None, state="running"))
    assert error["category"] == "host_state" and "Cannot start service AmazonECS on computer '.'" in error["message"]


def test_service_restarted_rereads_the_environment(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "set_machine_env", {"set": {"ECS_ENABLE_TASK_ENI": "true"}, "remove": []})
    result(host, "service", {"name": "AmazonECS", "start_type": None, "state": "restarted", "failure_restart": None})
    assert host.state["agent"]["running_config"]["ECS_ENABLE_TASK_ENI"] == "true"


def test_service_missing_and_docker_dependency(tmp_path):
    host = new_host(tmp_path)
    error = op_error(host, "service", {"name": "W3SVC", "start_type": None, "state": "running", "failure_restart": None})
    assert error == {"op": "service", "index": 0, "category": "host_state",
                     "message": "Cannot find any service with service name 'W3SVC'."}
    host.apply_setting("init-agent", "prod")
    host.apply_setting("containers", "2")
    result(host, "service", {"name": "docker", "start_type": None, "state": "stopped", "failure_restart": None})
    facts = probe(host)
    assert facts["services"]["AmazonECS"]["status"] == "Stopped" and facts["containers"] == []
    result(host, "service", {"name": "AmazonECS", "start_type": None, "state": "running", "failure_restart": None})
    assert probe(host)["services"]["docker"]["status"] == "Running"


# --- wait_registered ---------------------------------------------------------------------------

def test_wait_registered(tmp_path):
    host = new_host(tmp_path)
    args = {"cluster": "prod", "timeout_s": 30, "interval_s": 5}
    assert result(host, "wait_registered", args) == {"registered": False, "cluster": None,
                                                     "container_instance_arn": None, "waited_s": 30}
    host.apply_setting("init-agent", "prod")
    out = result(host, "wait_registered", args)
    assert out["registered"] is True and out["waited_s"] == 0 and out["container_instance_arn"]
    other = result(host, "wait_registered", dict(args, cluster="other"))
    assert other["registered"] is False and other["cluster"] == "prod"


def test_set_machine_env_refuses_what_its_powershell_refuses(tmp_path):
    error = op_error(new_host(tmp_path), "set_machine_env", {"set": {"ECS_CLUSTER": "x"}, "remove": ["ecs_cluster"]})
    assert (error["category"], error["message"]) == ("invalid_argument", "ecs_cluster is both in set and in remove")


def test_machine_env_names_are_case_insensitive(tmp_path):
    host = new_host(tmp_path)
    assert result(host, "set_machine_env", {"set": {"os": "Windows_NT"}, "remove": ["tmp"]}) == {"changed": ["tmp"]}
    assert "TMP" not in probe(host)["machine_env"]
