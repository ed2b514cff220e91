"""Host faults and scenario settings through the wire (`ctl fault`, `ctl set`, then op scripts over WinRM): the
sporadic vEthernet (nat) adapter error, a hung Initialize-ECSAgent, docker not answering, a service stuck in
StopPending, IIS on port 80, excluded port ranges, duplicate vEthernet (nat) adapters, the Machine environment,
a proxy-only network, a slow probe, a wobbling boot time, a boot folder a user created."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time

import pytest
from sim_scripts import SALT, example, init_args, probe_args, winrm_ops, winrm_probe, winrm_result, winrm_script

ADAPTER_ERROR = "VMNetwork adapter 'vEthernet (nat)*' not found"
HOSTS = ["adapter", "iis", "excluded", "duplicate", "hang", "docker", "stuck", "env", "proxy-only", "slow", "jitter",
         "boot-folder", "no-task-iam", "adapter-retry"]
INIT_HANG_TIMEOUT_S = 30  # the least init_agent accepts: the hung init runs while the other tests of this module run


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=len(HOSTS), scheme="http", auth="ntlm")


def host_for(sim, name):
    return sim.hosts[HOSTS.index(name)]


@pytest.fixture(scope="module", autouse=True)
def hung_init(sim):
    """An Initialize-ECSAgent that hangs (init-hang), started before the first test of the module and joined by the
    last one, so that its timeout_s passes while the others run."""
    host = host_for(sim, "hang")
    sim.ctl("fault", host, "init-hang")
    outcome = {}

    def run():
        started = time.monotonic()
        outcome["document"] = winrm_ops(sim, host, ("init_agent", init_args(timeout_s=INIT_HANG_TIMEOUT_S)),
                                        lock={"wait_s": 0, "holder": "hung run"})
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return host, thread, outcome


def test_a_hung_init_holds_the_lock_while_the_host_answers_other_commands(sim, hung_init):
    host, thread, _outcome = hung_init
    deadline = time.monotonic() + 10
    while sim.ctl("state", host)["mutex_holder"] is None:
        assert time.monotonic() < deadline, "the hung init never took the lock"
        time.sleep(0.1)
    assert thread.is_alive() and sim.ctl("state", host)["mutex_holder"]["holder"] == "hung run"
    started = time.monotonic()
    assert winrm_probe(sim, host, "none")["services"]["AmazonECS"] is None
    assert time.monotonic() - started < 5
    document = winrm_ops(sim, host, ("set_machine_env", {"set": {"ECS_X": "1"}, "remove": []}),
                         lock={"wait_s": 1, "holder": "second run"})
    assert document["error"]["category"] == "locked" and "held by hung run (pid " in document["error"]["message"]
    assert thread.is_alive()


def test_adapter_not_found_injected_n_times(sim):
    host = host_for(sim, "adapter")
    assert sim.ctl("fault", host, "init-adapter-not-found", "--count", 2)["pending"]["init-adapter-not-found"] == 2
    # With one attempt the sporadic error is the op's `retryable` error.
    for left in (1, 0):
        document = winrm_ops(sim, host, ("init_agent", init_args()))
        assert document["results"] == []
        error = document["error"]
        assert (error["op"], error["index"], error["category"]) == ("init_agent", 0, "retryable")
        assert re.fullmatch(r"Initialize-ECSAgent failed after \d+\.\d s: " + re.escape(ADAPTER_ERROR) + r" \(attempt 1 of 1\)",
                            error["message"])
        assert sim.ctl("state", host)["pending_faults"]["init-adapter-not-found"] == left
    winrm_result(sim, host, "init_agent", init_args())
    assert winrm_probe(sim, host)["endpoints"]["proxy"]["ok"] is True


def test_adapter_not_found_is_retried_on_the_host_up_to_attempts(sim):
    host = host_for(sim, "adapter-retry")
    sim.ctl("fault", host, "init-adapter-not-found", "--count", 2)
    before = sim.counters(host)["commands"]
    result = winrm_result(sim, host, "init_agent", dict(init_args(), attempts=3))
    assert result["attempts"] == 3 and len(result["retried_errors"]) == 2
    assert all(ADAPTER_ERROR in message for message in result["retried_errors"])
    assert sim.counters(host)["commands"] == before + 1  # the retries cost no round trip
    assert winrm_probe(sim, host)["endpoints"]["proxy"]["ok"] is True


def test_iis_holds_port_80(sim):
    host = host_for(sim, "iis")
    sim.ctl("set", host, "iis=on")
    winrm_result(sim, host, "init_agent", init_args())
    facts = winrm_probe(sim, host)
    assert facts["services"]["W3SVC"]["status"] == "Running"
    assert facts["port80_listeners"][0] == {"local_address": "0.0.0.0", "local_port": 80, "pid": 4,
                                            "process": "System", "service": None}
    assert facts["endpoints"]["proxy"] == {"ok": False, "status": 404, "code": None, "error": None}


def test_excluded_51679_keeps_the_agent_off_tmds_unless_administered(sim):
    host = host_for(sim, "excluded")
    sim.ctl("set", host, "excluded-port=51678-51679:administered")
    winrm_result(sim, host, "init_agent", init_args())
    facts = winrm_probe(sim, host)
    assert facts["excluded_port_ranges"] == [{"start": 51678, "end": 51679, "administered": True}]
    assert facts["endpoints"]["agent_tmds"]["ok"] is True and facts["endpoints"]["proxy"]["ok"] is True
    sim.ctl("set", host, "excluded-port=none", "excluded-port=51679", "agent=stopped", "agent=running")
    facts = winrm_probe(sim, host)
    assert facts["excluded_port_ranges"] == [{"start": 51679, "end": 51679, "administered": False}]
    assert facts["registration"]["reachable"] is True
    assert facts["endpoints"]["agent_tmds"]["error"] == "Unable to connect to the remote server"
    assert facts["endpoints"]["proxy"]["ok"] is False


def test_duplicate_nat_adapters_make_init_fail(sim):
    host = host_for(sim, "duplicate")
    sim.ctl("set", host, "duplicate-nat=on")
    assert [a["name"] for a in winrm_probe(sim, host)["nat_adapters"]] == [
        "vEthernet (nat)", "vEthernet (nat) 2", "vEthernet (nat) 3"]
    document = winrm_ops(sim, host, ("init_agent", init_args()))
    assert document["error"]["category"] == "init_failed"
    assert document["error"]["message"].endswith(" s: You cannot call a method on a null-valued expression.")


def test_docker_hang_in_one_container(sim):
    host = host_for(sim, "docker")
    sim.ctl("set", host, "init-agent=prod", "containers=2")
    first, second = winrm_probe(sim, host)["containers"]
    pending = sim.ctl("fault", host, "docker-hang", "--container", first["name"])["pending"]
    assert pending["docker-hang"] == 1 and sim.ctl("state", host)["docker_hang_container"] == first["name"]
    route = {"destination": "169.254.170.2/32", "next_hop": "172.29.80.1"}
    started = time.monotonic()
    out = winrm_result(sim, host, "container_routes", {"containers": [
        {"id": c["id"], "shell": "powershell", "add": [route], "remove": []} for c in (first, second)], "timeout_s": 5})
    assert time.monotonic() - started >= 5  # the docker call really took its timeout (Receive timed out meanwhile)
    assert out["containers"] == [
        {"id": first["id"], "added": [], "removed": [],
         "error": "docker inspect %s did not finish within 5 s and was stopped" % first["id"]},
        {"id": second["id"], "added": ["169.254.170.2/32"], "removed": [], "error": None}]
    assert sim.ctl("fault", host, "docker-hang", "--count", 0)["pending"]["docker-hang"] == 0
    facts = winrm_probe(sim, host)
    assert all(c["error"] is None for c in facts["containers"]) and route in facts["containers"][1]["routes"]
    done = sim.ctl_run("fault", host, "init-hang", "--container", first["name"])
    assert done.returncode == 1 and "--container applies only to the docker-hang fault" in done.stderr


def test_a_stuck_agent_service_times_out(sim):
    host = host_for(sim, "stuck")
    sim.ctl("set", host, "init-agent=prod", "service-stuck=AmazonECS")
    started = time.monotonic()
    document = winrm_ops(sim, host, ("service", example("service", state="restarted", timeout_s=2)))
    assert time.monotonic() - started >= 2
    assert document["error"] == {"op": "service", "index": 0, "category": "timeout", "message": (
        "service AmazonECS is still StopPending after 2 s (waiting for Stopped); find what holds it with: "
        "Get-CimInstance -ClassName Win32_Service -Filter \"Name='AmazonECS'\"")}
    assert winrm_probe(sim, host)["services"]["AmazonECS"]["status"] == "StopPending"
    document = winrm_ops(sim, host, ("reset_agent_data", {"stop_timeout_s": 1}))
    assert document["error"]["category"] == "timeout" and "after 1 s" in document["error"]["message"]


def test_machine_env_is_case_insensitive_and_masked_on_the_host(sim):
    host = host_for(sim, "env")
    secret = "hunter2-registry-token"
    assert sim.ctl("set", host, "init-agent=prod", "machine-env:ecs_cluster=renamed",
                   "machine-env:ECS_ENGINE_AUTH_DATA=" + secret,
                   "machine-env:https_proxy=http://ops:pr0xy@proxy.internal:3128")["applied"]["machine-env:ecs_cluster"] == "renamed"
    rc, stdout, stderr = winrm_script(sim, host, [("probe", probe_args("none"))])
    assert (rc, stderr) == (0, b"")
    assert secret.encode() not in stdout and b"pr0xy" not in stdout  # masked before it left the host
    facts = json.loads(stdout)["results"][0]["result"]
    env = facts["machine_env"]
    assert env["ECS_CLUSTER"] == "renamed" and "ecs_cluster" not in env  # the existing spelling is kept
    assert env["ECS_ENGINE_AUTH_DATA"] == "********" and env["https_proxy"] == "http://********@proxy.internal:3128"
    assert facts["machine_env_hashes"]["ECS_ENGINE_AUTH_DATA"] == hashlib.sha256((SALT + secret).encode()).hexdigest()
    # Set over WinRM under another spelling, then removed with an empty value through ctl.
    assert winrm_result(sim, host, "set_machine_env", {"set": {"Ecs_Engine_Auth_Data": "other"}, "remove": []}) == {
        "changed": ["Ecs_Engine_Auth_Data"]}
    assert sim.ctl("state", host)["machine_env"]["ECS_ENGINE_AUTH_DATA"] == "other"
    sim.ctl("set", host, "machine-env:ecs_engine_auth_data=")
    assert "ECS_ENGINE_AUTH_DATA" not in winrm_probe(sim, host, "none")["machine_env"]
    document = winrm_ops(sim, host, ("set_machine_env", {"set": {"Path": "C:\\Windows"}, "remove": []}))
    assert document["error"]["message"] == ("refusing to write Machine variable Path: it is REG_EXPAND_SZ and writing "
                                            "it would turn it into REG_SZ")


def test_ecstools_download_only_through_a_proxy(sim):
    host = host_for(sim, "proxy-only")
    sim.ctl("set", host, "ecstools=absent", "ecstools-download=proxy-only")
    args = example("install_ecstools")
    document = winrm_ops(sim, host, ("install_ecstools", args))
    assert document["error"]["category"] == "download_failed"
    assert document["error"]["message"].endswith("ECSTools.psm1 failed: Unable to connect to the remote server")
    out = winrm_result(sim, host, "install_ecstools", dict(args, proxy="http://proxy.internal:3128"))
    assert out["installed"] == ["ECSTools.psm1", "ECSTools.psd1"] and out["version"] == "1.4.0"


def test_probe_latency_per_section(sim):
    host = host_for(sim, "slow")
    sim.ctl("set", host, "probe-latency=endpoints:600")
    started = time.monotonic()
    facts = winrm_probe(sim, host, "none")
    assert time.monotonic() - started >= 0.6 and facts["timings_ms"]["endpoints"] >= 600
    sim.ctl("set", host, "probe-latency=none")
    assert winrm_probe(sim, host, "none")["timings_ms"]["endpoints"] < 600


def test_boot_time_jitter(sim):
    host = host_for(sim, "jitter")
    sim.ctl("set", host, "boot-time-jitter=on")
    boot_id = sim.ctl("state", host)["boot_id"]
    seen = {winrm_probe(sim, host, "none")["host"]["boot_id"] for _ in range(4)}
    assert len(seen) > 1 and all(abs(b - boot_id) <= 10_000_000 for b in seen)
    assert sim.ctl("state", host)["boot_id"] == boot_id  # the boot itself did not change


def test_a_boot_folder_a_user_created_is_reported_and_secured(sim):
    host = host_for(sim, "boot-folder")
    sim.ctl("set", host, "boot-folder=user-owned")
    boot = winrm_probe(sim, host, "none")["boot"]
    assert boot["folder"]["owner"] == "ECS-SIM\\mallory" and "BUILTIN\\Users" in boot["folder"]["writable_by"]
    assert boot["last_run"]["action"] == "repaired"  # the forged line
    assert winrm_result(sim, host, "boot_task", example("boot_task")) == {"changed": True, "secured": True}
    boot = winrm_probe(sim, host, "none")["boot"]
    assert (boot["folder"]["owner"], boot["folder"]["protected"], boot["folder"]["writable_by"]) == (
        "BUILTIN\\Administrators", True, [])
    assert boot["last_run"] is None


def test_init_agent_setting_without_task_iam_role(sim):
    host = host_for(sim, "no-task-iam")
    sim.ctl("set", host, "init-agent=prod:no-task-iam")
    facts = winrm_probe(sim, host, "none")
    assert facts["registration"]["cluster"] == "prod" and "ECS_ENABLE_TASK_IAM_ROLE" not in facts["machine_env"]
    assert facts["proxy"]["portproxy"] == [] and facts["endpoints"]["proxy"]["ok"] is False


def test_bad_settings_and_faults_are_refused(sim):
    done = sim.ctl_run("set", sim.hosts[0], "iis=maybe")
    assert done.returncode != 0 and "iis=maybe: value must be one of on|off" in done.stderr
    done = sim.ctl_run("fault", sim.hosts[0], "init-disk-full")
    assert done.returncode != 0


def test_init_hang_runs_until_timeout_s(sim, hung_init):
    """Started with the module (fixture hung_init): the command ran for timeout_s while the other tests ran."""
    host, thread, outcome = hung_init
    thread.join(timeout=INIT_HANG_TIMEOUT_S + 30)
    assert not thread.is_alive()
    assert outcome["seconds"] >= INIT_HANG_TIMEOUT_S
    assert outcome["document"]["error"] == {
        "op": "init_agent", "index": 0, "category": "timeout",
        "message": "Initialize-ECSAgent did not finish within %d s and was stopped" % INIT_HANG_TIMEOUT_S}
    state = sim.ctl("state", host)
    assert state["pending_faults"]["init-hang"] == 0 and state["mutex_holder"] is None
    winrm_result(sim, host, "init_agent", init_args(timeout_s=INIT_HANG_TIMEOUT_S))  # only the next init hung
    assert winrm_probe(sim, host, "none")["endpoints"]["proxy"]["ok"] is True
