# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 11 hazards that the simulator cannot show, because it runs the ops as Python emulations: held in the
PowerShell text itself, through its parse tree (tree-sitter-powershell, as test_powershell_static.py parses it).

- docker's output is read as UTF-8 (not the console code page), whatever runs docker;
- nothing waits on a service without a bound (Stop-Service/Restart-Service wait forever on StopPending);
- scheduled tasks are looked up by path and name, never by listing every task;
- Initialize-ECSAgent runs only in a child powershell.exe with a timeout, importing ECSTools afresh (-Force), so a
  hang, an `exit` or console output of ECSTools cannot reach the op's JSON, and a psrp runspace that persists
  across batches never runs a stale module;
- every $Ecs value a built script reads is defined in it (a missing one is $null on the host, silently).

Each rule has a case that shows it can fail.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _script
from test_powershell_static import PARSER, _command_name, _text, _walk

PS_DIR = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "plugin_utils" / "powershell"
SOURCES = {path.name: path.read_bytes() for path in sorted(PS_DIR.glob("*.ps1"))}


def commands(source: bytes):
    """(name, text, enclosing function name) of every command the source invokes, here-string bodies included."""
    tree = PARSER.parse(source)
    for node in _walk(tree.root_node):
        if node.type == "verbatim_here_string_characters":
            text = _text(source, node)
            body = text[text.index("\n") + 1 : text.rindex("\n")].encode("ascii")
            for name, call, function in commands(body):
                yield name, call, function or "<here-string>"
            continue
        if node.type != "command":
            continue
        name = _command_name(source, node)
        if name is None:
            continue
        function, parent = None, node.parent
        while parent is not None and function is None:
            if parent.type == "function_statement":
                function = next((_text(source, c) for c in parent.children if c.type == "function_name"), None)
            parent = parent.parent
        yield name, _text(source, node), function


def all_commands(sources=None):
    for file, source in (sources or SOURCES).items():
        for name, call, function in commands(source):
            yield file, name, call, function


# --- the rules -------------------------------------------------------------------------------------------------------


def docker_problems(sources=None):
    """docker.exe only through Invoke-EcsDocker, which reads its output as UTF-8."""
    problems = []
    for file, name, call, function in all_commands(sources):
        runs_docker = name.lower() in ("docker", "docker.exe") or ("docker.exe'" in call and name != "Invoke-EcsDocker")
        if runs_docker and function != "Invoke-EcsDocker":
            problems.append("%s: %s runs docker without Invoke-EcsDocker: %s" % (file, function, call[:80]))
        if function == "Invoke-EcsDocker" and name == "Invoke-EcsNative" and "-Encoding 'UTF8'" not in call:
            problems.append("%s: Invoke-EcsDocker reads docker's output in the console code page" % file)
    return problems


def service_problems(sources=None):
    """Service stops never wait unbounded; Restart-Service is not used (it waits for the stop without a limit)."""
    problems = []
    for file, name, call, _function in all_commands(sources):
        if name.lower() == "restart-service" or (name.lower() == "stop-service" and "-NoWait" not in call):
            problems.append("%s: %s waits without a limit: %s" % (file, name, call[:80]))
    for file, source in (sources or SOURCES).items():
        for line in source.decode("ascii").splitlines():
            if ".WaitForStatus(" in line and "FromSeconds" not in line:
                problems.append("%s: WaitForStatus without a timeout: %s" % (file, line.strip()))
    return problems


def scheduled_task_problems(sources=None):
    problems = []
    for file, name, call, _function in all_commands(sources):
        if name in ("Get-ScheduledTask", "Get-ScheduledTaskInfo") and not ("-TaskPath" in call and "-TaskName" in call):
            problems.append("%s: %s without -TaskPath and -TaskName lists every task: %s" % (file, name, call[:80]))
    return problems


def ecstools_problems(sources=None):
    problems = []
    for file, name, call, function in all_commands(sources):
        if name == "Initialize-ECSAgent" and function != "<here-string>":
            problems.append("%s: Initialize-ECSAgent runs in the op's own process (in %s)" % (file, function))
        if name == "Import-Module" and "ECSTools" in call and ("-Force" not in call or function != "<here-string>"):
            problems.append("%s: ECSTools imported in-process or without -Force: %s" % (file, call[:80]))
    init = (sources or SOURCES).get("init_agent.ps1", b"").decode("ascii")
    if "-FilePath 'powershell.exe'" not in init or "-TimeoutSeconds $TimeoutSeconds" not in init:
        problems.append("init_agent.ps1: the child powershell.exe does not run with the op's timeout")
    return problems


RULES = [docker_problems, service_problems, scheduled_task_problems, ecstools_problems]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_collections_powershell_keeps_the_rule(rule):
    assert rule() == []


def test_the_rules_see_the_calls_they_hold():
    # The walk finds what the rules are about, so an empty problem list means something.
    found = {(name, function) for _file, name, _call, function in all_commands()}
    assert ("Initialize-ECSAgent", "<here-string>") in found and ("Invoke-EcsNative", "Invoke-EcsDocker") in found
    assert ("Get-ScheduledTask", "Get-EcsScheduledTask") in found and ("Stop-Service", "Stop-EcsService") in found


BROKEN = [
    (docker_problems, "function Get-X {\n    $r = Invoke-EcsNative -FilePath 'docker.exe' -ArgumentList @('ps')\n}\n"),
    (docker_problems, "function Invoke-EcsDocker {\n    return Invoke-EcsNative -FilePath 'docker.exe' -ArgumentList $a\n}\n"),
    (service_problems, "Stop-Service -Name 'docker' -Force\n"),
    (service_problems, "Restart-Service -Name 'docker' -Force\n"),
    (service_problems, "$service.WaitForStatus('Stopped')\n"),
    (scheduled_task_problems, "$all = Get-ScheduledTask | Where-Object { $_.TaskName -eq 'x' }\n"),
    (ecstools_problems, "function Invoke-X {\n    Import-Module -Name 'ECSTools'\n    Initialize-ECSAgent -Cluster 'c'\n}\n"),
]


@pytest.mark.parametrize("rule, source", BROKEN, ids=[f"{r.__name__}-{i}" for i, (r, _s) in enumerate(BROKEN)])
def test_the_rule_fails_on_what_it_forbids(rule, source):
    assert rule({"init_agent.ps1" if rule is ecstools_problems else "x.ps1": source.encode("ascii")})


# --- every $Ecs value a built script reads is in it ------------------------------------------------------------------

# Set at run time, not by the builder: by bootstrap.ps1 (the cache state, the library sent to be kept, its sha256, the
# batch of a command), by loader.ps1 (its stdin lines), by Invoke-EcsInitializeAgent in the child's first line.
RUNTIME_VALUES = {"EcsCacheState", "EcsLibrary", "EcsLibraryHash", "EcsBatch", "EcsLines", "EcsInitSettings"}


def undefined_values(script: str) -> set[str]:
    used = set(re.findall(r"\$(Ecs[A-Za-z]+)\b", script))
    assigned = set(re.findall(r"^\s*\$(Ecs[A-Za-z]+)\s*=", script, re.M))
    return used - assigned - RUNTIME_VALUES


@pytest.mark.parametrize("op", sorted(_contract.CONTRACT["ops"]))
def test_a_built_script_defines_every_value_it_reads(op):
    # The builder adds a $Ecs definition where it finds the name referenced; a reference it misses (the name right
    # after a '-', as in AddSeconds(-$EcsX), reads like a parameter) would be $null on the host, silently.
    assert undefined_values(_script.build_script([(op, _contract.example(op))])) == set()


def test_the_library_and_the_bootstrap_define_every_value_they_read():
    assert undefined_values(_script.library()) == set()
    assert undefined_values(_script.bootstrap()) == set()


def test_an_undefined_value_is_found():
    assert undefined_values("$x = $EcsNotDefined\n$EcsDefined = 1\n$y = $EcsDefined\n") == {"EcsNotDefined"}
