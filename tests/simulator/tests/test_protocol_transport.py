# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The loader's five stdin lines over WinRM (pywinrm, http + NTLM with message encryption): a miss runs nothing, a
library sent with store is kept and then used, a cached library someone changed is not run."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ansible.executor.powershell.module_manifest import _bootstrap_powershell_script
from ansible.plugins.loader import shell_loader
from sim_scripts import probe_args, script_module, winrm_ops, winrm_script

PROBE = ("probe", probe_args("none"))
SET_X = ("set_machine_env", {"set": {"ECS_INSTANCE_ATTRIBUTES": '{"x":"1"}'}, "remove": []})
CACHED = "C:\\ProgramData\\Amazon\\ECS\\ecs_windows.task_iam\\cache\\%s.ps1" % script_module.library_sha256()
MISS = {"contract": 2, "cache": "miss", "results": [], "error": None}


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=3, scheme="http", auth="ntlm")


def put_file(sim, host, path, data: bytes):
    """Ansible's put_file (2.19+: bootstrap_wrapper running winrm_put_file.ps1), as an administrator could."""
    protocol = sim.protocol(host)
    script, stdin = _bootstrap_powershell_script("winrm_put_file.ps1", {"Path": path}, has_input=True)
    command_line = shell_loader.get("powershell")._encode_script(script, as_list=True, strict_mode=False, preserve_rc=False)
    shell = protocol.open_shell(codepage=65001)
    command = protocol.run_command(shell, command_line[0], command_line[1:], console_mode_stdin=False)
    protocol.send_command_input(shell, command, stdin + base64.b64encode(data) + b"\r\n", end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert rc == 0, stderr
    return json.loads(stdout)


def bytes_in(sim, host, *calls, **pack_args):
    """The document of one round trip and the bytes it took on the wire towards the host."""
    before = sim.counters(host)["bytes_in"]
    rc, stdout, stderr = winrm_script(sim, host, calls, **pack_args)
    assert (rc, stderr) == (0, b"")
    return json.loads(stdout), sim.counters(host)["bytes_in"] - before


def test_a_command_without_code_to_a_host_without_the_library_runs_nothing(sim):
    host = sim.hosts[0]
    before = sim.counters(host)["command_kinds"].get("ops", 0)
    assert winrm_ops(sim, host, SET_X, send_code=False) == MISS
    assert sim.counters(host)["command_kinds"]["ops"] == before + 1
    assert "ECS_INSTANCE_ATTRIBUTES" not in sim.ctl("state", host)["machine_env"]
    assert winrm_ops(sim, host, PROBE)["cache"] == "absent"


def test_a_stored_library_is_used_and_saves_the_code_on_the_wire(sim):
    host = sim.hosts[1]
    stored, with_library = bytes_in(sim, host, PROBE, store=True, send_library=True)
    assert stored["cache"] == "stored" and stored["error"] is None
    entry = sim.ctl("state", host)["files"][CACHED]
    library = script_module.library().encode("utf-8")
    assert entry == {"size": len(library), "sha256": hashlib.sha256(library).hexdigest()}
    hit, only_batch = bytes_in(sim, host, SET_X, send_code=False)
    assert hit["cache"] == "hit" and hit["error"] is None and hit["results"][0]["result"] == {
        "changed": ["ECS_INSTANCE_ATTRIBUTES"]}
    assert sim.ctl("state", host)["machine_env"]["ECS_INSTANCE_ATTRIBUTES"] == '{"x":"1"}'
    _document, with_code = bytes_in(sim, host, PROBE)
    # Measured: about 18, 37 and 77 KB (each with a new connection's NTLM handshake and the six WinRS requests).
    assert only_batch * 2 < with_code < with_library


def test_a_cached_library_someone_changed_is_not_run(sim):
    host = sim.hosts[2]
    assert winrm_ops(sim, host, PROBE, store=True, send_library=True)["cache"] == "stored"
    tampered = script_module.library().replace("function Invoke-EcsOpSetMachineEnv {",
                                               "function Invoke-EcsOpSetMachineEnv {\nRemove-Item C:\\ -Recurse", 1)
    assert put_file(sim, host, CACHED, tampered.encode("utf-8")) == {"sha1": hashlib.sha1(tampered.encode()).hexdigest()}
    assert winrm_ops(sim, host, SET_X, send_code=False) == MISS
    assert "ECS_INSTANCE_ATTRIBUTES" not in sim.ctl("state", host)["machine_env"]
    document = winrm_ops(sim, host, SET_X)  # the controller's answer to a miss: send the code
    assert document["error"] is None and document["results"][0]["result"] == {"changed": ["ECS_INSTANCE_ATTRIBUTES"]}
