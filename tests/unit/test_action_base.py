# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin base (validate -> probe -> plan -> apply -> report) and instance_info, over a stand-in connection."""

from __future__ import annotations

import copy
import types

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext

import probe_data as pd
from ansible_collections.ecs_windows.task_iam.plugins.action.instance_info import ActionModule as InstanceInfo
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan, Refusal

TOY_DOC = r"""
module: toy
short_description: toy
description: toy
options:
  value:
    description: v
    type: str
    required: true
  token:
    description: t
    type: str
    no_log: true
"""


class Toy(EcsAction):
    """Keeps Machine env TOY equal to `value`; refuses hosts without ECSTools."""

    DOCUMENTATION = TOY_DOC

    def plan(self, params, facts):
        if not facts["ecstools"]["present"]:
            raise Refusal("ECSTools is needed", [{"code": "ecstools_missing", "message": "ECSTools is missing", "fix": "install it"}])
        current = facts["machine_env"].get("TOY")
        if current == params["value"]:
            return Plan()
        return Plan(changes=["set TOY (was %s)" % ("unset" if current is None else "different")],
                    calls=[("set_machine_env", {"set": {"TOY": params["value"]}, "remove": []})],
                    before={"TOY": current}, after={"TOY": params["value"]})

    def report(self, params, facts, plan, applied):
        return {"toy": facts["machine_env"].get("TOY"), "op_results": [result for _op, result in applied]}


class SimHost:
    """Answers op batches from a probe result it keeps, the way a host would."""

    def __init__(self, facts=None, sticky=False):
        self.facts = facts or pd.configured()
        self.sticky = sticky  # set_machine_env "succeeds" without effect
        self.batches = []

    def __call__(self, ops):
        self.batches.append([op["op"] for op in ops])
        results = []
        for op in ops:
            if op["op"] == "probe":
                results.append(("probe", copy.deepcopy(self.facts)))
            elif op["op"] == "set_machine_env":
                if not self.sticky:
                    self.facts["machine_env"].update(op["args"]["set"])
                results.append(("set_machine_env", {"changed": sorted(op["args"]["set"])}))
            else:
                raise AssertionError("unexpected op %s" % op["op"])
        return 0, pd.response(results), b""


def make(cls, args, connection, check_mode=False, diff=False):
    task = types.SimpleNamespace(args=args, action="ecs_windows.task_iam.test", check_mode=check_mode, diff=diff, async_val=0)
    return cls(task, connection, PlayContext(), loader=None, templar=None, shared_loader_obj=None)


def run(cls, args, connection, **kwargs):
    return make(cls, args, connection, **kwargs).run(task_vars={"inventory_hostname": "win-1"})


def test_nothing_to_change_costs_one_command():
    host = SimHost()
    host.facts["machine_env"]["TOY"] = "x"
    result = run(Toy, {"value": "x"}, pd.FakeConnection(host))
    assert result["changed"] is False and result["changes"] == [] and result["commands"] == 1
    assert host.batches == [["probe"]]
    assert result["toy"] == "x" and result["facts"]["machine_env"]["TOY"] == "x"
    assert "boot_recovery" in result["facts"] and "diff" not in result


def test_a_change_is_applied_and_verified_in_the_same_batch():
    host = SimHost()
    result = run(Toy, {"value": "x"}, pd.FakeConnection(host), diff=True)
    assert host.batches == [["probe"], ["set_machine_env", "probe"]]
    assert result["changed"] is True and result["commands"] == 2
    assert result["changes"] == ["set TOY (was unset)"]
    assert result["diff"] == {"before": {"TOY": None}, "after": {"TOY": "x"}}
    assert result["toy"] == "x" and result["op_results"] == [{"changed": ["TOY"]}]
    assert "failed" not in result


def test_check_mode_reports_the_change_and_sends_only_the_probe():
    host = SimHost()
    result = run(Toy, {"value": "x"}, pd.FakeConnection(host), check_mode=True, diff=True)
    assert host.batches == [["probe"]]
    assert result["changed"] is True and result["changes"] == ["set TOY (was unset)"]
    assert result["diff"]["after"] == {"TOY": "x"}
    assert "TOY" not in host.facts["machine_env"]


def test_a_change_that_does_not_stick_fails_verification():
    host = SimHost(sticky=True)
    result = run(Toy, {"value": "x"}, pd.FakeConnection(host))
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"] == ("ecs_windows.task_iam.test applied set TOY (was unset) but the host did not converge: "
                             "set TOY (was unset)")


def test_host_state_refusal_names_the_fix_and_changes_nothing():
    host = SimHost(pd.fresh())
    host.facts["ecstools"]["present"] = False
    result = run(Toy, {"value": "x"}, pd.FakeConnection(host))
    assert result["failed"] is True and result["changed"] is False and result["commands"] == 1
    assert result["msg"] == "ECSTools is needed: ECSTools is missing. Fix: install it"
    assert [f["code"] for f in result["findings"]] == ["ecstools_missing"] and result["facts"]["ecstools"]["present"] is False


def test_op_error_in_apply_reports_what_ran():
    def handler(ops):
        if len(ops) == 1:
            return 0, pd.response([("probe", pd.configured())]), b""
        error = {"op": "set_machine_env", "index": 0, "category": "host_state", "message": "Access to the registry key is denied."}
        return 0, pd.response([], error), b""

    result = run(Toy, {"value": "x"}, pd.FakeConnection(handler))
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == "op set_machine_env failed on win-1 (host_state): Access to the registry key is denied."
    assert result["category"] == "host_state" and result["changes"] == ["set TOY (was unset)"]


def test_bad_arguments_fail_before_anything_is_sent():
    conn = pd.FakeConnection(SimHost())
    result = run(Toy, {"value": "x", "vaule": "y"}, conn)
    assert result["failed"] is True and result["commands"] == 0 and conn.commands == []
    assert "unsupported argument vaule" in result["msg"]


def test_no_log_values_are_scrubbed_from_failures():
    conn = pd.FakeConnection(SimHost())
    result = run(Toy, {"token": "hunter2-secret", "bogus": "hunter2-secret"}, conn)
    assert "hunter2-secret" not in repr(result)
    assert conn.commands == []


def test_connection_failure_is_unreachable():
    conn = pd.FakeConnection(queue=[AnsibleConnectionFailure("refused")] * 4)
    action = make(Toy, {"value": "x"}, conn)
    result = None
    from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _runner
    original = _runner.OpRunner.__init__

    def no_sleep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.sleep = lambda seconds: None

    _runner.OpRunner.__init__ = no_sleep
    try:
        result = action.run(task_vars={"inventory_hostname": "win-1"})
    finally:
        _runner.OpRunner.__init__ = original
    assert result["unreachable"] is True and result["changed"] is False and result["commands"] == 4
    assert "connection to win-1 failed 4 times" in result["msg"]


# --- instance_info -------------------------------------------------------------------------------

@pytest.mark.parametrize("facts, codes", [
    (pd.fresh(), ["agent_not_initialized"]),
    (pd.configured(), []),
    (pd.rebooted_stale(), ["proxy_stale_after_reboot"]),
])
def test_instance_info_one_probe_facts_and_findings(facts, codes):
    host = SimHost(copy.deepcopy(facts))
    conn = pd.FakeConnection(host)
    result = run(InstanceInfo, {}, conn)
    assert host.batches == [["probe"]] and result["commands"] == 1
    batch = pd.decode_batch(conn.commands[0]["in_data"])
    assert batch["ops"] == [{"op": "probe", "args": {"container_detail": "routes", "files": [], "salt": batch["ops"][0]["args"]["salt"]}}]
    assert batch["lock"] is None
    assert [f["code"] for f in result["findings"]] == codes
    assert result["healthy"] is (codes == [])
    assert result["changed"] is False
    for key in ("host", "identity", "ecstools", "agent", "services", "machine_env", "machine_env_other", "registration",
                "endpoints", "proxy", "nat_adapters", "port80_listeners", "excluded_port_ranges", "scheduled_tasks", "boot",
                "boot_recovery", "containers", "tasks", "timings_ms", "files"):
        assert key in result, key
    assert "salt" not in result and "machine_env_hashes" not in result
    assert result["host"] == facts["host"]


def test_instance_info_passes_its_options_as_data():
    host = SimHost()
    conn = pd.FakeConnection(host)
    path = "C:\\x'; Remove-Item C:\\ -Recurse; '$(whoami)`n.ps1"
    run(InstanceInfo, {"container_detail": "none", "files": [path]}, conn, check_mode=True)
    args = pd.decode_batch(conn.commands[0]["in_data"])["ops"][0]["args"]
    assert args == {"container_detail": "none", "files": [path], "salt": args["salt"]}
    script = conn.commands[0]["in_data"].decode("ascii")
    assert "Remove-Item C:" not in script and "whoami" not in script


def test_instance_info_rejects_bad_arguments_before_sending():
    conn = pd.FakeConnection(SimHost())
    result = run(InstanceInfo, {"container_detail": "everything"}, conn)
    assert result["failed"] is True and conn.commands == []
    assert "container_detail must be one of: none, list, routes, got: everything" in result["msg"]


# --- RETURN documentation agrees with failures --------------------------------------------------------


@pytest.mark.parametrize("module, args", [
    ("agent", {"cluster": "windows"}),
    ("credential_proxy", {}),
    ("container_routes", {}),
    ("instance_info", {}),
])
def test_keys_documented_as_always_returned_are_there_when_the_probe_fails(module, args):
    import importlib

    import yaml

    action = importlib.import_module("ansible_collections.ecs_windows.task_iam.plugins.action.%s" % module).ActionModule
    doc = importlib.import_module("ansible_collections.ecs_windows.task_iam.plugins.modules.%s" % module)
    always = [key for key, spec in yaml.safe_load(doc.RETURN).items() if spec["returned"] == "always"]
    error = {"op": "probe", "index": 0, "category": "internal", "message": "Get-NetIPAddress : Access is denied."}
    result = run(action, args, pd.FakeConnection(lambda ops: (0, pd.response([], error), b"")))
    assert result["failed"] is True and "Access is denied" in result["msg"]
    assert always and [key for key in always if key not in result] == []
