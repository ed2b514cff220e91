"""Op scripts for the simulator's tests, built by the collection's own builder
(plugins/plugin_utils/_script.py build_script), plus the host-model fixtures' shared helpers."""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from collection_path import collections_root  # noqa: E402  pylint: disable=wrong-import-position

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_AnsibleCollectionFinder(paths=[str(collections_root())])._install()
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract  # noqa: E402
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _script as script_module  # noqa: E402

build_script = script_module.build_script
pack = script_module.pack
LOADER_COMMAND = script_module.LOADER_COMMAND
SALT = "0123456789abcdef"


def run(host, *calls):
    """Run calls [(op, args), ...] on a Host; the parsed output document (rc 0 and empty stderr asserted)."""
    rc, stdout, stderr = host.run_ops_script(build_script(list(calls)))
    assert (rc, stderr) == (0, b""), stderr.decode("utf-8", "replace")
    assert stdout.endswith(b"\r\n") and stdout.count(b"\n") == 1
    return json.loads(stdout)


def result(host, op, args):
    """The result of one op; fails the test with the op error if there was one."""
    document = run(host, (op, args))
    assert document["error"] is None, document["error"]
    return document["results"][0]["result"]


def op_error(host, op, args):
    document = run(host, (op, args))
    assert document["results"] == [] and document["error"] is not None, document
    return document["error"]


def probe(host, detail="routes", files=()):
    return result(host, "probe", {"container_detail": detail, "files": list(files), "salt": SALT})


def settings(cluster="prod", **overrides):
    """init_agent's settings ($defs.settings)."""
    out = {"cluster": cluster, "enable_task_iam_role": True, "version": None, "logging_drivers": None,
           "enable_task_eni": False, "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None}
    out.update(overrides)
    return out


def init_args(cluster="prod", timeout_s=900, **overrides):
    """init_agent arguments."""
    return {"settings": settings(cluster, **overrides), "timeout_s": timeout_s, "attempts": 1, "retry_delay_s": 0}


def example(op, **overrides):
    """The contract's example arguments of op, with overrides."""
    return dict(_contract.example(op), **overrides)


def new_host(tmp_path, preset="ecs-2022", name="ecs-sim-001", **settings):
    """A Host fresh from `preset` in tmp_path, with `ctl set` settings applied (keyword a_b means key a-b)."""
    from ecs_windows_sim.host import Host

    host = Host.create(name, tmp_path, preset)
    for key, value in settings.items():
        host.apply_setting(key.replace("_", "-"), str(value))
    return host


# --- through the wire (a running `ecs-windows-sim serve`, see conftest.SimProcess) ----------------

def winrm_script(sim, host, script):
    """One op-contract round trip over WinRM as the collection makes it: the loader command line,
    the script on stdin. Returns rc, stdout, stderr."""
    protocol = sim.protocol(host)
    shell = protocol.open_shell(codepage=65001)
    executable, arguments = LOADER_COMMAND.split(" ", 1)
    command = protocol.run_command(shell, executable, arguments.split(" "), console_mode_stdin=False)
    protocol.send_command_input(shell, command, script.encode("ascii"), end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    return rc, stdout, stderr


def winrm_ops(sim, host, *calls):
    """The output document of a batch run over WinRM (rc 0 and empty stderr asserted)."""
    rc, stdout, stderr = winrm_script(sim, host, build_script(list(calls)))
    assert (rc, stderr) == (0, b""), stderr
    return json.loads(stdout)


def winrm_result(sim, host, op, args):
    document = winrm_ops(sim, host, (op, args))
    assert document["error"] is None, document["error"]
    return document["results"][0]["result"]


def winrm_probe(sim, host, detail="routes", files=()):
    return winrm_result(sim, host, "probe", {"container_detail": detail, "files": list(files)})
