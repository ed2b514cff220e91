# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_windows.task_iam.instance_info through real ansible-playbook runs against simulated hosts."""

from __future__ import annotations

import re

import pytest

FRESH, CONFIGURED, REBOOTED = "ecs-sim-001", "ecs-sim-002", "ecs-sim-003"

READ = """
- name: Read the instances
  hosts: windows_ecs
  gather_facts: false
  tasks:
    - name: Read the instance
      ecs_windows.task_iam.instance_info:
"""

HOSTILE = [
    "x'; Remove-Item -Path C:\\ -Recurse -Force; '",
    'say "$(Stop-Computer -Force)" now',
    "back`ticks `$env:ECS_CLUSTER` and `n",
    "two\nlines\r\nand a here-string end\n'@\n\"@",
    "${env:PATH}; exit 1 # ' \" ; & | < > %",
]

HOSTILE_PLAY = """
- name: Send hostile strings
  hosts: ecs-sim-001
  gather_facts: false
  tasks:
    - name: Store them as Machine environment values
      ecs_test_ops:
        calls:
          - op: set_machine_env
            args:
              set: "{{ hostile_env }}"
              remove: []
    - name: Read them back and hash them as file paths
      ecs_windows.task_iam.instance_info:
        container_detail: none
        files: "{{ hostile_paths }}"
"""
# The hostile strings that are valid local paths (the others are refused before anything is sent: see below).
HOSTILE_PATHS = ["C:\\" + value for value in HOSTILE if not set(value) & set('"<>|*?\r\n')]


@pytest.fixture(scope="module")
def fleet(sim_factory):
    """Three hosts: fresh, configured like launch user data does it, configured then rebooted."""
    sim = sim_factory(hosts=3)
    sim.set(CONFIGURED, "init-agent=windows")
    sim.set(REBOOTED, "init-agent=prod")
    before = sim.state(REBOOTED)
    sim.reboot(REBOOTED, downtime=0.5)
    sim.before_reboot = before
    return sim


@pytest.fixture(scope="module")
def first_read(fleet, tmp_path_factory):
    from ecs_integration import run_playbook

    fleet.reset_counters()
    run = run_playbook(READ, fleet.inventory, tmp_path_factory.mktemp("read"))
    fleet.counters_after_read = fleet.counters()
    return run


def codes(result):
    return [finding["code"] for finding in result["findings"]]


def test_playbook_succeeds_on_all_three(first_read):
    assert first_read.rc == 0, first_read
    assert {r["host"]: r["status"] for r in first_read.results("Read the instance")} == {FRESH: "ok", CONFIGURED: "ok", REBOOTED: "ok"}


@pytest.fixture(scope="module")
def second_read(fleet, first_read, tmp_path_factory):
    from ecs_integration import run_playbook

    fleet.reset_counters()
    run = run_playbook(READ, fleet.inventory, tmp_path_factory.mktemp("read2"))
    fleet.counters_after_second_read = fleet.counters()
    return run


def test_first_read_of_a_host_the_collection_never_touched_caches_the_library(fleet, first_read):
    # None of the three hosts has the collection's library cached (user data configured them): the first command
    # runs the cached library optimistically, misses, and the second sends the code and the library to keep.
    assert first_read.rc == 0, first_read
    for host in (FRESH, CONFIGURED, REBOOTED):
        counters = fleet.counters_after_read["hosts"][host]
        assert counters["commands"] == 2 and counters["command_kinds"] == {"ops": 2}, (host, counters)
        result = first_read.result(host, "Read the instance")
        assert result["commands"] == 2 and result["cache"] == "stored", (host, result["cache"])


def test_then_exactly_one_small_winrm_command_per_host(fleet, second_read):
    assert second_read.rc == 0, second_read
    for host in (FRESH, CONFIGURED, REBOOTED):
        counters = fleet.counters_after_second_read["hosts"][host]
        assert counters["commands"] == 1 and counters["command_kinds"] == {"ops": 1}, (host, counters)
        assert counters["bytes_in"] <= 20 * 1024, (host, counters)  # issue 10: at most 20 KiB per verify command
        result = second_read.result(host, "Read the instance")
        assert result["commands"] == 1 and result["cache"] == "hit"


def test_fresh_host(fleet, first_read):
    result = first_read.result(FRESH, "Read the instance")
    assert codes(result) == ["agent_not_initialized"]
    assert result["healthy"] is False and result["changed"] is False
    assert result["host"]["hostname"] == "ECS-SIM-001"
    assert result["host"]["os_caption"] == "Microsoft Windows Server 2022 Datacenter"
    assert result["ecstools"]["present"] is True and result["hyperv_powershell"] is True
    assert result["services"]["AmazonECS"] is None and result["services"]["docker"]["status"] == "Running"
    assert "ECS_CLUSTER" not in result["machine_env"]
    assert result["registration"]["reachable"] is False and result["registration"]["container_instance_arn"] is None
    assert result["endpoints"]["proxy"]["ok"] is False
    assert result["proxy"] == {"ip_bindings": [], "portproxy": [], "firewall_rules": [], "apipa_adapter": None}
    assert result["boot_recovery"] == {"installed": False, "enabled": False, "last": None, "healed_this_boot": False,
                                       "ran_this_boot": False, "pending": False}
    assert result["containers"] == []
    assert result["host"]["boot_id"] == fleet.state(FRESH)["boot_id"]


def test_configured_host_is_healthy(fleet, first_read):
    result = first_read.result(CONFIGURED, "Read the instance")
    assert result["findings"] == [] and result["healthy"] is True
    assert result["services"]["AmazonECS"]["status"] == "Running"
    assert result["machine_env"]["ECS_CLUSTER"] == "windows"
    assert result["machine_env"]["ECS_ENABLE_TASK_IAM_ROLE"] == "true"
    # Values only of the variables the collection uses; every other one by name (its value may be a secret).
    assert "ComSpec" not in result["machine_env"] and "ComSpec" in result["machine_env_other"]
    assert result["registration"]["cluster"] == "windows"
    assert re.fullmatch(r"arn:aws:ecs:[a-z0-9-]+:\d{12}:container-instance/windows/[0-9a-f]{32}", result["registration"]["container_instance_arn"])
    assert result["endpoints"]["proxy"] == {"ok": True, "status": 400, "code": "NoIdInRequest", "error": None}
    assert result["endpoints"]["agent_tmds"]["ok"] is True
    assert [b["ip_address"] for b in result["proxy"]["ip_bindings"]] == ["169.254.170.2"]
    assert result["proxy"]["portproxy"] == [
        {"listen_address": "169.254.170.2", "listen_port": 80, "connect_address": "127.0.0.1", "connect_port": 51679}]
    assert [r["display_name"] for r in result["proxy"]["firewall_rules"]] == ["Allow Inbound Port 51679"]
    assert [(t["path"], t["name"]) for t in result["scheduled_tasks"]] == [("\\", "Initialize-ECSHostReboot")]
    assert result["boot_recovery"]["installed"] is False
    arn = fleet.state(CONFIGURED)["agent"]["saved_registration"]["container_instance_arn"]
    assert result["registration"]["container_instance_arn"] == arn


def test_rebooted_host_has_a_stale_proxy(fleet, first_read):
    result = first_read.result(REBOOTED, "Read the instance")
    assert codes(result) == ["proxy_stale_after_reboot"]
    assert result["healthy"] is False
    finding = result["findings"][0]
    assert "169.254.170.2:80 -> 127.0.0.1:51679 survives" in finding["message"]
    assert "unreachable network" in finding["message"]
    assert finding["fix"].startswith("run ecs_windows.task_iam.credential_proxy")
    before = fleet.before_reboot
    assert result["host"]["boot_id"] != before["boot_id"]
    assert result["host"]["boot_id"] == fleet.state(REBOOTED)["boot_id"]
    assert result["proxy"]["ip_bindings"] == []
    assert [r["listen_address"] for r in result["proxy"]["portproxy"]] == ["169.254.170.2"]
    assert "unreachable network" in result["endpoints"]["proxy"]["error"]
    # The agent came back with its saved registration: only the proxy is broken.
    assert result["services"]["AmazonECS"]["status"] == "Running"
    assert result["registration"]["container_instance_arn"] == before["agent"]["saved_registration"]["container_instance_arn"]


def test_hostile_strings_reach_the_host_as_inert_data(fleet, first_read, playbook):  # first_read cached the library
    # ECS_ names: the probe reports the values of the agent's variables only.
    hostile_env = {"ECS_TEST_HOSTILE_%d" % n: value for n, value in enumerate(HOSTILE)}
    before = fleet.state(FRESH)
    fleet.reset_counters()
    run = playbook(HOSTILE_PLAY, fleet, extra_vars={"hostile_env": hostile_env, "hostile_paths": HOSTILE_PATHS})
    assert run.rc == 0, run
    stored = run.result(FRESH, "Store them as Machine environment values")
    assert stored["results"] == [{"changed": sorted(hostile_env)}]
    read = run.result(FRESH, "Read them back and hash them as file paths")
    # Each value arrived byte for byte and was used only as data: stored verbatim, looked up as a path.
    for name, value in hostile_env.items():
        assert read["machine_env"][name] == value
    assert read["files"] == {path: None for path in HOSTILE_PATHS}
    assert fleet.counters(FRESH)["commands"] == 2
    # Nothing else on the host changed.
    after = fleet.state(FRESH)
    for name in hostile_env:
        del after["machine_env"][name]
    # The host lock's record of the mutating batch (set_machine_env), in the collection's folder.
    assert after["files"].pop("C:\\ProgramData\\Amazon\\ECS\\ecs_windows.task_iam\\lock.json")["size"] > 0
    before["files"].pop("C:\\ProgramData\\Amazon\\ECS\\ecs_windows.task_iam\\lock.json", None)
    assert after == before


def test_bad_arguments_fail_before_any_winrm_command(fleet, playbook):
    bad = """
- name: Bad arguments
  hosts: windows_ecs
  gather_facts: false
  tasks:
    - name: A hostile choice
      ecs_windows.task_iam.instance_info:
        container_detail: "routes'; Remove-Item C:\\\\ -Recurse; '"
      ignore_errors: true
    - name: A misspelt option
      ecs_windows.task_iam.instance_info:
        file: C:\\x.ps1
      ignore_errors: true
    - name: A wrong type
      ecs_windows.task_iam.instance_info:
        files:
          path: C:\\x.ps1
      ignore_errors: true
    - name: A UNC path
      ecs_windows.task_iam.instance_info:
        files: ['\\\\attacker.example\\share\\x.ps1']
      ignore_errors: true
    - name: A relative path
      ecs_windows.task_iam.instance_info:
        files: ['..\\x.ps1']
      ignore_errors: true
"""
    fleet.reset_counters()
    run = playbook(bad, fleet)
    assert run.rc == 0, run
    expected = {
        "A hostile choice": "value of container_detail must be one of: none, list, routes, got: routes'; Remove-Item",
        "A misspelt option": "unsupported argument file (supported: cluster, container_detail, files)",
        "A wrong type": "argument 'files' is of type dict",
        "A UNC path": "files: '\\\\attacker.example\\share\\x.ps1' is a UNC path (the host would authenticate to that server over SMB)",
        "A relative path": "files: '..\\x.ps1' is not a local absolute Windows path",
    }
    for task, message in expected.items():
        for host in (FRESH, CONFIGURED, REBOOTED):
            result = run.result(host, task)
            assert run.status(host, task) == "failed"
            assert result["msg"].startswith("invalid arguments for ecs_windows.task_iam.instance_info: ")
            assert message in result["msg"]
            assert result["commands"] == 0
    counters = fleet.counters()
    assert counters["total"]["commands"] == 0 and counters["total"]["http_requests"] == 0, counters


def test_retries_while_winrm_refuses_after_a_reboot(fleet, playbook):
    # The reboot is the play's first task, so instance_info meets the WinRM downtime for sure.
    reboot_then_read = """
- name: Reboot, then read at once
  hosts: %s
  gather_facts: false
  tasks:
    - name: Reboot the simulated host (WinRM refuses connections for 3 s)
      ansible.builtin.command:
        argv: [ecs-windows-sim, ctl, --state-dir, "%s", reboot, "{{ inventory_hostname }}", --downtime, "3"]
      delegate_to: localhost
      changed_when: true
    - name: Read the instance
      ecs_windows.task_iam.instance_info:
""" % (CONFIGURED, fleet.state_dir)
    fleet.reset_counters()
    run = playbook(reboot_then_read, fleet, verbosity=2)
    assert run.rc == 0, run
    result = run.result(CONFIGURED, "Read the instance")
    assert codes(result) == ["proxy_stale_after_reboot"]
    assert result["commands"] >= 2
    assert "connection failed" in run.stdout and "retrying in" in run.stdout
    assert fleet.counters(CONFIGURED)["commands"] == 1


def test_rejected_credentials_are_tried_once(fleet, playbook):
    # Each retry would be one more failed logon towards the account's lockout threshold.
    fleet.reset_counters()
    run = playbook(READ, fleet, extra_vars={"ansible_password": "not-the-password"}, limit=FRESH)
    result = run.result(FRESH, "Read the instance")
    assert run.status(FRESH, "Read the instance") == "unreachable", run
    assert "credentials were rejected" in result["msg"] and "not retried" in result["msg"]
    assert result["commands"] == 1
    assert fleet.counters(FRESH)["auth_failures"] == 1
