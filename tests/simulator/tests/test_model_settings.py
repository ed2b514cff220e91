"""`ctl set` settings (Host.apply_setting): each changes what the probe sees as Windows would show it."""

from __future__ import annotations

import re

import pytest
from ecs_windows_sim import model, settings
from sim_scripts import init_args, new_host, op_error, probe, result


def test_iis_on_holds_port_80_and_answers_404(tmp_path):
    host = new_host(tmp_path, iis="on", init_agent="prod")
    facts = probe(host)
    assert facts["services"]["W3SVC"]["status"] == "Running"
    assert {"local_address": "0.0.0.0", "local_port": 80, "pid": 4, "process": "System", "service": None} in \
        facts["port80_listeners"]
    assert facts["endpoints"]["proxy"] == {"ok": False, "status": 404, "code": None, "error": None}
    host.apply_setting("iis", "off")
    facts = probe(host)
    assert facts["services"]["W3SVC"] is None
    # The rule was added while IIS held port 80: it is dead and stays dead without IIS.
    assert facts["endpoints"]["proxy"]["error"] == "The underlying connection was closed: An unexpected error occurred on a receive."


def test_excluded_port_51679_keeps_tmds_from_binding(tmp_path):
    host = new_host(tmp_path, excluded_port="51679", init_agent="prod")
    facts = probe(host)
    assert facts["excluded_port_ranges"] == [{"start": 51679, "end": 51679, "administered": False}]
    assert facts["registration"]["reachable"] is True
    assert facts["endpoints"]["agent_tmds"] == {"ok": False, "status": None, "code": None,
                                                "error": "Unable to connect to the remote server"}
    assert facts["endpoints"]["proxy"]["ok"] is False
    host.apply_setting("excluded-port", "none")
    assert probe(host)["endpoints"]["proxy"]["ok"] is True


def test_an_administered_exclusion_does_not_block_the_agent(tmp_path):
    """`netsh int ipv4 add excludedportrange` reserves the ports for whoever asks for them: the agent binds them."""
    host = new_host(tmp_path, excluded_port="51678-51679:administered", init_agent="prod")
    facts = probe(host)
    assert facts["excluded_port_ranges"] == [{"start": 51678, "end": 51679, "administered": True}]
    assert facts["registration"]["reachable"] is True
    assert facts["endpoints"]["agent_tmds"]["ok"] is True and facts["endpoints"]["proxy"]["ok"] is True
    host.apply_setting("excluded-port", "51679")  # a dynamic one as well: that one does block TMDS
    assert probe(host)["endpoints"]["agent_tmds"]["error"] == "Unable to connect to the remote server"


def test_excluded_port_range_covering_51678_hides_registration(tmp_path):
    host = new_host(tmp_path, excluded_port="51600-51699", init_agent="prod")
    facts = probe(host)
    assert facts["registration"]["reachable"] is False
    assert facts["endpoints"]["agent_tmds"]["ok"] is False


def test_duplicate_nat_on_off(tmp_path):
    host = new_host(tmp_path, duplicate_nat="on")
    assert [(a["name"], a["status"]) for a in probe(host)["nat_adapters"]] == [
        ("vEthernet (nat)", "Up"), ("vEthernet (nat) 2", "Disconnected"), ("vEthernet (nat) 3", "Up")]
    host.apply_setting("duplicate-nat", "off")
    assert len(probe(host)["nat_adapters"]) == 1


def test_containers_of_each_kind(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2, containers_cmd=1, containers_awsvpc=1)
    containers = probe(host)["containers"]
    assert [(c["network_mode"], c["shell"]) for c in containers] == [
        ("nat", "powershell"), ("nat", "powershell"), ("nat", "cmd"), ("awsvpc", "powershell")]
    nat = containers[0]
    assert nat["task_family"] == "web" and nat["task_arn"].startswith("arn:aws:ecs:us-east-1:123456789012:task/prod/")
    assert nat["image"].endswith(":ltsc2022") and len(nat["id"]) == 64
    assert nat["gateway"] == "172.29.80.1" and nat["routes"] == [{"destination": "0.0.0.0/0", "next_hop": "172.29.80.1"}]
    assert {r["destination"] for r in containers[3]["routes"]} == {"0.0.0.0/0", "169.254.170.2/32", "169.254.169.254/32"}
    host.apply_setting("containers", "0")
    assert [c["shell"] for c in probe(host)["containers"]] == ["cmd", "powershell"]


def test_awsvpc_containers_without_imds_route_when_blocked(tmp_path):
    host = new_host(tmp_path)
    result(host, "init_agent", init_args("prod", enable_task_eni=True, awsvpc_block_imds=True))
    host.apply_setting("containers-awsvpc", "1")
    routes = probe(host)["containers"][0]["routes"]
    assert "169.254.169.254/32" not in {r["destination"] for r in routes}


def test_ecstools_absent_then_present(tmp_path):
    host = new_host(tmp_path, ecstools="absent")
    assert probe(host)["ecstools"] == {"present": False, "version": None}
    error = op_error(host, "init_agent", init_args())
    assert error["category"] == "init_failed" and "The specified module 'ECSTools' was not loaded" in error["message"]
    host.apply_setting("ecstools", "present")
    assert probe(host)["ecstools"] == {"present": True, "version": "1.4.0"}


def test_agent_stopped_running(tmp_path):
    host = new_host(tmp_path)
    with pytest.raises(ValueError, match="AmazonECS service does not exist"):
        host.apply_setting("agent", "running")
    host.apply_setting("init-agent", "prod")
    host.apply_setting("agent", "stopped")
    facts = probe(host)
    assert facts["services"]["AmazonECS"]["status"] == "Stopped"
    assert facts["registration"]["reachable"] is False
    assert facts["endpoints"]["proxy"]["ok"] is False
    host.apply_setting("agent", "running")
    assert probe(host)["endpoints"]["proxy"]["ok"] is True


def test_apipa_adapter_holds_the_credentials_address(tmp_path):
    host = new_host(tmp_path, apipa_adapter="on")
    proxy = probe(host)["proxy"]
    assert proxy["apipa_adapter"] == "vEthernet (APIPA)"
    assert [(b["interface_alias"], b["ip_address"]) for b in proxy["ip_bindings"]] == [("vEthernet (APIPA)", "169.254.170.2")]


def test_other_settings(tmp_path):
    host = new_host(tmp_path, "plain-2022", hyperv_powershell="on", agent_version="1.90.0")
    facts = probe(host)
    assert facts["hyperv_powershell"] is True and facts["agent"]["version"] == "1.90.0"


@pytest.mark.parametrize("key, value, message", [
    ("iis", "yes", "iis=yes: value must be one of on|off"),
    ("excluded-port", "70000", "excluded-port=70000: value must be PORT, START-END (optionally :administered) or none"),
    ("excluded-port", "51679:reserved", "value must be PORT, START-END (optionally :administered) or none"),
    ("excluded-port", "2-1", "value must be PORT, START-END"),
    ("containers", "-1", "number of containers"),
    ("ecstools", "maybe", "present|absent"),
    ("init-agent", "bad name", "ECS cluster name"),
    ("init-agent", "prod:no-eni", "init-agent=prod:no-eni: value must be an ECS cluster name, optionally followed by "
                                  ":no-task-iam"),
    ("ecstools-download", "slow",
     "ecstools-download=slow: value must be one of ok|unsigned|manifest-unsigned|unreachable|proxy-only"),
    ("firewall-rule", "51679-", "firewall-rule=51679-: value must be PORTS or ecstools:PORTS (PORTS: PORT, START-END"),
    ("firewall-rule", "baseline:51679", "firewall-rule=baseline:51679: value must be PORTS or ecstools:PORTS"),
    ("service-stuck", "W3SVC", "service-stuck=W3SVC: value must be AmazonECS, docker or none"),
    ("registration-delay", "soon", "registration-delay=soon: value must be a number of seconds from 0 to 3600"),
    ("registration-delay", "3601", "value must be a number of seconds from 0 to 3600"),
    ("ecstools-boot-delay", "-1", "ecstools-boot-delay=-1: value must be a number of seconds from 0 to 3600"),
    ("boot-time-jitter", "yes", "boot-time-jitter=yes: value must be one of on|off"),
    ("probe-latency", "disk:5", "probe-latency=disk:5: value must be SECTION:MS (MS up to 60000) with SECTION one of "
                                "host|identity|modules|agent|services|machine_env|endpoints|proxy|ports|boot|containers|"
                                "tasks, or none"),
    ("probe-latency", "host:60001", "probe-latency=host:60001: value must be SECTION:MS (MS up to 60000)"),
    ("boot-folder", "mine", "boot-folder=mine: value must be one of user-owned|none"),
    ("machine-env:1ECS", "x", "machine-env:1ECS: not a variable name (letters, digits, _)"),
    ("colour", "red", "unknown setting 'colour' (known: "),
])
def test_bad_settings_are_refused_clearly(tmp_path, key, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        new_host(tmp_path).apply_setting(key, value)


def test_the_issue_settings_exist():
    for key in ("iis", "excluded-port", "duplicate-nat", "containers", "containers-cmd", "containers-awsvpc",
                "ecstools", "agent"):
        assert key in settings.SETTINGS
    assert settings.SETTINGS == ("adapter-name:INDEX", "agent", "agent-version", "apipa-adapter", "boot-folder",
                                 "boot-time-jitter", "clock-step", "containers", "containers-awsvpc", "containers-cmd",
                                 "duplicate-nat", "ecstools", "ecstools-boot-delay", "ecstools-download",
                                 "excluded-port", "firewall-rule", "hyperv-powershell", "iis", "init-agent",
                                 "machine-env:NAME", "probe-latency", "reboot-downtime", "registration-delay",
                                 "service-stuck", "task-credentials")


def test_adapter_name_renames_as_rename_netadapter(tmp_path):
    host = new_host(tmp_path, duplicate_nat="on")
    host.apply_setting("adapter-name:21", "vEthernet (nat) \u2019; Stop-Computer; \u2019")
    assert [a["name"] for a in probe(host)["nat_adapters"]] == [
        "vEthernet (nat)", "vEthernet (nat) 2", "vEthernet (nat) \u2019; Stop-Computer; \u2019"]
    for index, name, message in (("99", "x", "no adapter has interface index 99"),
                                 ("21", "VETHERNET (NAT)", "adapter 12 already has that name"),
                                 ("21", "", "1 to 256 printable characters")):
        with pytest.raises(ValueError, match=re.escape(message)):
            host.apply_setting("adapter-name:" + index, name)


def test_machine_env_setting_sets_keeps_the_spelling_and_removes(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    host.apply_setting("machine-env:ecs_cluster", "other")  # [Environment]::SetEnvironmentVariable: spelling kept
    host.apply_setting("machine-env:ECS_Instance_Attributes", '{"stack":"blue"}')
    env = probe(host)["machine_env"]
    assert env["ECS_CLUSTER"] == "other" and "ecs_cluster" not in env
    assert env["ECS_Instance_Attributes"] == '{"stack":"blue"}'
    host.apply_setting("machine-env:ecs_instance_attributes", "")
    host.apply_setting("machine-env:NO_SUCH_VARIABLE", "")  # removing what is not there changes nothing
    assert "ECS_Instance_Attributes" not in probe(host)["machine_env"]
    # The running agent read its environment when it started; a restart reads the new one (case-insensitively).
    assert probe(host)["registration"]["cluster"] == "prod"
    assert model.agent_config(host.state)["ECS_CLUSTER"] == "prod"
