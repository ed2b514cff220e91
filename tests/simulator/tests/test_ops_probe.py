"""probe: files, recovery log, container detail levels, machine environment."""

from __future__ import annotations

import hashlib
import json

from ecs_windows_sim import presets
from sim_scripts import new_host, probe

LOG = r"C:\ProgramData\Amazon\ECS\log\ecs_windows.task_iam-recover.log"


def test_files_report_sha256_or_null(tmp_path):
    host = new_host(tmp_path)
    psm1 = presets.ECSTOOLS_DIR + "\\ECSTools.psm1"
    files = probe(host, files=[psm1.upper(), r"C:\nope.txt"])["files"]
    assert files == {psm1.upper(): presets.ECSTOOLS_SHA256["ECSTools.psm1"], r"C:\nope.txt": None}


def test_boot_recovery_last_is_the_last_json_line(tmp_path):
    host = new_host(tmp_path)
    assert probe(host)["boot_recovery_last"] is None
    host.write_file(LOG, b'{"action":"none"}\r\n{"action":"repaired","boot_id":7}\r\n')
    assert probe(host)["boot_recovery_last"] == {"action": "repaired", "boot_id": 7}
    host.write_file(LOG, b'{"action":"none"}\r\nnot json\r\n')
    assert probe(host)["boot_recovery_last"] is None


def test_container_detail_levels(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1)
    assert probe(host, "none")["containers"] == []
    listed = probe(host, "list")["containers"][0]
    assert (listed["shell"], listed["gateway"], listed["routes"]) == (None, None, None)
    assert listed["network_mode"] == "nat" and listed["task_family"] == "web"
    detailed = probe(host, "routes")
    assert detailed["container_detail"] == "routes"
    assert detailed["containers"][0]["shell"] == "powershell"


def test_machine_env_is_every_machine_variable(tmp_path):
    facts = probe(new_host(tmp_path, init_agent="prod"))
    env = facts["machine_env"]
    assert env["OS"] == "Windows_NT" and env["ECS_CLUSTER"] == "prod"
    assert list(env) == sorted(env, key=str.lower)


def test_registration_and_tasks_after_init(tmp_path):
    facts = probe(new_host(tmp_path, init_agent="prod"))
    assert facts["registration"]["version"] == "Amazon ECS Agent - v1.105.1 (8dfceca6)"
    assert facts["scheduled_tasks"] == [{
        "path": "\\", "name": "Initialize-ECSHostReboot", "state": "Ready", "enabled": True, "at_startup": True,
        "delay": None, "execute": "PowerShell.exe",
        "arguments": '-NoProfile -Command "Import-Module ECSTools; Initialize-ECSHostReboot"'}]
    assert facts["proxy"]["firewall_rules"][0]["display_name"] == "Allow Inbound Port 51679"
    assert facts["proxy"]["portproxy"] == [{"listen_address": "169.254.170.2", "listen_port": 80,
                                            "connect_address": "127.0.0.1", "connect_port": 51679}]
    assert json.dumps(facts).isascii()


def test_probe_changes_nothing(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2)
    before = hashlib.sha256(json.dumps(host.state, sort_keys=True).encode()).hexdigest()
    probe(host)
    assert hashlib.sha256(json.dumps(host.state, sort_keys=True).encode()).hexdigest() == before
