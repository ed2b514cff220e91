# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The three definitions of every op agree (docs/dev/op-contract.md): its .ps1, its schemas in contract.json,
and its emulation in the simulator (tests/simulator/ecs_windows_sim/ops/<op>.py).

- every op has a .ps1 defining its function, named as Invoke-EcsBatch (prelude.ps1) derives it;
- each .ps1 reads exactly the arguments its args schema defines ($Arguments.<name>);
- every op has an emulation, and its results validate against the result schema over representative
  host states (scripts built by the real build_script, run by the simulator's op-script executor).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import pathlib
import re
import sys

import jsonschema
import pytest

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _script

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS_DIR = ROOT / "plugins" / "plugin_utils" / "powershell"
CONTRACT = json.loads((PS_DIR / "contract.json").read_text(encoding="utf-8"))
OPS = sorted(CONTRACT["ops"])

if importlib.util.find_spec("ecs_windows_sim") is None:  # not installed (the Makefile installs it editable)
    sys.path.insert(0, str(ROOT / "tests" / "simulator"))
from ecs_windows_sim import opscript  # noqa: E402
from ecs_windows_sim.host import Host  # noqa: E402

_ARGUMENT_USE = re.compile(r"\$Arguments\.([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_COMMENT = re.compile(r"<#.*?#>|#[^\n]*", re.DOTALL)


def _ps1(op):
    path = PS_DIR / (op + ".ps1")
    if not path.is_file():
        pytest.fail("op %r has no PowerShell: %s is missing (every op in contract.json needs its .ps1 defining %s)"
                    % (op, path.relative_to(ROOT), CONTRACT["ops"][op]["function"]))
    return path.read_text(encoding="ascii")


@pytest.mark.parametrize("op", OPS)
def test_ps1_defines_the_function(op):
    function = CONTRACT["ops"][op]["function"]
    assert re.search(r"^function\s+%s\s*\{" % re.escape(function), _ps1(op), re.MULTILINE | re.IGNORECASE), \
        "%s.ps1 must define `function %s`" % (op, function)
    # Invoke-EcsBatch calls 'Invoke-EcsOp' + the op name without underscores (case-insensitive).
    assert function.lower() == ("Invoke-EcsOp" + op.replace("_", "")).lower()


@pytest.mark.parametrize("op", OPS)
def test_ps1_reads_exactly_the_schema_arguments(op):
    code = _COMMENT.sub("", _ps1(op))
    used = {name.lower() for name in _ARGUMENT_USE.findall(code)}
    defined = {name.lower() for name in CONTRACT["ops"][op]["args"].get("properties", {})}
    assert used - defined == set(), "%s.ps1 reads arguments its schema does not define" % op
    assert defined - used == set(), "%s.ps1 never reads arguments its schema defines" % op


@pytest.mark.parametrize("op", OPS)
def test_op_has_an_emulation(op):
    assert callable(getattr(opscript.emulation(op), "run", None)), "ecs_windows_sim/ops/%s.py must define run(state, args)" % op


# --- emulation results over representative host states ------------------------------------------

LOG = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover.log"
SCRIPT = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover-credential-proxy.ps1"

# Host states: (preset, [(setting, value), ...], reboot after the settings?)
STATES = {
    "fresh-2022": ("ecs-2022", [], False),
    "fresh-2019": ("ecs-2019", [], False),
    "plain-2022": ("plain-2022", [], False),
    "configured": ("ecs-2022", [("init-agent", "prod"), ("containers", "2"), ("containers-cmd", "1"),
                                ("containers-awsvpc", "1")], False),
    "rebooted": ("ecs-2022", [("init-agent", "prod")], True),
    "iis": ("ecs-2022", [("iis", "on"), ("init-agent", "prod")], False),
    "duplicate-nat": ("ecs-2022", [("duplicate-nat", "on")], False),
    "excluded-51679": ("ecs-2022", [("excluded-port", "51679"), ("init-agent", "prod")], False),
    "apipa": ("ecs-2022", [("apipa-adapter", "on")], False),
    "agent-stopped": ("ecs-2022", [("init-agent", "prod"), ("agent", "stopped")], False),
}


SETTINGS = {"cluster": "prod", "enable_task_iam_role": True, "version": None, "logging_drivers": ["json-file", "awslogs"],
            "enable_task_eni": True, "awsvpc_block_imds": False, "awsvpc_additional_local_routes": []}


def _calls(op, facts):
    """Representative argument sets of `op` for a host whose probe facts are `facts` (the contract's example first)."""
    proxy = facts["proxy"]
    containers = facts["containers"] or []
    # The example with its waits cut short: an emulation waits in real time (the states here never become ready).
    example = dict(_contract.example(op), **{"wait_registered": {"timeout_s": 0}, "wait_task_idle": {"timeout_s": 0},
                                            "recover_proxy": {"registration_timeout_s": 0}}.get(op, {}))
    return [example] + {
        "probe": [dict(example, container_detail=d, files=[LOG, SCRIPT]) for d in ("none", "list")],
        "set_machine_env": [{"set": {"ECS_CLUSTER": "prod", "NO_PROXY": "169.254.169.254,169.254.170.2"}, "remove": ["HTTP_PROXY"]},
                            {"set": {"Path": "C:\\x"}, "remove": []}],
        "install_ecstools": [],
        "reset_agent_data": [],
        "init_agent": [{"settings": SETTINGS, "timeout_s": 60, "attempts": 1, "retry_delay_s": 0},
                       {"settings": dict(SETTINGS, cluster="other"), "timeout_s": 60, "attempts": 1, "retry_delay_s": 0}],
        "service": [{"name": n, "start_type": "Automatic", "state": s, "failure_restart": True, "timeout_s": 5}
                    for n in ("AmazonECS", "docker", "W3SVC") for s in ("running", "restarted", "stopped")],
        "wait_registered": [{"cluster": "prod", "timeout_s": 0, "interval_s": 1}],
        "remove_proxy": [{"portproxy": [{"listen_address": r["listen_address"], "listen_port": r["listen_port"]} for r in proxy["portproxy"]],
                          "ip_bindings": [{"ip_address": b["ip_address"], "interface_index": b["interface_index"]}
                                          for b in proxy["ip_bindings"]],
                          "apipa_adapter": proxy["apipa_adapter"], "firewall_rules": [r["name"] for r in proxy["firewall_rules"]]}],
        "boot_task": [dict(example, state="absent")],
        "wait_task_idle": [dict(example, busy_error=True)],
        "recover_proxy": [],
        "container_routes": [{"containers": [
            {"id": c["id"], "shell": s, "add": [{"destination": "169.254.170.2/32", "next_hop": c["gateway"] or "172.29.80.1"}],
             "remove": []} for c in containers for s in ("powershell", "cmd")] + [
            {"id": "f" * 64, "shell": "cmd", "add": [], "remove": ["169.254.170.2/32"]}], "timeout_s": 5}],
    }[op]


@pytest.mark.parametrize("op", OPS)
def test_the_example_arguments_are_valid(op):
    jsonschema.Draft202012Validator(_contract.schema(op, "args")).validate(_contract.example(op))


_OP_CALL = re.compile(r"\bInvoke-EcsOp([A-Za-z]+)\b")


@pytest.mark.parametrize("op", OPS)
def test_uses_lists_exactly_the_ops_the_code_calls(op):
    functions = {spec["function"].lower(): name for name, spec in CONTRACT["ops"].items()}
    called = {functions["invoke-ecsop" + m.lower()] for m in _OP_CALL.findall(_COMMENT.sub("", _ps1(op)))
              if "invoke-ecsop" + m.lower() in functions}
    assert called - {op} == set(CONTRACT["ops"][op]["uses"])


def _host(tmp_path, name):
    preset, settings, reboot = STATES[name]
    host = Host.create("ecs-sim-001", tmp_path, preset)
    for key, value in settings:
        host.apply_setting(key, value)
    if reboot:
        host.reboot()
    return host


def _run(host, calls):
    rc, stdout, stderr = host.run_ops_script(_script.build_script(calls))
    assert (rc, stderr) == (0, b""), stderr
    return json.loads(stdout)


@pytest.mark.parametrize("state", sorted(STATES))
def test_emulation_results_validate(tmp_path, state):
    for op in OPS:
        _ps1(op)  # the real build_script needs every .ps1
    base = _host(tmp_path, state)
    facts = _run(base, [("probe", _contract.example("probe"))])["results"][0]["result"]
    validators = {op: jsonschema.Draft202012Validator(_contract.schema(op, "result")) for op in OPS}
    for op in OPS:
        for args in _calls(op, facts):
            host = Host("ecs-sim-001", tmp_path, copy.deepcopy(base.state))  # each call on the same starting state
            document = _run(host, [(op, args)])
            for entry in document["results"]:
                validators[entry["op"]].validate(entry["result"])
            if document["error"] is not None:
                assert document["error"]["category"] in CONTRACT["error_categories"]
                assert document["error"]["op"] == op and document["error"]["message"]
            if _contract.read_only(op):
                assert _comparable(host.state) == _comparable(base.state), "read-only op %s changed the host" % op


def _comparable(state):
    return {k: v for k, v in state.items() if k not in ("last_boot_runs",)}
