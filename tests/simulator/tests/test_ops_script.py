"""opscript: how a script is met (marker, functions, batch, argument schemas) and the output document."""

from __future__ import annotations

import base64
import json

import pytest
from ansible.plugins.shell.powershell import _parse_clixml
from ecs_windows_sim import opscript
from ecs_windows_sim.ops import probe as probe_op
from sim_scripts import build_script, example, init_args, new_host, probe_args, run

PROBE = ("probe", probe_args("none"))


@pytest.fixture
def host(tmp_path):
    return new_host(tmp_path)


def refused(host, script):
    """rc 1 and the PowerShell error text (decoded from CLIXML as Ansible decodes it)."""
    rc, stdout, stderr = host.run_ops_script(script)
    assert (rc, stdout) == (1, b"")
    assert stderr.startswith(b"#< CLIXML\r\n<Objs ")
    return _parse_clixml(stderr).decode("utf-8")


def with_batch(script, batch):
    encoded = base64.b64encode(json.dumps(batch).encode("utf-8")).decode("ascii")
    lines = [("$EcsBatch = '%s'" % encoded if line.startswith("$EcsBatch = ") else line) for line in script.split("\n")]
    return "\n".join(lines)


def test_output_is_one_json_document(host):
    rc, stdout, stderr = host.run_ops_script(build_script([PROBE, PROBE]))
    assert (rc, stderr) == (0, b"")
    document = json.loads(stdout)
    # Run as a script file (the boot task's way), not through the loader: no library cache state.
    assert document["contract"] == 2 and document["cache"] is None and document["error"] is None
    assert [r["op"] for r in document["results"]] == ["probe", "probe"]


def test_crlf_and_bom_on_stdin_are_accepted(host):
    script = "\ufeff" + build_script([PROBE]).replace("\n", "\r\n")
    assert host.run_ops_script(script)[0] == 0


def test_first_op_error_stops_the_batch(host):
    host.apply_setting("ecstools", "absent")
    document = run(host, PROBE, ("init_agent", init_args()), PROBE)
    assert [r["op"] for r in document["results"]] == ["probe"]
    assert document["error"]["op"] == "init_agent" and document["error"]["index"] == 1
    assert document["error"]["category"] == "init_failed"


def test_missing_marker(host):
    text = refused(host, build_script([PROBE]).split("\n", 1)[1])
    assert "first line is not the op marker '#ecs_windows.task_iam ops/2 <ops>'" in text


def test_other_contract_version(host):
    text = refused(host, build_script([PROBE]).replace("#ecs_windows.task_iam ops/2 ", "#ecs_windows.task_iam ops/1 ", 1))
    assert "is not op contract 2" in text


def test_op_missing_from_marker(host):
    script = build_script([PROBE]).replace(" ops/2 probe\n", " ops/2 service\n", 1)
    assert "op 'probe' runs in the batch but is missing from the marker line" in refused(host, script)


def test_op_function_not_defined(host):
    script = build_script([PROBE]).replace("function Invoke-EcsOpProbe", "function Invoke-EcsOpProbeX")
    assert "op 'probe' is not defined in this script (Invoke-EcsOpProbe)" in refused(host, script)


def test_used_op_function_not_defined(host):
    script = build_script([("recover_proxy", example("recover_proxy"))]).replace("function Invoke-EcsOpInitAgent", "function Nope")
    assert "The term 'Invoke-EcsOpInitAgent' is not recognized" in refused(host, script)


def test_prelude_missing(host):
    script = build_script([PROBE]).replace("function Invoke-EcsBatch", "function Invoke-Other")
    assert "The term 'Invoke-EcsBatch' is not recognized" in refused(host, script)


def test_bad_base64_and_json(host):
    script = build_script([PROBE])
    bad = "\n".join("$EcsBatch = 'not*base64'" if line.startswith("$EcsBatch = ") else line for line in script.split("\n"))
    assert "not base64 of UTF-8 JSON" in refused(host, bad)
    not_json = base64.b64encode(b"{nope").decode("ascii")
    bad = "\n".join("$EcsBatch = '%s'" % not_json if line.startswith("$EcsBatch = ") else line for line in script.split("\n"))
    assert "not base64 of UTF-8 JSON" in refused(host, bad)


def batch(*ops, lock=None, store=False):
    return {"contract": 2, "lock": lock, "store": store, "ops": [{"op": op, "args": args} for op, args in ops]}


def test_batch_of_another_contract(host):
    script = with_batch(build_script([PROBE]), dict(batch(), contract=1))
    assert "batch contract 1 does not match the script's contract 2" in refused(host, script)


@pytest.mark.parametrize("change, message", [
    ({"lock": "drop"}, "at (top): 'lock' is a required property"),
    ({"store": "drop"}, "at (top): 'store' is a required property"),
    ({"lock": {"wait_s": 5}}, "at lock: 'holder' is a required property"),
    ({"lock": {"wait_s": 601, "holder": "x"}}, "at lock.wait_s: 601 is greater than the maximum of 600"),
    ({"store": "yes"}, "at store: 'yes' is not of type 'boolean'"),
    ({"extra": 1}, "at (top): Additional properties are not allowed ('extra' was unexpected)"),
])
def test_batch_is_checked_against_the_contract_batch_schema(host, change, message):
    document = batch(PROBE)
    for key, value in change.items():
        if value == "drop":
            del document[key]
        else:
            document[key] = value
    text = refused(host, with_batch(build_script([PROBE]), document))
    assert "the batch does not match the contract's batch schema " + message in text


def test_unknown_op(host):
    script = with_batch(build_script([PROBE]), batch(("format_disk", {})))
    assert "op 'format_disk' is not defined in this script (Invoke-EcsOpformatdisk)" in refused(host, script)


@pytest.mark.parametrize("args, message", [
    (probe_args("none") | {"extra": 1},
     "Invoke-EcsOpProbe : A parameter cannot be found that matches parameter name 'extra'."),
    ({"container_detail": "none"},
     "Invoke-EcsOpProbe : Cannot process command because of one or more missing mandatory parameters: files salt."),
    (probe_args("all"),
     "Invoke-EcsOpProbe : Cannot validate argument on parameter 'container_detail'. 'all' is not one of"),
    (probe_args("none", [3]),
     "Invoke-EcsOpProbe : Cannot validate argument on parameter 'files[0]'. 3 is not of type 'string'"),
    (probe_args("none") | {"salt": "0123456789ABCDEF"},
     "Invoke-EcsOpProbe : Cannot validate argument on parameter 'salt'. '0123456789ABCDEF' does not match"),
    (probe_args("none") | {"salt": "0123456789abcde"},
     "Invoke-EcsOpProbe : Cannot validate argument on parameter 'salt'. '0123456789abcde' does not match"),
])
def test_arguments_are_checked_against_the_schema(host, args, message):
    script = with_batch(build_script([PROBE]), batch(("probe", args)))
    assert message in refused(host, script)


@pytest.mark.parametrize("op, args, message", [
    ("boot_task", example("boot_task", script_path="C:\\x.ps1"),
     "Invoke-EcsOpBootTask : A parameter cannot be found that matches parameter name 'script_path'."),
    ("boot_task", example("boot_task", delay="30s"), "Invoke-EcsOpBootTask : Cannot validate argument on parameter 'delay'."),
    ("wait_registered", example("wait_registered", timeout_s=61),
     "Invoke-EcsOpWaitRegistered : Cannot validate argument on parameter 'timeout_s'. 61 is greater than the maximum of 60"),
    ("wait_task_idle", {k: v for k, v in example("wait_task_idle").items() if k != "busy_error"},
     "Invoke-EcsOpWaitTaskIdle : Cannot process command because of one or more missing mandatory parameters: busy_error."),
    ("service", example("service", timeout_s=0), "Invoke-EcsOpService : Cannot validate argument on parameter 'timeout_s'."),
    ("reset_agent_data", {}, "Invoke-EcsOpResetAgentData : Cannot process command because of one or more missing "
                             "mandatory parameters: stop_timeout_s."),
    ("container_routes", example("container_routes", timeout_s=4),
     "Invoke-EcsOpContainerRoutes : Cannot validate argument on parameter 'timeout_s'."),
    ("install_ecstools", {"files": example("install_ecstools")["files"]},
     "Invoke-EcsOpInstallEcsTools : Cannot process command because of one or more missing mandatory parameters: proxy."),
    ("recover_proxy", example("recover_proxy") | {"init": {}},
     "Invoke-EcsOpRecoverProxy : A parameter cannot be found that matches parameter name 'init'."),
])
def test_contract_2_arguments(host, op, args, message):
    assert message in refused(host, build_script([(op, args)]))


def test_every_op_runs_its_example(tmp_path):
    """The contract's example arguments of every op, in the contract's order, on a host that booted since user data
    initialised its agent: each is accepted and answers within its result schema (else SimulatorBug is raised)."""
    host = new_host(tmp_path, init_agent="prod")
    host.reboot()
    for op in opscript.contract()["ops"]:
        document = run(host, (op, example(op)))
        assert document["error"] is None and [r["op"] for r in document["results"]] == [op], document


def test_init_agent_range_and_pattern(host):
    for args, where in ((init_args(timeout_s=29), "'timeout_s'"), (init_args(timeout_s=3601), "'timeout_s'"),
                        (init_args("a b"), "'settings.cluster'"), (init_args(version="2"), "'settings.version'")):
        script = with_batch(build_script([PROBE]), batch(("init_agent", args)))
        script = script.replace(" ops/2 probe\n", " ops/2 init_agent,probe\n").replace(
            "function Invoke-EcsOpProbe", "function Invoke-EcsOpInitAgent")
        assert "Invoke-EcsOpInitAgent : Cannot validate argument on parameter %s." % where in refused(host, script)


def test_a_refused_script_changes_nothing(host):
    before = json.dumps(host.state, sort_keys=True)
    script = with_batch(build_script([PROBE]), batch(PROBE, ("probe", {"container_detail": "none"})))
    refused(host, script)
    assert json.dumps(host.state, sort_keys=True) == before


def test_a_result_outside_its_schema_is_a_simulator_bug(host, monkeypatch):
    monkeypatch.setattr(probe_op, "run", lambda state, args: {"host": "not an object"})
    before = json.dumps(host.state, sort_keys=True)
    with pytest.raises(opscript.SimulatorBug, match="emulation of op probe returned a result that violates its schema"):
        host.run_ops_script(build_script([PROBE]))
    assert json.dumps(host.state, sort_keys=True) == before


def test_an_unknown_error_category_is_a_simulator_bug(host, monkeypatch):
    def fail(state, args):
        raise opscript.OpError("oops", "x")

    monkeypatch.setattr(probe_op, "run", fail)
    with pytest.raises(opscript.SimulatorBug, match="unknown error category 'oops'"):
        host.run_ops_script(build_script([PROBE]))


def test_contract_override_env_var(host, monkeypatch, tmp_path):
    assert opscript.contract_path().parts[-4:] == ("plugins", "plugin_utils", "powershell", "contract.json")
    other = json.loads(opscript.contract_path().read_text(encoding="utf-8"))
    other["marker_prefix"] = "#other ops/2"
    (tmp_path / "contract.json").write_text(json.dumps(other), encoding="utf-8")
    monkeypatch.setenv(opscript.CONTRACT_ENV, str(tmp_path / "contract.json"))
    assert "not the op marker '#other ops/2 <ops>'" in refused(host, build_script([PROBE]))
    monkeypatch.setenv(opscript.CONTRACT_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(RuntimeError, match="set ECS_WINDOWS_SIM_CONTRACT"):
        opscript.contract()
