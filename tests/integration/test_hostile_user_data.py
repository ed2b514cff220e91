# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, item 9 (and issue 11, item 1): user data rendered by a real ansible-playbook from hostile inputs.

The `user_data` filter runs where users run it (a play on localhost, the inputs from a vars file, Jinja delimiters in
them kept literal with !unsafe). The script it renders passes the project's static check (tree-sitter PowerShell
grammar, 5.1 rules, no Jinja delimiter) and the Windows PowerShell 5.1 catalog check. Its effect is then read from the
script as PowerShell reads it (every `[Environment]::SetEnvironmentVariable` and the `Initialize-ECSAgent` line, values
only ever verbatim strings) and applied to a simulated instance the way launch does (`ctl set machine-env:...`, then
`init-agent=`): instance_info, through ansible-playbook, finds every hostile value back as plain data, the agent
registered to the cluster, the host healthy.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re

import pytest

import hostile_pwsh as ps
import ps51
from configure_plays import control, setup
from ecs_integration import run_playbook

CLUSTER = "hostile_cluster-1"
PROXY = "http://ops:p'w$(Stop-Computer)%40x{{y}}@proxy.corp.example:3128"
HOSTILE = {
    "ECS_QUOTES": "'; Remove-Item -Path C:\\ -Recurse -Force; '",
    "ECS_SUBEXPRESSION": "$(Stop-Computer -Force) `n \"$env:PATH\" @{a=1}",
    "ECS_JINJA": "{{ lookup('pipe', 'id') }}{% raw %}{#",
    "ECS_HERE_STRING": "@' x '@ #comment",
}
OPTIONS = {
    "logging_drivers": ["json-file", "awslogs"],
    "http_proxy": PROXY,
    "no_proxy": [".corp.example", "x';Stop-Computer;'", "{{7*7}}"],
    "agent_env": dict(HOSTILE, ECS_ENABLE_SPOT_INSTANCE_DRAINING=True),
    "winrm_https": True,
    "persist": True,
}

PLAY = """
- name: Render launch user data
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [options.yml]
  tasks:
    - name: Render
      ansible.builtin.copy:
        content: "{{ cluster | ecs_windows.task_iam.user_data(**options) }}"
        dest: "{{ out }}/user-data.txt"
        mode: "0600"
    - name: Render for a launch template
      ansible.builtin.copy:
        content: "{{ cluster | ecs_windows.task_iam.user_data(b64=true, **options) }}"
        dest: "{{ out }}/user-data.b64"
        mode: "0600"
"""


def _unsafe_yaml(value, indent=0):
    """YAML of `value` with every string tagged !unsafe, so that Ansible never templates the inputs themselves."""
    pad = " " * indent
    if isinstance(value, dict):
        return "\n".join("%s%s:%s" % (pad, json.dumps(k), (" " + _unsafe_yaml(v) if not isinstance(v, (dict, list))
                                                            else "\n" + _unsafe_yaml(v, indent + 2)))
                         for k, v in value.items())
    if isinstance(value, list):
        return "\n".join("%s- %s" % (pad, _unsafe_yaml(v)) for v in value)
    if isinstance(value, str):
        return "!unsafe %s" % json.dumps(value)
    return json.dumps(value)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("user-data")
    (work / "options.yml").write_text(_unsafe_yaml({"cluster": CLUSTER, "out": str(work), "options": OPTIONS}) + "\n")
    run = run_playbook(PLAY, "localhost,", work)
    assert run.rc == 0, run
    text = (work / "user-data.txt").read_text()
    assert base64.b64decode((work / "user-data.b64").read_text()).decode("utf-8") == text
    match = re.fullmatch(r"<powershell>\n(.*)\n</powershell>\n<persist>true</persist>\n", text, re.S)
    assert match, text
    return match.group(1)


def test_the_script_passes_the_static_check_and_the_51_catalog(rendered):
    grammar = ps.static_check()
    tree = grammar.parse(rendered)  # test_powershell_static.py's check: 5.1 syntax, no alias, no Jinja delimiter
    for delimiter in ("{{", "{%", "{#"):
        assert delimiter not in rendered
    commands = grammar.command_names(tree)
    assert "Stop-Computer" not in commands and "Remove-Item" not in commands and "Initialize-ECSAgent" in commands
    assert ps51.check_script(rendered) == []


def test_docker_is_restarted_with_force_before_the_agent_is_initialised(rendered):
    # AmazonECS depends on docker: Windows refuses to stop docker while it runs unless -Force (the simulator models
    # it: tests/simulator/ecs_windows_sim/model.py stop_service), and at a later boot (persist) it runs.
    lines = rendered.splitlines()
    restart = lines.index("Restart-Service -Name 'docker' -Force")
    assert restart < next(i for i, line in enumerate(lines) if "Initialize-ECSAgent -Cluster" in line)


def _effect(script):
    """What the script does to the instance, read as PowerShell reads it: Machine variables set (None: removed) and
    the Initialize-ECSAgent parameters."""
    tree = ps.parse(ps.powershell_view(script))
    return ps.set_machine_env_calls(tree), ps.command_arguments(tree, "Initialize-ECSAgent")


def test_every_value_reaches_the_script_as_data(rendered):
    env, init = _effect(rendered)
    env = dict(env)
    assert init == {"Cluster": CLUSTER, "EnableTaskIAMRole": True, "LoggingDrivers": '["json-file","awslogs"]'}
    assert env["HTTP_PROXY"] == PROXY
    assert env["NO_PROXY"] == "169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine,.corp.example,x';Stop-Computer;',{{7*7}}"
    for name, value in HOSTILE.items():
        assert env[name] == value, name
    assert env["ECS_ENABLE_SPOT_INSTANCE_DRAINING"] == "true"


@pytest.fixture(scope="module")
def launched(sim_factory, rendered, tmp_path_factory):
    """A fresh instance that ran the user data (its effect applied through the simulator), read by instance_info."""
    sim = sim_factory(hosts=1)
    env, init = _effect(rendered)
    host = sim.hosts[0]
    # Initialize-ECSAgent writes the log drivers it is given, then starts the agent (init-agent).
    pairs = ["machine-env:%s=%s" % (name, "" if value is None else value) for name, value in env]
    pairs.append("machine-env:ECS_AVAILABLE_LOGGING_DRIVERS=" + init["LoggingDrivers"])
    setup(sim, host, *pairs)
    setup(sim, host, "init-agent=" + init["Cluster"])
    run = run_playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - name: read\n"
                       "      ecs_windows.task_iam.instance_info: {container_detail: none}\n",
                       sim.inventory, tmp_path_factory.mktemp("launched"))
    assert run.rc == 0, run
    return run.result(host, "read"), control(sim, "state", host)


def test_the_launched_instance_has_every_value_verbatim_and_is_healthy(launched):
    launched, state = launched
    for name, value in HOSTILE.items():
        assert state["machine_env"][name] == value, name
    assert state["machine_env"]["HTTP_PROXY"] == PROXY
    env = launched["machine_env"]
    for name, value in HOSTILE.items():
        assert env[name] == value, name
    assert env["HTTP_PROXY"] == "http://********@proxy.corp.example:3128"  # masked on the host
    assert env["NO_PROXY"].endswith(",.corp.example,x';Stop-Computer;',{{7*7}}")
    assert json.loads(env["ECS_AVAILABLE_LOGGING_DRIVERS"]) == ["json-file", "awslogs"]
    assert launched["registration"]["cluster"] == CLUSTER
    assert launched["healthy"] is True, launched["findings"]


def test_user_data_refuses_non_ascii_so_the_code_page_cannot_turn_bytes_into_quotes(tmp_path):
    options = tmp_path / "options.yml"
    options.write_text(_unsafe_yaml({"cluster": CLUSTER, "out": str(tmp_path),
                                     "options": {"agent_env": {"ECS_X": "\u2019; Stop-Computer; \u2019"}}}) + "\n")
    run = run_playbook(PLAY, "localhost,", tmp_path)
    assert run.rc == 2
    message = run.result("localhost", "Render")["msg"]
    assert "agent_env.ECS_X contains '\u2019'" in message and "printable ASCII" in message
    assert not pathlib.Path(tmp_path / "user-data.txt").exists()
