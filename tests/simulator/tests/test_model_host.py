"""The host model through the Host API: presets, persistence, files, settings, faults, reboot."""

from __future__ import annotations

import json

import pytest
from ecs_windows_sim import presets
from ecs_windows_sim.host import Host
from sim_scripts import init_args, new_host, probe, result


@pytest.mark.parametrize("preset", presets.PRESETS)
def test_presets_are_fresh_instances(tmp_path, preset):
    facts = probe(new_host(tmp_path, preset))
    ecs = preset.startswith("ecs-")
    assert facts["host"]["hostname"] == "ECS-SIM-001"
    assert facts["host"]["os_version"] == {"2019": "10.0.17763", "2022": "10.0.20348", "2025": "10.0.26100"}[preset.split("-")[1]]
    assert facts["ecstools"]["present"] is ecs
    assert facts["hyperv_powershell"] is ecs
    assert facts["agent"] == {"installed": ecs, "version": "1.105.1" if ecs else None}
    assert facts["services"]["AmazonECS"] is None and facts["services"]["W3SVC"] is None
    assert facts["services"]["docker"] == {"status": "Running", "start_type": "Automatic", "failure_restart": False}
    assert facts["registration"]["reachable"] is False
    assert facts["endpoints"]["proxy"]["error"].startswith("A socket operation was attempted to an unreachable network")
    assert facts["proxy"] == {"ip_bindings": [], "portproxy": [], "firewall_rules": [], "apipa_adapter": None}
    assert [a["name"] for a in facts["nat_adapters"]] == ["vEthernet (nat)"]
    assert facts["scheduled_tasks"] == [] and facts["containers"] == []
    assert not any(name.startswith("ECS_") for name in facts["machine_env"])


def test_unknown_preset_names_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="ecs-2022, ecs-2019, plain-2022"):
        Host.create("h1", tmp_path, "ecs-2016")


def test_state_persists_and_reloads(tmp_path):
    host = new_host(tmp_path)
    result(host, "init_agent", init_args("prod"))
    assert (tmp_path / "hosts" / "ecs-sim-001.json").is_file()
    again = Host.load("ecs-sim-001", tmp_path)
    assert again.state == host.state
    assert probe(again)["registration"]["container_instance_arn"] == probe(host)["registration"]["container_instance_arn"]


def test_snapshot_is_json_with_derived_answers(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    snap = json.loads(json.dumps(host.snapshot()))
    assert snap["derived"]["proxy_endpoint"]["ok"] is True
    assert snap["derived"]["registration"]["cluster"] == "prod"
    psm1 = snap["files"][presets.ECSTOOLS_DIR + "\\ECSTools.psm1"]
    assert psm1["sha256"] == presets.ECSTOOLS_SHA256["ECSTools.psm1"]


def test_files_are_case_insensitive_and_need_their_folder(tmp_path):
    host = new_host(tmp_path)
    with pytest.raises(FileNotFoundError, match="Could not find a part of the path"):
        host.write_file(r"C:\nowhere\x.txt", b"x")
    host.make_dir(r"C:\Users\ansible\AppData\Local\Temp\ansible-tmp-1")
    host.write_file(r"C:\Users\ansible\AppData\Local\Temp\ansible-tmp-1\a.ps1", b"data")
    assert host.read_file(r"c:/users/ANSIBLE/appdata/local/temp/ansible-tmp-1/A.PS1") == b"data"
    assert host.path_kind(r"C:\Users\ansible") == "dir"
    assert host.path_kind(r"C:\Users\ansible\AppData\Local\Temp\ansible-tmp-1\a.ps1") == "file"
    assert host.path_kind(r"C:\missing") is None
    with pytest.raises(OSError, match="has children"):
        host.remove_path(r"C:\Users\ansible", recurse=False)
    host.remove_path(r"C:\Users\ansible", recurse=True)
    assert host.path_kind(r"C:\Users\ansible\AppData\Local\Temp\ansible-tmp-1\a.ps1") is None
    with pytest.raises(FileNotFoundError):
        host.remove_path(r"C:\Users\ansible", recurse=True)


def test_host_faults(tmp_path):
    host = new_host(tmp_path)
    assert "init-adapter-not-found" in Host.HOST_FAULTS
    with pytest.raises(ValueError, match="unknown host fault"):
        host.inject_fault("winrm-500", 1)
    host.inject_fault("init-adapter-not-found", 2)
    assert host.snapshot()["pending_faults"] == {"init-adapter-not-found": 2}


def test_invalid_host_name(tmp_path):
    with pytest.raises(ValueError, match="invalid host name"):
        Host.create("../x", tmp_path, "ecs-2022")


def test_a_failed_change_leaves_the_state_untouched(tmp_path):
    host = new_host(tmp_path, duplicate_nat="on")
    before = json.dumps(host.state, sort_keys=True)
    with pytest.raises(ValueError, match="null-valued expression"):
        host.apply_setting("init-agent", "prod")
    assert json.dumps(host.state, sort_keys=True) == before
