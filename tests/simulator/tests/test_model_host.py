"""The host model through the Host API: presets, persistence, files, settings, faults, reboot."""

from __future__ import annotations

import datetime
import json
import re
import stat

import pytest
from ecs_windows_sim import model, presets
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
    assert facts["agent"] == {"installed": ecs, "version": "1.105.1" if ecs else None,
                              "version_source": "executable" if ecs else None}
    assert facts["services"]["AmazonECS"] is None and facts["services"]["W3SVC"] is None
    assert facts["services"]["docker"] == {"status": "Running", "start_type": "Automatic", "failure_restart": False}
    assert facts["registration"]["reachable"] is False
    assert facts["endpoints"]["proxy"]["error"].startswith("A socket operation was attempted to an unreachable network")
    assert facts["proxy"] == {"ip_bindings": [], "portproxy": [], "firewall_rules": [], "apipa_adapter": None}
    assert [a["name"] for a in facts["nat_adapters"]] == ["vEthernet (nat)"]
    assert facts["scheduled_tasks"] == [] and facts["containers"] == [] and facts["tasks"] is None
    # Nothing the collection reads is set yet; everything else is reported by name only.
    assert facts["machine_env"] == {} and facts["machine_env_hashes"] == {}
    assert {"OS", "Path", "TEMP", "windir"} <= set(facts["machine_env_other"])


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
    assert Host.HOST_FAULTS == {"init-adapter-not-found", "init-hang", "docker-hang"}
    with pytest.raises(ValueError, match=re.escape(
            "unknown host fault 'winrm-500' (known: docker-hang, init-adapter-not-found, init-hang)")):
        host.inject_fault("winrm-500", 1)
    host.inject_fault("init-adapter-not-found", 2)
    host.inject_fault("init-hang", 1)
    host.inject_fault("docker-hang", 1, container="ecs-web-1-web-1")
    snap = host.snapshot()
    assert snap["pending_faults"] == {"init-adapter-not-found": 2, "init-hang": 1, "docker-hang": 1}
    assert snap["docker_hang_container"] == "ecs-web-1-web-1"


def test_invalid_host_name(tmp_path):
    with pytest.raises(ValueError, match="invalid host name"):
        Host.create("../x", tmp_path, "ecs-2022")


def test_a_failed_change_leaves_the_state_untouched(tmp_path):
    host = new_host(tmp_path, duplicate_nat="on")
    before = json.dumps(host.state, sort_keys=True)
    with pytest.raises(ValueError, match="null-valued expression"):
        host.apply_setting("init-agent", "prod")
    assert json.dumps(host.state, sort_keys=True) == before


def test_state_files_are_owner_only(tmp_path):
    """The state holds the hosts' Machine environments (which may carry secrets)."""
    host = new_host(tmp_path / "state")
    host.save()
    path = tmp_path / "state" / "hosts" / "ecs-sim-001.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob("*.tmp"))


def test_a_quick_reboot_moves_the_host_clock_forward(tmp_path):
    """A real reboot takes minutes: a boot sooner than 120 s after the last is dated 120 s after it."""
    host = new_host(tmp_path)
    first = host.state["boot_id"]
    assert host.state.get("clock_offset_s", 0) == 0
    host.reboot()
    second = host.state["boot_id"]
    assert second == first + model.MIN_BOOT_INTERVAL_S * 10_000_000
    offset = host.state["clock_offset_s"]
    assert 110 < offset <= 120
    # The host's clock runs ahead by the offset: its log lines and task times are not earlier than its boot.
    ahead = model.now(host.state) - datetime.datetime.now(datetime.timezone.utc)
    assert abs(ahead.total_seconds() - offset) < 1
    boot_time = probe(host)["host"]["boot_time"]
    assert boot_time == host.state["boot_time"] <= model.now(host.state).strftime("%Y-%m-%dT%H:%M:%SZ")
    host.reboot()
    assert host.state["boot_id"] == second + model.MIN_BOOT_INTERVAL_S * 10_000_000
    assert host.state["clock_offset_s"] > offset + 119


def test_boot_time_jitter(tmp_path):
    """With boot-time-jitter on, LastBootUpTime wobbles by up to a second between reads, as on VMs."""
    host = new_host(tmp_path)
    boot_id = host.state["boot_id"]
    assert {probe(host)["host"]["boot_id"] for _ in range(3)} == {boot_id}
    host.apply_setting("boot-time-jitter", "on")
    seen = {probe(host)["host"]["boot_id"] for _ in range(8)}
    assert len(seen) > 1 and all(abs(b - boot_id) <= 10_000_000 for b in seen)
    host.apply_setting("boot-time-jitter", "off")
    assert probe(host)["host"]["boot_id"] == boot_id
