# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, items 1, 5, 8 and 9, through real ansible-playbook runs against simulated hosts.

1. Machine variable names are case-insensitive: a host whose user data wrote `http_proxy`/`no_proxy` in lower case
   converges with the role in one run, then has nothing to change, and keeps the one lower-case spelling.
5. A proxy given without no_proxy keeps the host's NO_PROXY entries (and adds the three the agent needs); an explicit
   no_proxy replaces them.
8. Fix texts embedding a host value (a NO_PROXY, an adapter name) holding U+2019 are safe to paste: read as
   PowerShell reads them, the value stays one string and the fix runs only its own commands.
9. Loose inputs are refused before anything is sent: UNC and relative `files`, over-long or NUL environment values and
   names, unknown log drivers and non-agent variables, the same way in the agent module and the user_data filter.
"""

from __future__ import annotations

import json

import pytest

import hostile_pwsh as ps
from configure_plays import control, run_phase, setup, task
from ecs_integration import run_playbook

LOWER, KEEP, FIX, LOOSE = ("ecs-sim-%03d" % n for n in range(1, 5))
CLUSTER = "hostile"
ROLE_TASK = ("ecs_windows.task_iam.container_instance : "
             "Configure the agent, the credential proxy and the container routes, and verify the instance")
REQUIRED = "169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine"
PROXY = "http://proxy.corp.example:3128"
# Each closes its string with U+2019 and leaves valid PowerShell behind, so that quoted the old way (only the ASCII
# apostrophe doubled) the pasted fix would run Stop-Computer.
HOSTILE_NO_PROXY = "corp\u2019,\u2019Machine\u2019);Stop-Computer -Force;(\u2019"
HOSTILE_ADAPTER = "vEthernet (nat) \u2019; Stop-Computer -Force; Write-Output \u2019"

LONG_NAME = "ECS_" + "A" * 300
# task name -> (module, args, the message that names the problem)
LOOSE_TASKS = {
    "unc file": ("instance_info", {"files": ["\\\\evil.example\\share\\x.ps1"]}, "is a UNC path"),
    "unc long-path file": ("instance_info", {"files": ["\\\\?\\UNC\\evil.example\\share\\x.ps1"]}, "is a UNC path"),
    "relative file": ("instance_info", {"files": ["scripts\\x.ps1"]}, "is not a local absolute Windows path"),
    "drive-relative file": ("instance_info", {"files": ["C:x.ps1"]}, "is not a local absolute Windows path"),
    "long env name": ("agent", {"cluster": CLUSTER, "environment": {LONG_NAME: "x"}}, "is 304 characters long, more than 255"),
    "long env value": ("agent", {"cluster": CLUSTER, "environment": {"ECS_X": "x" * 32768}}, "at most 32767 characters"),
    "nul env value": ("agent", {"cluster": CLUSTER, "environment": {"ECS_X": "a\u0000b"}}, "without NUL"),
    "unknown driver": ("agent", {"cluster": CLUSTER, "logging_drivers": ["json-file", "my-driver"]},
                       "unknown driver(s) 'my-driver'"),
    "non-agent variable": ("agent", {"cluster": CLUSTER, "environment": {"Path": "C:\\evil"}}, "is not an ECS agent setting name"),
    "proxy with a path": ("agent", {"cluster": CLUSTER, "http_proxy": "http://proxy.example.com:3128/x"},
                          "it has a path, query or fragment"),
}
# The same through the user_data filter (set_fact on the controller): the same rule, the same words.
USER_DATA_TASKS = {
    "user_data unknown driver": ({"logging_drivers": ["json-file", "my-driver"]}, "unknown driver(s) 'my-driver'"),
    "user_data Path": ({"agent_env": {"Path": "C:\\evil"}}, "is not an ECS agent setting name"),
    "user_data ComSpec": ({"agent_env": {"ComSpec": "C:\\evil.exe"}}, "is not an ECS agent setting name"),
    "user_data PSModulePath": ({"agent_env": {"PSModulePath": "C:\\evil"}}, "is not an ECS agent setting name"),
    "user_data windir": ({"agent_env": {"windir": "C:\\evil"}}, "is not an ECS agent setting name"),
    "user_data TEMP": ({"agent_env": {"TEMP": "C:\\evil"}}, "is not an ECS agent setting name"),
    "user_data owned": ({"agent_env": {"ECS_CLUSTER": "other"}}, "ECS_CLUSTER is set by its own option"),
    "user_data proxy with a path": ({"http_proxy": "http://proxy.example.com:3128/x"}, "it has a path, query or fragment"),
    "user_data long env value": ({"agent_env": {"ECS_X": "x" * 32768}}, "at most 32767 characters"),
}


def user_data_task(name, kwargs):
    return {"name": name, "vars": {"ud_args": kwargs}, "ignore_errors": True,
            "ansible.builtin.set_fact": {"ud": "{{ 'c' | ecs_windows.task_iam.user_data(**ud_args) }}"}}


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=4)
    # What Linux-minded user data writes: lower-case proxy variables, before the agent was ever initialised.
    setup(sim, LOWER, "machine-env:http_proxy=" + PROXY, "machine-env:no_proxy=10.0.0.0/8,.corp.example")
    setup(sim, KEEP, "init-agent=" + CLUSTER, "machine-env:NO_PROXY=10.0.0.0/8,.corp.example")
    setup(sim, FIX, "init-agent=" + CLUSTER, "machine-env:HTTP_PROXY=" + PROXY, "machine-env:NO_PROXY=" + HOSTILE_NO_PROXY,
          "duplicate-nat=on", "adapter-name:21=" + HOSTILE_ADAPTER)
    return sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile-env")


@pytest.fixture(scope="module")
def phase1(sim, workdir):
    return run_phase(sim, workdir, {
        KEEP: [task("agent", {"cluster": CLUSTER, "http_proxy": PROXY}, name="proxy without no_proxy", diff=True)],
        FIX: [task("instance_info", {"container_detail": "none"})],
        LOOSE: [task(module, args, name=name, ignore_errors=True) for name, (module, args, _m) in LOOSE_TASKS.items()]
        + [user_data_task(name, kwargs) for name, (kwargs, _m) in USER_DATA_TASKS.items()],
    })


@pytest.fixture(scope="module")
def configured(sim, workdir):
    """configure (the container_instance role) twice on the host with lower-case proxy variables."""
    extra = {"container_instance_cluster": CLUSTER, "container_instance_http_proxy": PROXY}
    runs = []
    for n in (1, 2):
        control(sim, "counters", reset=True)
        run = run_playbook("ecs_windows.task_iam.configure", sim.inventory, workdir / ("configure%d" % n), limit=LOWER,
                           extra_vars=extra)
        runs.append((run, control(sim, "counters", LOWER)["commands"], control(sim, "state", LOWER)))
    return runs


@pytest.fixture(scope="module")
def phase2(sim, workdir, phase1):
    return run_phase(sim, workdir, {
        KEEP: [task("agent", {"cluster": CLUSTER, "http_proxy": PROXY}, name="again"),
               task("agent", {"cluster": CLUSTER, "http_proxy": PROXY, "no_proxy": [".only.example"]}, name="replace"),
               task("agent", {"cluster": CLUSTER, "http_proxy": PROXY, "no_proxy": [".only.example"]}, name="replace again")],
    })


def spellings(env, name):
    return sorted(key for key in env if key.lower() == name.lower())


# --- 1. case-insensitive Machine environment --------------------------------------------------------------------


def test_lower_case_proxy_variables_converge_in_one_run_and_keep_their_spelling(configured):
    (first, first_commands, after_first), (second, second_commands, after_second) = configured
    assert first.rc == 0, first
    result = first.result(LOWER, ROLE_TASK)
    assert result["changed"] is True and result["healthy"] is True, result
    env = after_first["machine_env"]
    assert spellings(env, "HTTP_PROXY") == ["http_proxy"] and spellings(env, "NO_PROXY") == ["no_proxy"], env
    assert env["http_proxy"] == PROXY
    # 5: the host's own entries stay, after the three the agent needs.
    assert env["no_proxy"] == REQUIRED + ",10.0.0.0/8,.corp.example"
    # The agent runs with them (its environment is read case-insensitively, as Windows does).
    assert after_first["agent"]["running_config"]["HTTP_PROXY"] == PROXY
    assert first_commands == result["commands"]

    # Nothing left to change: one probe, no second spelling written, the agent not restarted.
    assert second.rc == 0, second
    again = second.result(LOWER, ROLE_TASK)
    assert again["changed"] is False and again["changes"] == [] and again["healthy"] is True, again
    assert second_commands == again["commands"] == 1
    assert after_second["machine_env"] == env
    assert after_second["services"]["AmazonECS"] == after_first["services"]["AmazonECS"]


# --- 5. NO_PROXY: omitted keeps, given replaces --------------------------------------------------------------------


def test_a_proxy_without_no_proxy_keeps_the_hosts_entries(phase1):
    result = phase1.result(KEEP, "proxy without no_proxy")
    assert phase1.status(KEEP, "proxy without no_proxy") == "ok" and result["changed"] is True, phase1.run
    env = phase1.states[KEEP]["machine_env"]
    assert env["HTTP_PROXY"] == PROXY
    assert env["NO_PROXY"] == REQUIRED + ",10.0.0.0/8,.corp.example"
    assert result["diff"]["before"]["machine_env"]["NO_PROXY"] == "10.0.0.0/8,.corp.example"
    assert result["diff"]["after"]["machine_env"]["NO_PROXY"] == env["NO_PROXY"]
    assert result["healthy"] is True


def test_explicit_no_proxy_replaces_and_both_are_idempotent(phase2):
    assert phase2.run.rc == 0, phase2.run
    assert phase2.result(KEEP, "again")["changed"] is False
    assert phase2.result(KEEP, "replace")["changed"] is True
    assert phase2.result(KEEP, "replace again")["changed"] is False
    assert phase2.states[KEEP]["machine_env"]["NO_PROXY"] == REQUIRED + ",.only.example"


# --- 8. fix texts are safe to paste ----------------------------------------------------------------------------------


def _fix(phase, code):
    found = [f for f in phase.result(FIX)["findings"] if f["code"] == code]
    assert len(found) == 1, phase.result(FIX)["findings"]
    return found[0]["fix"]


def _naive(fix, value):
    """The fix as it was written before issue 9: only the ASCII apostrophe doubled."""
    quoted = "'%s'" % "".join(c * 2 if c in ps.SINGLE_QUOTES else c for c in value)
    assert quoted in fix
    return fix.replace(quoted, "'%s'" % value.replace("'", "''"))


def _no_proxy_command(fix):
    return fix.split("or on the host: ", 1)[1]


def _rename_commands(fix):
    return fix.split("as the only vEthernet (nat)*: ", 1)[1].rsplit("; then run ", 1)[0]


def test_a_no_proxy_fix_with_a_typographic_quote_keeps_the_value_a_string(phase1):
    command = _no_proxy_command(_fix(phase1, "no_proxy_missing"))
    tree = ps.parse(ps.powershell_view(command))
    assert ps.commands(tree) == ["Restart-Service", "SetEnvironmentVariable"]
    assert ps.set_machine_env_calls(tree) == [("NO_PROXY", ps.powershell_view(HOSTILE_NO_PROXY + "," + REQUIRED))]
    # The check can fail: quoted the old way, the value's quote ends the string and Stop-Computer runs.
    naive = ps.parse(ps.powershell_view(_naive(command, HOSTILE_NO_PROXY + "," + REQUIRED)))
    assert "Stop-Computer" in ps.commands(naive)


def test_an_adapter_rename_fix_with_a_typographic_quote_keeps_the_name_a_string(phase1):
    command = _rename_commands(_fix(phase1, "duplicate_nat_adapters"))
    tree = ps.parse(ps.powershell_view(command))
    assert ps.commands(tree) == ["Rename-NetAdapter", "Rename-NetAdapter"]
    assert ps.verbatim_strings(tree) == ["vEthernet (nat) 2", "stale-nat-17", ps.powershell_view(HOSTILE_ADAPTER),
                                         "stale-nat-21"]
    naive = ps.parse(ps.powershell_view(_naive(command, HOSTILE_ADAPTER)))
    assert "Stop-Computer" in ps.commands(naive)


def test_the_fixes_pass_the_windows_powershell_51_catalog(phase1):
    import ps51

    for code, command in (("no_proxy_missing", _no_proxy_command), ("duplicate_nat_adapters", _rename_commands)):
        assert ps51.check_script(ps.powershell_view(command(_fix(phase1, code)))) == [], code


# --- 9. loose inputs are refused before anything is sent -------------------------------------------------------------


def test_loose_inputs_are_refused_with_no_winrm_command(sim, phase1):
    for name, (module, _args, message) in LOOSE_TASKS.items():
        result = phase1.result(LOOSE, name)
        assert phase1.status(LOOSE, name) == "failed", (name, result)
        assert result["msg"].startswith("invalid arguments for ecs_windows.task_iam.%s: " % module), (name, result["msg"])
        assert message in result["msg"], (name, result["msg"])
        assert result["commands"] == 0, name
    assert phase1.commands[LOOSE] == 0
    assert control(sim, "counters", LOOSE)["http_requests"] == 0
    # Errors about long values do not repeat them.
    assert "x" * 100 not in json.dumps(phase1.result(LOOSE, "long env value"))


def test_user_data_refuses_what_the_agent_module_refuses_in_the_same_words(phase1):
    agent_messages = {name: phase1.result(LOOSE, name)["msg"] for name in LOOSE_TASKS}
    for name, (_kwargs, message) in USER_DATA_TASKS.items():
        result = phase1.result(LOOSE, name)
        assert phase1.status(LOOSE, name) == "failed", (name, result)
        assert "ecs_windows.task_iam.user_data: " in result["msg"] and message in result["msg"], (name, result["msg"])
    for agent_task, filter_task in (("unknown driver", "user_data unknown driver"),
                                    ("proxy with a path", "user_data proxy with a path")):
        tail = agent_messages[agent_task].split(": ", 1)[1]
        assert tail in phase1.result(LOOSE, filter_task)["msg"], (tail, phase1.result(LOOSE, filter_task)["msg"])
