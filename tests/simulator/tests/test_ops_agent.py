"""Agent ops: set_machine_env, install_ecstools, reset_agent_data, init_agent, service, wait_registered."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from ecs_windows_sim import model, presets
from sim_scripts import example, init_args, new_host, op_error, probe, result, run

BUCKET = "https://s3.eu-west-1.amazonaws.com/amazon-ecs-agent-eu-west-1/"
ADAPTER_ERROR = "VMNetwork adapter 'vEthernet (nat)*' not found"
FAILED_AFTER = r"Initialize-ECSAgent failed after \d+\.\d s: "
UNSIGNED = {name: hashlib.sha256(data).hexdigest() for name, data in presets.ecstools_files(signed=False).items()}


def ecstools_args(sha=None, psm1_signature=True, psd1_signature=False, bucket=BUCKET, proxy=None):
    """install_ecstools arguments: per-file pins (sha) and signature requirements."""
    signature = {"ECSTools.psm1": psm1_signature, "ECSTools.psd1": psd1_signature}
    return {"files": [{"name": name, "url": bucket + name, "sha256": (sha or {}).get(name),
                       "require_signature": signature[name]} for name in ("ECSTools.psm1", "ECSTools.psd1")],
            "proxy": proxy}


def service_args(name="AmazonECS", state=None, start_type=None, failure_restart=None, timeout_s=30):
    return {"name": name, "start_type": start_type, "state": state, "failure_restart": failure_restart,
            "timeout_s": timeout_s}


def timeout_message(name, status, seconds, wanted):
    return ("service %s is still %s after %d s (waiting for %s); find what holds it with: "
            "Get-CimInstance -ClassName Win32_Service -Filter \"Name='%s'\"" % (name, status, seconds, wanted, name))


# --- set_machine_env ---------------------------------------------------------------------------

def test_set_machine_env_writes_only_differences(tmp_path):
    host = new_host(tmp_path, **{"machine-env:ECS_RESERVED_MEMORY": "256"})
    args = {"set": {"ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true", "OS": "Windows_NT"},
            "remove": ["NO_SUCH", "ECS_RESERVED_MEMORY"]}
    assert result(host, "set_machine_env", args) == {"changed": ["ECS_ENABLE_SPOT_INSTANCE_DRAINING", "ECS_RESERVED_MEMORY"]}
    assert result(host, "set_machine_env", args) == {"changed": []}
    env = probe(host)["machine_env"]
    assert env["ECS_ENABLE_SPOT_INSTANCE_DRAINING"] == "true" and "ECS_RESERVED_MEMORY" not in env


@pytest.mark.parametrize("args, name", [
    ({"set": {}, "remove": ["TMP"]}, "TMP"),
    ({"set": {"path": "C:\\Windows"}, "remove": []}, "Path"),
    ({"set": {"PSModulePath": "C:\\Modules"}, "remove": []}, "PSModulePath"),
    ({"set": {}, "remove": ["windir"]}, "windir"),
])
def test_set_machine_env_refuses_reg_expand_sz_variables(tmp_path, args, name):
    host = new_host(tmp_path)
    before = dict(host.state["machine_env"])
    error = op_error(host, "set_machine_env", args)
    assert (error["category"], error["message"]) == ("host_state", "refusing to write Machine variable %s: it is "
                                                     "REG_EXPAND_SZ and writing it would turn it into REG_SZ" % name)
    assert host.state["machine_env"] == before


def test_set_machine_env_leaves_an_expand_variable_alone_when_it_already_has_the_value(tmp_path):
    host = new_host(tmp_path)
    value = model.env_get(host.state, "TEMP")
    assert result(host, "set_machine_env", {"set": {"temp": value}, "remove": []}) == {"changed": []}


def test_set_machine_env_keeps_what_it_wrote_before_a_refusal(tmp_path):
    host = new_host(tmp_path)
    document = run(host, ("set_machine_env", {"set": {"ECS_INSTANCE_ATTRIBUTES": "{}", "TEMP": "C:\\x"}, "remove": []}))
    assert document["error"]["category"] == "host_state"
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") == "{}" and model.env_get(host.state, "TEMP") == "C:\\Windows\\TEMP"


def test_machine_env_names_are_case_insensitive_and_keep_their_spelling(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    assert result(host, "set_machine_env", {"set": {"ecs_cluster": "other"}, "remove": []}) == {"changed": ["ecs_cluster"]}
    env = probe(host)["machine_env"]
    assert env["ECS_CLUSTER"] == "other" and "ecs_cluster" not in env
    assert result(host, "set_machine_env", {"set": {"ECS_Cluster": "other"}, "remove": []}) == {"changed": []}
    assert result(host, "set_machine_env", {"set": {}, "remove": ["Ecs_Cluster"]}) == {"changed": ["Ecs_Cluster"]}
    assert "ECS_CLUSTER" not in probe(host)["machine_env"]
    # A new variable keeps the spelling it was first written with.
    result(host, "set_machine_env", {"set": {"Ecs_Enable_Task_Eni": "true"}, "remove": []})
    result(host, "set_machine_env", {"set": {"ECS_ENABLE_TASK_ENI": "false"}, "remove": []})
    assert probe(host)["machine_env"]["Ecs_Enable_Task_Eni"] == "false"


def test_the_agent_reads_machine_env_case_insensitively(tmp_path):
    host = new_host(tmp_path, **{"machine-env:ecs_cluster": "lower-case"})
    result(host, "init_agent", init_args("lower-case"))
    env = probe(host)["machine_env"]
    assert env["ecs_cluster"] == "lower-case" and "ECS_CLUSTER" not in env  # Initialize-ECSAgent kept the spelling
    assert probe(host)["registration"]["cluster"] == "lower-case"


def test_set_machine_env_refuses_what_its_powershell_refuses(tmp_path):
    error = op_error(new_host(tmp_path), "set_machine_env", {"set": {"ECS_CLUSTER": "x"}, "remove": ["ecs_cluster"]})
    assert (error["category"], error["message"]) == ("invalid_argument", "ecs_cluster is both in set and in remove")


def test_the_running_agent_keeps_its_config_until_restarted(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    result(host, "set_machine_env", {"set": {"ECS_CLUSTER": "other"}, "remove": []})
    assert probe(host)["registration"]["cluster"] == "prod"
    error = op_error(host, "service", service_args(state="restarted"))
    # The agent starts, then exits: service.ps1 sees it Stopped a moment after Restart-Service.
    assert (error["category"], error["message"]) == ("host_state", (
        "service AmazonECS is Stopped right after it was started: see its log "
        "(AmazonECS: C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log)"))
    assert probe(host)["services"]["AmazonECS"]["status"] == "Stopped"


# --- install_ecstools --------------------------------------------------------------------------

def test_install_ecstools_on_plain_windows(tmp_path):
    host = new_host(tmp_path, "plain-2022")
    out = result(host, "install_ecstools", ecstools_args(presets.ECSTOOLS_SHA256))
    assert out == {"installed": ["ECSTools.psm1", "ECSTools.psd1"], "path": presets.ECSTOOLS_DIR, "version": "1.4.0",
                   "checks": ["ECSTools.psm1: sha256 pin", "ECSTools.psm1: Amazon Authenticode signature",
                              "ECSTools.psd1: sha256 pin"]}
    again = result(host, "install_ecstools", ecstools_args())
    assert again["installed"] == [] and again["checks"] == ["ECSTools.psm1: Amazon Authenticode signature",
                                                            "ECSTools.psd1: data-only manifest"]
    assert probe(host)["ecstools"] == {"present": True, "version": "1.4.0"}


@pytest.mark.parametrize("args, category, message", [
    (ecstools_args(bucket="https://example.com/"), "download_failed",
     "ECSTools.psm1: download from https://example.com/ECSTools.psm1 failed: The remote server returned an error: "
     "(404) Not Found."),
    (ecstools_args(bucket="https://s3.us-east-1.amazonaws.com/amazon-ecs-agent-eu-west-1/"), "download_failed",
     "ECSTools.psm1: download from https://s3.us-east-1.amazonaws.com/amazon-ecs-agent-eu-west-1/ECSTools.psm1 failed: "
     "The remote server returned an error: (404) Not Found."),
    (ecstools_args({"ECSTools.psm1": "0" * 64}), "checksum_mismatch",
     "ECSTools.psm1: the sha256 check failed: it is %s, ecstools_sha256 expects %s"
     % (presets.ECSTOOLS_SHA256["ECSTools.psm1"], "0" * 64)),
    (ecstools_args(psm1_signature=False), "invalid_argument",
     "ECSTools.psm1 needs a sha256 pin or a required signature: module code is never installed unchecked"),
])
def test_install_ecstools_failures(tmp_path, args, category, message):
    host = new_host(tmp_path, "plain-2022")
    assert op_error(host, "install_ecstools", args) == {"op": "install_ecstools", "index": 0, "category": category,
                                                        "message": message}
    assert probe(host)["ecstools"]["present"] is False
    assert host.path_kind(presets.ECSTOOLS_DIR) is None


def test_install_ecstools_signatures(tmp_path):
    host = new_host(tmp_path, "plain-2022", ecstools_download="unsigned")
    error = op_error(host, "install_ecstools", ecstools_args())
    assert (error["category"], error["message"]) == ("signature_invalid", (
        "ECSTools.psm1: the Authenticode check failed: the signature is NotSigned (signer ''), a Valid signature by "
        "Amazon is required; pin the file's sha256 instead (ecstools_sha256) if AWS does not sign it"))
    error = op_error(host, "install_ecstools", ecstools_args({"ECSTools.psm1": UNSIGNED["ECSTools.psm1"]},
                                                            psm1_signature=False, psd1_signature=True))
    assert error["category"] == "signature_invalid" and error["message"].startswith("ECSTools.psd1: the Authenticode")
    # A pin instead of the signature; the manifest is data: without a pin or a required signature it is checked as a
    # data-only manifest.
    out = result(host, "install_ecstools", ecstools_args({"ECSTools.psm1": UNSIGNED["ECSTools.psm1"]}, psm1_signature=False))
    assert out["installed"] == ["ECSTools.psm1", "ECSTools.psd1"]
    assert out["checks"] == ["ECSTools.psm1: sha256 pin", "ECSTools.psd1: data-only manifest"]


def test_install_ecstools_network(tmp_path):
    host = new_host(tmp_path, "plain-2022", ecstools_download="unreachable")
    assert op_error(host, "install_ecstools", ecstools_args())["message"] == (
        "ECSTools.psm1: download from %sECSTools.psm1 failed: Unable to connect to the remote server" % BUCKET)
    # A VPC whose only way out is a proxy: Invoke-WebRequest reaches S3 only when given -Proxy.
    host.apply_setting("ecstools-download", "proxy-only")
    assert op_error(host, "install_ecstools", ecstools_args())["message"] == (
        "ECSTools.psm1: download from %sECSTools.psm1 failed: Unable to connect to the remote server" % BUCKET)
    out = result(host, "install_ecstools", ecstools_args(proxy="http://proxy.internal:3128"))
    assert out["installed"] == ["ECSTools.psm1", "ECSTools.psd1"] and out["version"] == "1.4.0"
    host.apply_setting("ecstools-download", "unreachable")
    assert op_error(host, "install_ecstools", ecstools_args(proxy="http://proxy.internal:3128"))["message"] == (
        "ECSTools.psm1: download from %sECSTools.psm1 through the Machine HTTP(S)_PROXY failed: Unable to connect to "
        "the remote server" % BUCKET)


# --- reset_agent_data --------------------------------------------------------------------------

def test_reset_agent_data_allows_another_cluster(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    old_arn = probe(host)["registration"]["container_instance_arn"]
    error = op_error(host, "init_agent", init_args("test"))
    assert error["category"] == "init_failed" and "Remove C:\\ProgramData\\Amazon\\ECS\\data" in error["message"]
    assert result(host, "reset_agent_data", {"stop_timeout_s": 30}) == {"removed": True}
    assert probe(host)["services"]["AmazonECS"]["status"] == "Stopped"
    assert result(host, "reset_agent_data", {"stop_timeout_s": 30}) == {"removed": False}
    result(host, "init_agent", init_args("test"))
    registration = probe(host)["registration"]
    assert registration["cluster"] == "test"
    assert registration["container_instance_arn"].startswith("arn:aws:ecs:us-east-1:123456789012:container-instance/test/")
    assert registration["container_instance_arn"] != old_arn


def test_reset_agent_data_waits_at_most_stop_timeout_s(tmp_path):
    host = new_host(tmp_path, init_agent="prod", service_stuck="AmazonECS")
    started = time.monotonic()
    error = op_error(host, "reset_agent_data", {"stop_timeout_s": 1})
    assert time.monotonic() - started >= 1.0  # really waited
    assert (error["category"], error["message"]) == ("timeout", timeout_message("AmazonECS", "StopPending", 1, "Stopped"))
    assert host.state["agent"]["saved_registration"] is not None  # the data stays when the agent does not stop
    assert probe(host)["services"]["AmazonECS"]["status"] == "StopPending"


# --- init_agent --------------------------------------------------------------------------------

def test_init_agent_sets_up_everything(tmp_path):
    host = new_host(tmp_path)
    out = result(host, "init_agent", init_args("prod", logging_drivers=["json-file", "awslogs"], enable_task_eni=True,
                                               awsvpc_block_imds=True, awsvpc_additional_local_routes=[]))
    assert set(out) == {"duration_s", "output", "attempts", "retried_errors"} and 0 <= out["duration_s"] < 5
    assert (out["attempts"], out["retried_errors"]) == (1, [])
    assert out["output"] == ["[INFO]:Agent initialized (ecs-windows-sim)"]
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


def test_init_agent_with_one_attempt_reports_the_adapter_error_as_retryable(tmp_path):
    host = new_host(tmp_path)
    host.inject_fault("init-adapter-not-found", 2)
    for left in (1, 0):
        error = op_error(host, "init_agent", init_args())
        assert (error["op"], error["category"]) == ("init_agent", "retryable")
        assert re.fullmatch(FAILED_AFTER + re.escape(ADAPTER_ERROR + " (attempt 1 of 1)"), error["message"]), error["message"]
        assert host.snapshot()["pending_faults"]["init-adapter-not-found"] == left
        # The env of the failed call stays set (ECSTools writes it before the proxy step).
        assert probe(host)["machine_env"]["ECS_CLUSTER"] == "prod"
    result(host, "init_agent", init_args())  # a later run
    assert probe(host)["endpoints"]["proxy"]["ok"] is True


def test_init_agent_duplicate_nat_is_not_retryable(tmp_path):
    host = new_host(tmp_path, duplicate_nat="on")
    error = op_error(host, "init_agent", init_args())
    assert error["category"] == "init_failed"
    assert re.fullmatch(FAILED_AFTER + re.escape("You cannot call a method on a null-valued expression."), error["message"])


def test_init_hang_runs_until_timeout_s(tmp_path, sleeps):
    host = new_host(tmp_path)
    host.inject_fault("init-hang", 1)
    error = op_error(host, "init_agent", init_args(timeout_s=45))
    assert (error["category"], error["message"]) == ("timeout", "Initialize-ECSAgent did not finish within 45 s and was stopped")
    assert sleeps == [45]  # the child powershell.exe ran until it was stopped
    assert host.snapshot()["pending_faults"]["init-hang"] == 0
    assert probe(host)["services"]["AmazonECS"] is None
    result(host, "init_agent", init_args(timeout_s=45))  # only the next init hangs
    assert sleeps == [45] and probe(host)["endpoints"]["proxy"]["ok"] is True


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
    assert probe(host)["agent"] == {"installed": True, "version": "1.105.1", "version_source": "introspection"}


def test_init_agent_creates_the_reboot_task_only_with_a_new_ecstools(tmp_path):
    assert probe(new_host(tmp_path / "a", "ecs-2019", init_agent="prod"))["scheduled_tasks"] == []
    host = new_host(tmp_path / "b", "ecs-2022", init_agent="prod")
    result(host, "init_agent", init_args("prod"))
    assert [t["name"] for t in probe(host)["scheduled_tasks"]] == ["Initialize-ECSHostReboot"]


def test_init_agent_setting_without_task_iam_role(tmp_path):
    facts = probe(new_host(tmp_path, init_agent="prod:no-task-iam"))
    assert facts["registration"]["cluster"] == "prod" and "ECS_ENABLE_TASK_IAM_ROLE" not in facts["machine_env"]
    assert facts["proxy"]["portproxy"] == [] and facts["endpoints"]["proxy"]["ok"] is False


# --- service -----------------------------------------------------------------------------------

def test_service_converges(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    args = service_args(start_type="Automatic", state="running", failure_restart=True)
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
    result(host, "service", service_args(state="restarted"))
    assert host.state["agent"]["running_config"]["ECS_ENABLE_TASK_ENI"] == "true"


def test_service_missing_and_docker_dependency(tmp_path):
    host = new_host(tmp_path)
    error = op_error(host, "service", service_args("W3SVC", state="running"))
    assert error == {"op": "service", "index": 0, "category": "host_state",
                     "message": "Cannot find any service with service name 'W3SVC'."}
    error = op_error(host, "service", service_args(state="running"))
    assert error["message"] == ("Cannot find any service with service name 'AmazonECS'. Initialize-ECSAgent creates "
                                "it: run ecs_windows.task_iam.agent first.")
    host.apply_setting("init-agent", "prod")
    host.apply_setting("containers", "2")
    result(host, "service", service_args("docker", state="stopped"))
    facts = probe(host)
    assert facts["services"]["AmazonECS"]["status"] == "Stopped" and facts["containers"] == []
    result(host, "service", service_args(state="running"))
    assert probe(host)["services"]["docker"]["status"] == "Running"


def test_restarting_docker_starts_its_dependents_again(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    assert result(host, "service", service_args("docker", state="restarted")) == {
        "changed": True, "status": "Running", "start_type": "Automatic"}
    assert probe(host)["services"]["AmazonECS"]["status"] == "Running"


def test_stopping_a_service_with_running_dependents_needs_force(tmp_path):
    """Stop-Service without -Force refuses (ServiceHasDependentServices); the ops always pass -Force."""
    host = new_host(tmp_path, init_agent="prod")
    state = host.state
    with pytest.raises(model.ServiceError, match=re.escape(
            "Cannot stop service 'Docker Engine (docker)' because it has dependent services. It can only be stopped "
            "if the Force flag is set.")):
        model.stop_service(state, "docker", force=False)
    assert model.service_running(state, "docker") and model.service_running(state, "AmazonECS")
    assert model.stop_service(state, "AmazonECS", force=False) == []  # nothing depends on the agent
    model.start_service(state, "AmazonECS")
    assert model.stop_service(state, "docker", force=True) == ["AmazonECS"]
    assert not model.service_running(state, "AmazonECS")


def test_a_stuck_service_times_out_after_timeout_s(tmp_path):
    host = new_host(tmp_path, init_agent="prod", service_stuck="AmazonECS")
    started = time.monotonic()
    error = op_error(host, "service", service_args(state="restarted", timeout_s=1))
    assert time.monotonic() - started >= 1.0
    assert (error["category"], error["message"]) == ("timeout", timeout_message("AmazonECS", "StopPending", 1, "Stopped"))
    assert probe(host)["services"]["AmazonECS"]["status"] == "StopPending"
    host.apply_setting("service-stuck", "none")  # whatever held it let go: the next stop completes
    assert result(host, "service", service_args(state="stopped", timeout_s=1))["status"] == "Stopped"


def test_a_stuck_docker_stops_its_dependents_first(tmp_path):
    host = new_host(tmp_path, init_agent="prod", service_stuck="docker")
    error = op_error(host, "service", service_args("docker", state="stopped", timeout_s=1))
    assert error["message"] == timeout_message("docker", "StopPending", 1, "Stopped")
    services = probe(host)["services"]
    assert (services["docker"]["status"], services["AmazonECS"]["status"]) == ("StopPending", "Stopped")


def test_service_stuck_setting_is_checked(tmp_path):
    host = new_host(tmp_path)
    with pytest.raises(ValueError, match=re.escape("service-stuck=W3SVC: value must be AmazonECS, docker or none")):
        host.apply_setting("service-stuck", "W3SVC")
    host.apply_setting("service-stuck", "docker")
    host.apply_setting("service-stuck", "AmazonECS")
    assert host.state["stuck_services"] == ["AmazonECS", "docker"]
    host.apply_setting("service-stuck", "none")
    assert host.state["stuck_services"] == []


# --- wait_registered ---------------------------------------------------------------------------

def test_wait_registered(tmp_path):
    host = new_host(tmp_path)
    args = example("wait_registered", cluster="prod", timeout_s=1, interval_s=1)
    out = result(host, "wait_registered", args)
    assert (out["registered"], out["cluster"], out["container_instance_arn"]) == (False, None, None)
    assert 1.0 <= out["waited_s"] < 2
    host.apply_setting("init-agent", "prod")
    out = result(host, "wait_registered", args)
    assert out["registered"] is True and out["waited_s"] == 0 and out["container_instance_arn"]
    other = result(host, "wait_registered", dict(args, cluster="other"))
    assert other["registered"] is False and other["cluster"] == "prod" and 1.0 <= other["waited_s"] < 2
    assert result(host, "wait_registered", dict(args, cluster="other", timeout_s=0))["waited_s"] == 0
