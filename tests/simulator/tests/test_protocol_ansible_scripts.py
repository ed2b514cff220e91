"""Ansible's own PowerShell snippets (built by the installed ansible-core's powershell shell plugin) sent over
the wire with pywinrm: the ones the playbook tests do not reach (exists, checksum, old mkdtemp, expand_user,
remove errors)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from ansible.executor.powershell.module_manifest import _bootstrap_powershell_script
from ansible.plugins.loader import shell_loader


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(scheme="https", auth="basic")


@pytest.fixture(scope="module")
def shell():
    return shell_loader.get("powershell")


def run(sim, command: str, stdin: bytes | None = None):
    protocol = sim.protocol()
    shell_id = protocol.open_shell(codepage=65001)
    executable, arguments = command.split(" ", 1)
    command_id = protocol.run_command(shell_id, executable, arguments.split(" "), console_mode_stdin=stdin is None)
    if stdin is not None:
        protocol.send_command_input(shell_id, command_id, stdin, end=True)
    stdout, stderr, rc = protocol.get_command_output(shell_id, command_id)
    protocol.close_shell(shell_id)
    return rc, stdout, stderr


def test_old_mkdtemp_expands_temp_and_remove(sim, shell):
    rc, stdout, stderr = run(sim, shell.mkdtemp(basefile="ansible-tmp-1", tmpdir="%TEMP%"))
    path = "C:\\Users\\Administrator\\AppData\\Local\\Temp\\ansible-tmp-1"
    assert (rc, stdout, stderr) == (0, (path + "\r\n").encode(), b"")
    rc, _stdout, stderr = run(sim, shell.mkdtemp(basefile="ansible-tmp-1", tmpdir="%TEMP%"))
    assert rc == 1 and b"An item with the specified name %s already exists." % path.encode() in stderr
    assert run(sim, shell.remove(path, recurse=True))[0] == 0
    rc, _stdout, stderr = run(sim, shell.remove(path))
    assert rc == 1 and b"Cannot find path '%s' because it does not exist." % path.encode() in stderr


def test_new_mkdtemp_and_remove_without_recurse(sim, shell):
    command = shell._mkdtemp2(basefile="ansible-tmp-2", tmpdir="C:\\Windows\\Temp")
    rc, stdout, _stderr = run(sim, command.command, command.input_data)
    assert (rc, stdout) == (0, b"C:\\Windows\\Temp\\ansible-tmp-2\r\n")
    put = shell._mkdtemp2(basefile="inner", tmpdir="C:\\Windows\\Temp\\ansible-tmp-2")
    assert run(sim, put.command, put.input_data)[0] == 0
    rc, _stdout, stderr = run(sim, shell.remove("C:\\Windows\\Temp\\ansible-tmp-2"))  # has a child: PowerShell would prompt
    assert rc == 1 and b"NonInteractive mode" in stderr
    assert sim.control("state", sim.hosts[0])["dirs"].count("C:\\Windows\\Temp\\ansible-tmp-2") == 1


def test_exists_and_checksum(sim, shell):
    assert run(sim, shell.exists("C:\\Windows\\Temp"))[0] == 0
    assert run(sim, shell.exists("C:\\nope"))[0] == 1
    assert run(sim, shell.checksum("C:\\nope.txt"))[1] == b"1\r\n"
    assert run(sim, shell.checksum("C:\\Windows\\Temp"))[1] == b"3\r\n"
    data = b"checksum me\n"
    # put_file of 2.19+: bootstrap_wrapper running winrm_put_file.ps1; stdin = manifests, then base64 lines
    script, stdin = _bootstrap_powershell_script("winrm_put_file.ps1", {"Path": "C:\\Windows\\Temp\\sum.txt"}, has_input=True)
    command = " ".join(shell._encode_script(script, as_list=True, strict_mode=False, preserve_rc=False))
    rc, stdout, _stderr = run(sim, command, stdin + base64.b64encode(data) + b"\r\n")
    assert (rc, stdout) == (0, b'{"sha1":"%s"}\r\n' % hashlib.sha1(data).hexdigest().encode())
    assert run(sim, shell.checksum("C:\\Windows\\Temp\\sum.txt"))[1] == hashlib.sha1(data).hexdigest().encode() + b"\r\n"


def test_expand_user(sim, shell):
    command = shell._expand_user2("~\\Documents")
    rc, stdout, _stderr = run(sim, command.command, command.input_data)
    assert (rc, stdout) == (0, b"C:\\Users\\Administrator\\Documents\r\n")
