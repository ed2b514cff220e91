"""probe: files, host and identity, the boot folder and its log, container detail levels, the masked Machine
environment, scheduled tasks, tasks, timings."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from ecs_windows_sim import presets
from sim_scripts import SALT, build_script, example, new_host, probe, probe_args, result

BOOT_DIR = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam"
LOG = BOOT_DIR + r"\recover.log"
SCRIPT = BOOT_DIR + r"\recover-credential-proxy.ps1"
REBOOT_TASK = {
    "path": "\\", "name": "Initialize-ECSHostReboot", "state": "Ready", "enabled": True, "at_startup": True,
    "delay": None, "execute": "PowerShell.exe",
    "arguments": '-NoProfile -Command "Import-Module ECSTools; Initialize-ECSHostReboot"',
    "principal": "SYSTEM", "execution_limit": "PT72H", "last_run_time": None, "last_result": None}
SECTIONS = ["host", "identity", "modules", "agent", "services", "machine_env", "endpoints", "proxy", "ports", "boot",
            "containers", "tasks"]


def test_files_report_sha256_or_null(tmp_path):
    host = new_host(tmp_path)
    psm1 = presets.ECSTOOLS_DIR + "\\ECSTools.psm1"
    files = probe(host, files=[psm1.upper(), r"C:\nope.txt"])["files"]
    assert files == {psm1.upper(): presets.ECSTOOLS_SHA256["ECSTools.psm1"], r"C:\nope.txt": None}


@pytest.mark.parametrize("preset, build, caption", [
    ("ecs-2022", 20348, "Microsoft Windows Server 2022 Datacenter"),
    ("ecs-2019", 17763, "Microsoft Windows Server 2019 Datacenter"),
])
def test_host_build_edition_and_identity(tmp_path, preset, build, caption):
    facts = probe(new_host(tmp_path, preset))
    assert facts["host"]["hostname"] == "ECS-SIM-001"
    assert (facts["host"]["os_caption"], facts["host"]["os_version"]) == (caption, "10.0.%d" % build)
    assert (facts["host"]["build"], facts["host"]["edition"]) == (build, "Full")
    # Through the simulated IMDSv2 (a token, then the instance id).
    assert facts["identity"]["error"] is None and re.fullmatch(r"i-0[0-9a-f]{16}", facts["identity"]["ec2_instance_id"])


def test_core_edition(tmp_path):
    host = new_host(tmp_path)
    host._change(lambda state: state["os"].update(installation_type="Server Core"))
    facts = probe(host)["host"]
    assert (facts["build"], facts["edition"]) == (20348, "Core")


def test_boot_last_run_is_the_last_json_line_of_the_boot_log(tmp_path):
    host = new_host(tmp_path)
    assert probe(host)["boot"]["last_run"] is None
    host.make_dir(BOOT_DIR)
    host.write_file(LOG, b'{"action":"none"}\r\n{"action":"repaired","boot_id":7}\r\n')
    assert probe(host)["boot"]["last_run"] == {"action": "repaired", "boot_id": 7}
    host.write_file(LOG, b'{"action":"none"}\r\nnot json\r\n')
    assert probe(host)["boot"]["last_run"] is None
    host.write_file(LOG, b'["a list"]\r\n')
    assert probe(host)["boot"]["last_run"] is None


def test_boot_folder_facts(tmp_path):
    host = new_host(tmp_path)
    absent = {"exists": False, "owner": None, "owner_sid": None, "protected": False, "writable_by": []}
    boot = probe(host)["boot"]
    assert boot == {"folder": absent, "script": absent, "script_sha256": None, "script_batch": None, "last_run": None}
    # The folder the boot task secures: owner Administrators, inheritance off, nobody else may write.
    script = build_script([("wait_task_idle", example("wait_task_idle")), ("recover_proxy", example("recover_proxy"))])
    assert result(host, "boot_task", example("boot_task", script=script)) == {"changed": True, "secured": True}
    boot = probe(host)["boot"]
    trusted = {"exists": True, "owner": "BUILTIN\\Administrators", "owner_sid": "S-1-5-32-544", "protected": True,
               "writable_by": []}
    assert boot["folder"] == trusted
    assert boot["script"] == dict(trusted, protected=False)  # the script inherits the folder's entries
    assert boot["script_sha256"] == hashlib.sha256(b"\xef\xbb\xbf" + script.encode("utf-8")).hexdigest()
    assert boot["script_batch"] == {"contract": 2, "lock": None, "store": False, "ops": [
        {"op": "wait_task_idle", "args": example("wait_task_idle")},
        {"op": "recover_proxy", "args": example("recover_proxy")}]}


def test_boot_folder_created_by_a_user(tmp_path):
    host = new_host(tmp_path, boot_folder="user-owned")
    boot = probe(host)["boot"]
    assert boot["folder"] == {"exists": True, "owner": "ECS-SIM\\mallory",
                              "owner_sid": "S-1-5-21-1004336348-1177238915-682003330-1001", "protected": False,
                              "writable_by": ["ECS-SIM\\mallory", "BUILTIN\\Users"]}
    assert boot["script"]["exists"] is True and boot["script"]["writable_by"] == ["ECS-SIM\\mallory", "BUILTIN\\Users"]
    assert boot["script_sha256"] == hashlib.sha256(b"# planted by a local user\r\n").hexdigest()
    assert boot["script_batch"] is None  # not an op script
    # The forged log line reads like a repair of this very boot: only the folder's ACL tells it apart.
    facts = probe(host)
    assert boot["last_run"] == {"time": facts["host"]["boot_time"], "boot_id": facts["host"]["boot_id"],
                                "action": "repaired", "error": None}


def test_container_detail_levels(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1)
    assert probe(host, "none")["containers"] == []
    listed = probe(host, "list")["containers"][0]
    assert (listed["shell"], listed["gateway"], listed["routes"], listed["error"]) == (None, None, None, None)
    assert listed["network_mode"] == "nat" and listed["task_family"] == "web"
    detailed = probe(host, "routes")
    assert detailed["container_detail"] == "routes" and detailed["containers_error"] is None
    assert detailed["containers"][0]["shell"] == "powershell" and detailed["containers"][0]["error"] is None


def test_containers_are_empty_when_docker_is_stopped(tmp_path):
    host = new_host(tmp_path, containers=1)
    result(host, "service", example("service", name="docker", start_type=None, state="stopped", failure_restart=None))
    facts = probe(host)
    assert (facts["containers"], facts["containers_error"]) == ([], None)


def test_machine_env_reports_used_variables_masked_and_others_by_name(tmp_path):
    secret = '{"https://index.docker.io/v1/":{"username":"u","password":"hunter2"}}'
    host = new_host(tmp_path, init_agent="prod", **{
        "machine-env:HTTPS_PROXY": "http://proxyuser:pr0xy-pass@proxy.internal:3128",
        "machine-env:NO_PROXY": "169.254.169.254,169.254.170.2",
        "machine-env:ECS_ENGINE_AUTH_DATA": secret,
        "machine-env:ECSWINDOWS_TASK_IAM_INIT_PENDING": "1",
        "machine-env:Build_Token": "not-reported",
    })
    facts = probe(host)
    env = facts["machine_env"]
    assert env == {
        "ECSWINDOWS_TASK_IAM_INIT_PENDING": "1",
        "ECS_CLUSTER": "prod", "ECS_DATADIR": "C:\\ProgramData\\Amazon\\ECS\\data", "ECS_ENABLE_TASK_IAM_ROLE": "true",
        "ECS_ENGINE_AUTH_DATA": "********",
        "ECS_LOGFILE": "C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log",
        "HTTPS_PROXY": "http://********@proxy.internal:3128",
        "NO_PROXY": "169.254.169.254,169.254.170.2",
    }
    assert list(env) == sorted(env, key=str.lower)
    assert facts["salt"] == SALT
    # A masked value is reported as sha256(salt + value), so a change shows without the value.
    assert facts["machine_env_hashes"] == {
        "ECS_ENGINE_AUTH_DATA": hashlib.sha256((SALT + secret).encode()).hexdigest(),
        "HTTPS_PROXY": hashlib.sha256((SALT + "http://proxyuser:pr0xy-pass@proxy.internal:3128").encode()).hexdigest(),
    }
    other = facts["machine_env_other"]
    assert {"Build_Token", "ComSpec", "OS", "Path", "PSModulePath", "TEMP", "TMP", "windir"} <= set(other)
    assert other == sorted(other, key=str.lower) and not set(other) & set(env)
    text = json.dumps(facts)
    for value in ("hunter2", "pr0xy-pass", "proxyuser", "not-reported", "Windows_NT"):
        assert value not in text
    other_salt = result(host, "probe", probe_args() | {"salt": "f" * 64})
    assert other_salt["machine_env_hashes"]["ECS_ENGINE_AUTH_DATA"] == hashlib.sha256(
        ("f" * 64 + secret).encode()).hexdigest()


def test_machine_env_names_keep_their_spelling(tmp_path):
    host = new_host(tmp_path, **{"machine-env:ecs_cluster": "lower", "machine-env:Https_Proxy": "http://p:3128"})
    facts = probe(host)
    assert facts["machine_env"] == {"ecs_cluster": "lower", "Https_Proxy": "http://p:3128"}


def test_registration_and_tasks_after_init(tmp_path):
    facts = probe(new_host(tmp_path, init_agent="prod"))
    assert facts["registration"]["version"] == "Amazon ECS Agent - v1.105.1 (8dfceca6)"
    assert facts["agent"] == {"installed": True, "version": "1.105.1", "version_source": "introspection"}
    registered = facts["scheduled_tasks"][0].pop("registered_time")  # the task's definition file, written at init
    assert facts["scheduled_tasks"] == [REBOOT_TASK] and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", registered)
    assert facts["proxy"]["firewall_rules"][0]["display_name"] == "Allow Inbound Port 51679"
    assert facts["proxy"]["portproxy"] == [{"listen_address": "169.254.170.2", "listen_port": 80,
                                            "connect_address": "127.0.0.1", "connect_port": 51679}]
    assert (facts["tasks"], facts["tasks_error"]) == ([], None)
    assert json.dumps(facts).isascii()


def test_agent_version_source(tmp_path):
    host = new_host(tmp_path)
    assert probe(host)["agent"] == {"installed": True, "version": "1.105.1", "version_source": "executable"}
    host.apply_setting("agent-version", "none")
    assert probe(host)["agent"] == {"installed": False, "version": None, "version_source": None}


def test_tasks_of_the_running_containers(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2)
    facts = probe(host)
    arns = [c["task_arn"] for c in facts["containers"]]
    assert facts["tasks"] == [{"arn": arn, "family": "web", "version": "1", "known_status": "RUNNING",
                               "desired_status": "RUNNING", "last_credentials": None} for arn in arns]
    host.apply_setting("agent", "stopped")
    facts = probe(host)
    assert facts["tasks"] is None
    assert facts["tasks_error"] == "http://127.0.0.1:51678/v1/tasks: Unable to connect to the remote server"


def test_only_the_two_known_scheduled_tasks_are_reported(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    foreign = dict(REBOOT_TASK, path="\\Microsoft\\Windows\\Defrag\\", name="ScheduledDefrag", arguments="-c -h")
    host._change(lambda state: state["scheduled_tasks"].append(foreign))
    result(host, "boot_task", example("boot_task", delay="PT45S", execution_limit_s=1800, description="heal"))
    tasks = probe(host)["scheduled_tasks"]
    assert tasks[1].pop("registered_time") >= tasks[0]["registered_time"]
    assert [(t["path"], t["name"]) for t in tasks] == [("\\", "Initialize-ECSHostReboot"),
                                                      ("\\ecs_windows.task_iam\\", "Recover-ECSCredentialProxy")]
    assert tasks[1] == {"path": "\\ecs_windows.task_iam\\", "name": "Recover-ECSCredentialProxy", "state": "Ready",
                        "enabled": True, "at_startup": True, "delay": "PT45S", "execute": "PowerShell.exe",
                        "arguments": '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % SCRIPT,
                        "principal": "SYSTEM", "execution_limit": "PT30M", "last_run_time": None, "last_result": None}


def test_excluded_port_ranges_report_administered_ones(tmp_path):
    host = new_host(tmp_path, excluded_port="50000-50059")
    host.apply_setting("excluded-port", "51678-51679:administered")
    assert probe(host)["excluded_port_ranges"] == [{"start": 50000, "end": 50059, "administered": False},
                                                   {"start": 51678, "end": 51679, "administered": True}]


def test_timings_cover_every_section(tmp_path):
    timings = probe(new_host(tmp_path))["timings_ms"]
    assert list(timings) == SECTIONS and all(isinstance(ms, int) and ms >= 0 for ms in timings.values())


def test_probe_changes_nothing(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2)
    before = hashlib.sha256(json.dumps(host.state, sort_keys=True).encode()).hexdigest()
    probe(host)
    assert hashlib.sha256(json.dumps(host.state, sort_keys=True).encode()).hexdigest() == before
