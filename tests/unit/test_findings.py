# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure decision logic that turns probe facts into findings."""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest

import probe_data as pd
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _boot_task, _contract, _findings, _host

PROBE_SCHEMA = _contract.schema("probe", "result")


def codes(facts):
    return [item["code"] for item in _findings.findings(facts)]


def only(facts, code):
    found = _findings.findings(facts)
    assert [item["code"] for item in found] == [code], found
    return found[0]


def stopped_agent():
    facts = pd.configured()
    facts["services"]["AmazonECS"]["status"] = "Stopped"
    facts["registration"] = {"reachable": False, "cluster": None, "container_instance_arn": None, "version": None,
                             "error": "Unable to connect to the remote server"}
    facts["endpoints"]["agent_tmds"] = {"ok": False, "status": None, "code": None, "error": "Unable to connect to the remote server"}
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None,
                                   "error": "The underlying connection was closed: An unexpected error occurred on a receive."}
    return facts


# --- every fixture is a valid probe result ---------------------------------------------------

@pytest.mark.parametrize("make", [pd.fresh, pd.configured, pd.rebooted_stale, stopped_agent])
def test_fixtures_match_the_probe_result_schema(make):
    facts = make()
    facts["containers"] = [pd.container()]
    jsonschema.validate(facts, PROBE_SCHEMA)


# --- healthy states ---------------------------------------------------------------------------

def test_configured_host_is_healthy():
    assert _findings.findings(pd.configured()) == []


@pytest.mark.parametrize("name, change", [
    ("iis installed but stopped", lambda f: f["services"].update(W3SVC={"status": "Stopped", "start_type": "Disabled", "failure_restart": False})),
    ("the portproxy listener in a shared svchost (small instances)", lambda f: f["port80_listeners"][0].update(
        service="BITS,iphlpsvc,Schedule")),
    ("a listener on the host's own address", lambda f: f["port80_listeners"].append(
        {"local_address": "10.0.1.23", "local_port": 80, "pid": 900, "process": "nginx", "service": None})),
    ("excluded range away from the agent ports", lambda f: f["excluded_port_ranges"].append(
        {"start": 51680, "end": 51779, "administered": False})),
    ("dynamic exclusion of the agent ports, but the agent answers", lambda f: f["excluded_port_ranges"].append(
        {"start": 51678, "end": 51679, "administered": False})),
    ("administered exclusion of the agent ports (the documented fix)", lambda f: f["excluded_port_ranges"].append(
        {"start": 51678, "end": 51679, "administered": True})),
    ("proxy with complete NO_PROXY", lambda f: f["machine_env"].update(
        HTTP_PROXY="http://user:pw@proxy:3128", NO_PROXY="localhost,169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine")),
    ("nat container with both routes", lambda f: f["containers"].append(pd.container())),
    ("nat container with the credential route only (IMDS blocked)", lambda f: f["containers"].append(pd.container(imds=False))),
    ("awsvpc container without routes (the agent routes it)", lambda f: f["containers"].append(pd.container(network_mode="awsvpc", routes=False))),
    ("routes not read (container_detail list)", lambda f: f["containers"].append(dict(pd.container(routes=False), shell=None, gateway=None, routes=None))),
    ("a failed boot recovery of an earlier boot", lambda f: f["boot"].update(last_run={
        "time": "2024-12-31T08:00:00Z", "boot_id": f["host"]["boot_id"] - 3600 * 10**7, "action": "failed", "error": "x"})),
    ("a failed boot recovery of this boot, repaired since", lambda f: f["boot"].update(last_run={
        "time": "2025-01-01T08:01:00Z", "boot_id": f["host"]["boot_id"], "action": "failed", "error": "x"})),
    ("a repaired boot recovery of this boot", lambda f: f["boot"].update(last_run={
        "time": "2025-01-01T08:01:00Z", "boot_id": f["host"]["boot_id"], "action": "repaired", "error": None})),
    ("machine variables in lower case", lambda f: f.update(machine_env={
        k.lower(): v for k, v in f["machine_env"].items()})),
    ("ECSTools present without Hyper-V PowerShell", lambda f: f.update(hyperv_powershell=False)),
    ("task IAM flag in upper case", lambda f: f["machine_env"].update(ECS_ENABLE_TASK_IAM_ROLE="TRUE")),
])
def test_healthy_variants(name, change):
    facts = pd.configured()
    change(facts)
    assert _findings.findings(facts) == [], name


# --- each code ----------------------------------------------------------------------------------

def test_agent_not_initialized_on_a_fresh_host():
    item = only(pd.fresh(), "agent_not_initialized")
    assert "AmazonECS service does not exist" in item["message"]
    assert "ecs_windows.task_iam.agent" in item["fix"] and "-EnableTaskIAMRole" in item["fix"]


def test_ecstools_missing():
    facts = pd.configured()
    facts["ecstools"] = {"present": False, "version": None}
    item = only(facts, "ecstools_missing")
    assert "Import-Module ECSTools" in item["message"]
    assert "install_ecstools: true" in item["fix"]
    assert "Hyper-V" not in item["fix"]


def test_ecstools_missing_names_hyperv_when_absent_too():
    facts = pd.fresh()
    facts["ecstools"] = {"present": False, "version": None}
    facts["hyperv_powershell"] = False
    assert codes(facts) == ["ecstools_missing", "agent_not_initialized"]
    assert "Install-WindowsFeature -Name Hyper-V-PowerShell" in _findings.findings(facts)[0]["fix"]


def test_agent_not_running():
    facts = stopped_agent()
    facts["services"]["AmazonECS"]["start_type"] = "Disabled"
    item = only(facts, "agent_not_running")
    assert "is Stopped (start type Disabled)" in item["message"]
    assert "cluster: windows" in item["fix"] and "Start-Service -Name AmazonECS" in item["fix"]


def test_agent_not_registered_without_arn():
    facts = pd.configured()
    facts["registration"]["container_instance_arn"] = None
    item = only(facts, "agent_not_registered")
    assert "no ContainerInstanceArn" in item["message"]
    assert "ecs:RegisterContainerInstance" in item["fix"] and "cluster: windows" in item["fix"]


def test_agent_not_registered_when_introspection_fails():
    facts = pd.configured()
    facts["registration"].update(reachable=False, container_instance_arn=None, error="The operation has timed out")
    assert "The operation has timed out" in only(facts, "agent_not_registered")["message"]


@pytest.mark.parametrize("value, seen", [(None, "not set"), ("false", "'false'")])
def test_task_iam_disabled(value, seen):
    facts = pd.configured()
    if value is None:
        del facts["machine_env"]["ECS_ENABLE_TASK_IAM_ROLE"]
    else:
        facts["machine_env"]["ECS_ENABLE_TASK_IAM_ROLE"] = value
    facts["proxy"] = {"ip_bindings": [], "portproxy": [], "firewall_rules": [], "apipa_adapter": None}
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None, "error": "unreachable network"}
    facts["port80_listeners"] = []
    item = only(facts, "task_iam_disabled")
    assert "ECS_ENABLE_TASK_IAM_ROLE is %s" % seen in item["message"]
    assert "task_iam_role: true" in item["fix"]


def test_proxy_missing():
    facts = pd.configured()
    facts["proxy"]["portproxy"] = []
    facts["port80_listeners"] = []
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None, "error": "Unable to connect to the remote server"}
    item = only(facts, "proxy_missing")
    assert "Unable to connect to the remote server" in item["message"]
    assert "ecs_windows.task_iam.credential_proxy" in item["fix"]


def test_proxy_stale_after_reboot():
    item = only(pd.rebooted_stale(), "proxy_stale_after_reboot")
    assert "169.254.170.2:80 -> 127.0.0.1:51679 survives" in item["message"]
    assert "2025-01-01T08:10:00Z" in item["message"] and "unreachable network" in item["message"]
    assert "ecs_windows.task_iam.credential_proxy" in item["fix"] and "on_boot: true" in item["fix"]


def test_proxy_dead_rule():
    facts = pd.configured()
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None,
                                   "error": "The underlying connection was closed: An unexpected error occurred on a receive."}
    item = only(facts, "proxy_dead_rule")
    assert "holds port 80 without forwarding" in item["message"] and "connection was closed" in item["message"]
    assert "deletes the rule before re-initializing" in item["fix"]


def test_agent_down_is_not_reported_as_dead_rule():
    # With the agent stopped the proxy fails the same way; the cause is the agent.
    assert codes(stopped_agent()) == ["agent_not_running"]


def test_port80_in_use_by_iis():
    facts = pd.configured()
    facts["services"]["W3SVC"] = {"status": "Running", "start_type": "Automatic", "failure_restart": False}
    facts["port80_listeners"] = [dict(pd.IIS_LISTENER)]
    facts["endpoints"]["proxy"] = {"ok": False, "status": 404, "code": None, "error": None}
    item = only(facts, "port80_in_use")
    assert "0.0.0.0:80 by System (pid 4, service W3SVC)" in item["message"]
    assert "name: W3SVC, state: stopped, start_mode: disabled" in item["fix"]


def test_port80_in_use_by_unknown_process():
    facts = pd.fresh()
    facts["port80_listeners"] = [{"local_address": "::", "local_port": 80, "pid": 700, "process": "node", "service": None}]
    assert codes(facts) == ["agent_not_initialized", "port80_in_use"]
    assert "stop node (pid 700)" in _findings.findings(facts)[1]["fix"]


def test_agent_port_excluded_while_agent_runs():
    facts = pd.configured()
    facts["excluded_port_ranges"].append({"start": 51650, "end": 51749, "administered": False})
    facts["endpoints"]["agent_tmds"] = {"ok": False, "status": None, "code": None, "error": "Unable to connect to the remote server"}
    facts["endpoints"]["proxy"] = {"ok": False, "status": None, "code": None, "error": "The underlying connection was closed"}
    item = only(facts, "agent_port_excluded")
    assert "port 51679" in item["message"] and "51650-51749" in item["message"]
    assert "netsh int ipv4 add excludedportrange protocol=tcp startport=51678 numberofports=2" in item["fix"]
    assert "with a *, which is the fix" in item["fix"]


def test_an_administered_range_of_the_agent_ports_is_the_fix_not_a_finding():
    facts = pd.fresh()
    facts["excluded_port_ranges"].append({"start": 51678, "end": 51679, "administered": True})
    assert codes(facts) == ["agent_not_initialized"]


def test_agent_port_excluded_before_initialization():
    facts = pd.fresh()
    facts["excluded_port_ranges"].append({"start": 51600, "end": 51699, "administered": False})
    assert codes(facts) == ["agent_not_initialized", "agent_port_excluded"]
    assert "ports 51678 and 51679" in _findings.findings(facts)[1]["message"]


def test_duplicate_nat_adapters():
    facts = pd.fresh()
    facts["nat_adapters"] += [{"name": "vEthernet (nat) 2", "interface_index": 17, "status": "Disconnected"},
                              {"name": "vEthernet (nat) 3", "interface_index": 21, "status": "Up"}]
    assert codes(facts) == ["agent_not_initialized", "duplicate_nat_adapters"]
    item = _findings.findings(facts)[1]
    assert "3 adapters" in item["message"] and "vEthernet (nat) 2 (index 17, Disconnected)" in item["message"]
    assert "Rename-NetAdapter -Name 'vEthernet (nat) 2' -NewName 'stale-nat-17'" in item["fix"]
    assert "Rename-NetAdapter -Name 'vEthernet (nat) 3' -NewName 'stale-nat-21'" in item["fix"]
    assert "-Name 'vEthernet (nat)' " not in item["fix"]


def test_duplicate_nat_adapters_renames_the_up_one_back():
    facts = pd.fresh()
    facts["nat_adapters"] = [{"name": "vEthernet (nat) 2", "interface_index": 17, "status": "Up"},
                             {"name": "vEthernet (nat)", "interface_index": 12, "status": "Disconnected"}]
    fix = _findings.findings(facts)[1]["fix"]
    assert "Rename-NetAdapter -Name 'vEthernet (nat)' -NewName 'stale-nat-12'" in fix
    assert "Rename-NetAdapter -Name 'vEthernet (nat) 2' -NewName 'vEthernet (nat)'" in fix


def test_no_proxy_missing_never_quotes_the_proxy_url():
    facts = pd.configured()
    facts["machine_env"].update(HTTP_PROXY="http://svc:Secr3t@proxy.corp:3128", NO_PROXY="localhost,169.254.169.254")
    item = only(facts, "no_proxy_missing")
    assert "Secr3t" not in json.dumps(item)
    assert "HTTP_PROXY is set" in item["message"] and "169.254.170.2, \\\\.\\pipe\\docker_engine" in item["message"]
    assert "SetEnvironmentVariable('NO_PROXY', 'localhost,169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine', 'Machine')" in item["fix"]


def test_container_routes_missing():
    facts = pd.configured()
    facts["containers"] = [pd.container("ok"), pd.container("bare", routes=False),
                           dict(pd.container("wrong-hop"), routes=[{"destination": "169.254.170.2/32", "next_hop": "10.9.9.9"}])]
    item = only(facts, "container_routes_missing")
    assert "2 nat-mode containers have no route to 169.254.170.2/32" in item["message"]
    assert "bare (" in item["message"] and "wrong-hop (" in item["message"] and "ok (" not in item["message"]
    assert "ecs_windows.task_iam.container_routes with names: ['bare', 'wrong-hop']" in item["fix"]


def test_boot_recovery_failed_this_boot():
    facts = pd.rebooted_stale()
    facts["boot"]["last_run"] = {"time": "2025-01-01T08:10:40Z", "boot_id": facts["host"]["boot_id"], "action": "failed",
                                 "error": "VMNetwork adapter 'vEthernet (nat)*' not found", "before": {}, "after": {}, "removed": []}
    assert codes(facts) == ["proxy_stale_after_reboot", "boot_recovery_failed"]
    assert "vEthernet (nat)*' not found" in _findings.findings(facts)[1]["message"]


def test_boot_recovery_failed_is_the_same_boot_although_the_boot_time_wobbles():
    # WMI's LastBootUpTime moves by fractions of a second (and seconds after clock steps) without a reboot (issue 11.5).
    facts = pd.rebooted_stale()
    facts["boot"]["last_run"] = {"time": "2025-01-01T08:10:40Z", "boot_id": facts["host"]["boot_id"] - 7 * 10**6,
                                 "action": "failed", "error": "x"}
    assert "boot_recovery_failed" in codes(facts)
    facts["boot"]["last_run"]["boot_id"] = facts["host"]["boot_id"] - 600 * 10**7  # ten minutes: another boot
    assert "boot_recovery_failed" not in codes(facts)


def test_boot_recovery_failed_before_its_log_line_is_seen_in_the_task_result():
    # A boot script that fails before it logs (a bad argument, say) still shows: the task's last result (issue 9.7).
    facts = pd.rebooted_stale()
    facts["scheduled_tasks"].append(boot_task(last_run_time="2025-01-01T08:10:31Z", last_result=1))
    item = [f for f in _findings.findings(facts) if f["code"] == "boot_recovery_failed"][0]
    assert "did not log anything at this boot" in item["message"] and "0x00000001" in item["message"]
    facts["boot"]["last_run"] = {"time": "2025-01-01T08:10:31Z", "boot_id": facts["host"]["boot_id"], "action": "started", "pid": 9}
    item = [f for f in _findings.findings(facts) if f["code"] == "boot_recovery_failed"][0]
    assert "never finished" in item["message"]


RECOVER = _boot_task.recover_args(5, 10, 300, 900)


def boot_task(**changes):
    task = {"path": _host.BOOT_TASK_PATH, "name": _host.BOOT_TASK_NAME, "state": "Ready", "enabled": True, "at_startup": True,
            "delay": "PT30S", "execute": "PowerShell.exe", "arguments": _host.BOOT_TASK_ARGUMENTS, "principal": "SYSTEM",
            "execution_limit": "PT%dS" % _boot_task.execution_limit_s(RECOVER), "last_run_time": None, "last_result": None,
            "registered_time": "2024-12-01T10:00:00Z"}
    task.update(changes)
    return task


def with_boot_script(facts, text):
    facts["scheduled_tasks"].append(boot_task())
    batch = {"contract": 2, "lock": None, "store": False,
             "ops": [{"op": "wait_task_idle", "args": {}}, {"op": "recover_proxy", "args": RECOVER}]}
    facts["boot"].update(folder=dict(pd.TRUSTED_ACL), script=dict(pd.TRUSTED_ACL, protected=False),
                         script_sha256=_boot_task.script_sha256(text), script_batch=batch)
    return facts


def test_boot_task_outdated():
    current = with_boot_script(pd.configured(), _boot_task.script(RECOVER))
    assert codes(current) == []
    older = with_boot_script(pd.configured(), _boot_task.script(RECOVER) + "# another version\n")
    item = only(older, "boot_task_outdated")
    assert "its script is not the one this collection writes" in item["message"] and "configure" in item["fix"]
    embedded = with_boot_script(pd.configured(), "x")
    embedded["boot"]["script_batch"]["ops"][1]["args"] = {"init": {"cluster": "windows"}, "registration_timeout_s": 300,
                                                          "log_path": "C:\\x.log"}
    assert "not written by this version" in only(embedded, "boot_task_outdated")["message"]


def test_boot_folder_insecure():
    facts = with_boot_script(pd.configured(), _boot_task.script(RECOVER))
    facts["boot"]["folder"] = {"exists": True, "owner": "ECS-SIM\\mallory", "owner_sid": "S-1-5-21-1-2-3-1001", "protected": False,
                               "writable_by": ["ECS-SIM\\mallory", "BUILTIN\\Users"]}
    item = only(facts, "boot_folder_insecure")
    assert "owned by ECS-SIM\\mallory" in item["message"] and "BUILTIN\\Users" in item["message"]
    assert "takes the folder over" in item["fix"]


def test_agent_init_pending():
    facts = pd.configured()
    facts["machine_env"][_host.ENV_INIT_PENDING] = "true"
    assert "did not finish" in only(facts, "agent_init_pending")["message"]


def test_cluster_mismatch():
    facts = pd.configured()
    assert _findings.findings(facts, cluster="windows") == []
    item = _findings.findings(facts, cluster="prod")[0]
    assert item["code"] == "cluster_mismatch" and "registered to cluster 'windows'" in item["message"]
    assert "force_reregister" in item["fix"]


def test_docker_not_answering():
    facts = pd.configured()
    facts.update(containers=None, containers_error="docker ps did not finish within 20 s and was stopped")
    assert "did not finish within 20 s" in only(facts, "docker_not_answering")["message"]


def test_imds_fallback_risk():
    facts = pd.rebooted_stale()
    facts["containers"] = [pd.container("web")]
    assert codes(facts) == ["proxy_stale_after_reboot", "imds_fallback_risk"]
    item = _findings.findings(facts)[1]
    assert "falls back to the instance role" in item["message"] and "imds: block" in item["fix"]
    facts["containers"] = [pd.container("web", imds=False)]
    assert codes(facts) == ["proxy_stale_after_reboot"]


def test_task_credentials_failing():
    facts = pd.configured()
    facts["boot"]["last_run"] = {"time": "2025-01-01T08:01:00Z", "boot_id": facts["host"]["boot_id"], "action": "repaired", "error": None}
    arn = "arn:aws:ecs:us-east-1:123456789012:task/windows/0123"
    facts["tasks"] = [{"arn": arn, "family": "web", "version": "3", "known_status": "RUNNING", "desired_status": "RUNNING",
                       "last_credentials": {"time": "2025-01-01T08:00:30Z", "status": 200, "event": "GetCredentials"}},
                      {"arn": arn + "5", "family": "web", "version": "3", "known_status": "RUNNING", "desired_status": "RUNNING",
                       "last_credentials": {"time": "2025-01-01T08:02:30Z", "status": 200, "event": "GetCredentials"}},
                      {"arn": arn + "6", "family": "batch", "version": "1", "known_status": "RUNNING", "desired_status": "RUNNING",
                       "last_credentials": None}]
    item = only(facts, "task_credentials_failing")
    assert "1 task may not get its credentials" in item["message"]
    assert arn + " (no request since the proxy was repaired at 2025-01-01T08:01:00Z" in item["message"]
    assert "aws ecs stop-task --cluster windows" in item["fix"]


def test_task_credentials_failing_from_failed_requests_the_agent_logged_without_their_task():
    facts = pd.configured()
    arn = "arn:aws:ecs:us-east-1:123456789012:task/windows/0123"
    facts["tasks"] = [{"arn": arn, "family": "web", "version": "3", "known_status": "RUNNING", "desired_status": "RUNNING",
                       "last_credentials": {"time": "2025-01-01T08:00:30Z", "status": 200, "event": "GetCredentials"}},
                      {"arn": arn + "5", "family": "web", "version": "3", "known_status": "RUNNING", "desired_status": "RUNNING",
                       "last_credentials": {"time": "2025-01-01T08:09:00Z", "status": 200, "event": "GetCredentials"}}]
    facts["credential_failures"] = {"count": 3, "first_time": "2025-01-01T08:05:00Z", "last_time": "2025-01-01T08:07:00Z",
                                    "last_status": 400}
    item = only(facts, "task_credentials_failing")
    assert arn + " (no successful request since 2025-01-01T08:00:30Z)" in item["message"]
    assert arn + "5" not in item["message"]  # it succeeded after the last failure
    assert "3 credential requests failed from 2025-01-01T08:05:00Z to 2025-01-01T08:07:00Z (the last with HTTP 400)" in item["message"]
    facts["credential_failures"] = None
    assert not [f for f in _findings.findings(facts) if f["code"] == "task_credentials_failing"]


def test_every_code_is_tested_and_listed_in_order():
    required = {"ecstools_missing", "agent_not_initialized", "agent_not_running", "agent_not_registered", "task_iam_disabled",
                "proxy_stale_after_reboot", "proxy_dead_rule", "port80_in_use", "agent_port_excluded",
                "duplicate_nat_adapters", "no_proxy_missing", "container_routes_missing", "boot_task_outdated",
                "boot_folder_insecure", "task_credentials_failing", "imds_fallback_risk"}
    assert required <= set(_findings.CODES)
    names = [check.__name__.lstrip("_") for check in _findings._CHECKS]
    assert names == list(_findings.CODES)
    source = pathlib.Path(__file__).read_text()
    untested = [code for code in _findings.CODES if "def test_%s" % code not in source]
    assert untested == []


def test_everything_wrong_at_once_keeps_the_code_order():
    facts = pd.rebooted_stale()
    facts["ecstools"]["present"] = False
    facts["port80_listeners"] = [dict(pd.IIS_LISTENER)]
    facts["nat_adapters"].append({"name": "vEthernet (nat) 2", "interface_index": 17, "status": "Disconnected"})
    facts["machine_env"]["HTTPS_PROXY"] = "http://proxy:3128"
    facts["containers"] = [pd.container(routes=False)]
    assert codes(facts) == ["ecstools_missing", "proxy_stale_after_reboot", "port80_in_use", "duplicate_nat_adapters",
                            "no_proxy_missing", "container_routes_missing"]
    for item in _findings.findings(facts):
        assert item["message"] and item["fix"]


def test_boot_recovery_and_instance_facts():
    facts = pd.configured()
    facts["scheduled_tasks"].append(boot_task())
    facts["boot"]["last_run"] = {"action": "none", "boot_id": 1}  # a run logged at an earlier boot
    view = _findings.instance_facts(facts)
    assert view["boot_recovery"] == {"installed": True, "enabled": True, "last": {"action": "none", "boot_id": 1},
                                     "healed_this_boot": False, "ran_this_boot": False, "pending": True}
    assert "container_detail" not in view and "salt" not in view
    facts["boot"]["last_run"] = {"action": "started", "boot_id": facts["host"]["boot_id"]}  # running now
    assert _findings.boot_recovery(facts)["pending"] is True
    facts["boot"]["last_run"] = {"action": "none", "boot_id": facts["host"]["boot_id"]}  # done at this boot
    assert _findings.boot_recovery(facts)["pending"] is False and _findings.boot_recovery(facts)["ran_this_boot"] is True
    assert _findings.boot_recovery(pd.configured()) == {"installed": False, "enabled": False, "last": None,
                                                        "healed_this_boot": False, "ran_this_boot": False, "pending": False}
