"""Op scripts for the simulator's tests, built by the collection's own builder (plugins/plugin_utils/_script.py:
build_script for one script text, pack for the loader's five stdin lines), plus the host-model fixtures' shared
helpers."""

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


def run(host, *calls, lock=None):
    """Run calls [(op, args), ...] on a Host; the parsed output document (rc 0 and empty stderr asserted)."""
    rc, stdout, stderr = host.run_ops_script(build_script(list(calls), lock=lock))
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
    return result(host, "probe", probe_args(detail, files))


def probe_args(detail="routes", files=()):
    return {"container_detail": detail, "files": list(files), "salt": SALT}


def loader(host, stdin: bytes):
    """A loader command (LOADER_COMMAND with `stdin`) dispatched on a Host the way the server dispatches it: rc,
    stdout, stderr."""
    from ecs_windows_sim import ansible_ops, dispatch

    executable, arguments = LOADER_COMMAND.split(" ", 1)
    job = dispatch.classify(executable, arguments)
    assert job.kind == "ops"
    return dispatch.run(job, host, stdin, ansible_ops.Context(user="Administrator"))


def loader_document(host, stdin: bytes):
    rc, stdout, stderr = loader(host, stdin)
    assert (rc, stderr) == (0, b""), stderr.decode("utf-8", "replace")
    return json.loads(stdout)


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
    """A Host fresh from `preset` in tmp_path, with `ctl set` settings applied in order (keyword a_b means key a-b;
    machine-env:NAME keys are passed as they are)."""
    from ecs_windows_sim.host import Host

    host = Host.create(name, tmp_path, preset)
    for key, value in settings.items():
        host.apply_setting(key if key.startswith("machine-env:") else key.replace("_", "-"), str(value))
    return host


# --- through the wire (a running `ecs-windows-sim serve`, see conftest.SimProcess) ----------------

def winrm_stdin(sim, host, stdin: bytes, protocol=None):
    """One loader round trip over WinRM as the collection makes it: the loader command line, `stdin` (what
    pack() builds) sent with End. Returns rc, stdout, stderr."""
    protocol = protocol or sim.protocol(host)
    shell = protocol.open_shell(codepage=65001)
    executable, arguments = LOADER_COMMAND.split(" ", 1)
    command = protocol.run_command(shell, executable, arguments.split(" "), console_mode_stdin=False)
    protocol.send_command_input(shell, command, stdin, end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    return rc, stdout, stderr


def winrm_script(sim, host, calls, **pack_args):
    """The batch `calls` packed as the collection packs it (pack(calls, lock, store, send_code, send_library))."""
    return winrm_stdin(sim, host, pack(list(calls), **pack_args))


def winrm_ops(sim, host, *calls, **pack_args):
    """The output document of a batch run over WinRM (rc 0 and empty stderr asserted)."""
    rc, stdout, stderr = winrm_script(sim, host, calls, **pack_args)
    assert (rc, stderr) == (0, b""), stderr
    return json.loads(stdout)


def winrm_result(sim, host, op, args, **pack_args):
    document = winrm_ops(sim, host, (op, args), **pack_args)
    assert document["error"] is None, document["error"]
    return document["results"][0]["result"]


def winrm_probe(sim, host, detail="routes", files=()):
    return winrm_result(sim, host, "probe", probe_args(detail, files))
