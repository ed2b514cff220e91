# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible.windows.win_reboot against the simulator: a real ansible-playbook task reboots a host (boot time
changes, WinRM refuses connections for the host's reboot-downtime, `rebooted: true`), and the commands it
sends, made by ansible.windows' own code (plugin_utils/_reboot.py) over pywinrm: boot time, shutdown /r (and
1190 while one is pending), shutdown /a (and 1116), the post-reboot test command."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

BIN = pathlib.Path(sys.executable).parent
PLAYBOOK = """
- hosts: ecs-sim-001
  gather_facts: false
  tasks:
    - name: Reboot
      ansible.windows.win_reboot:
        reboot_timeout: 120
"""


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=2, scheme="http", auth="ntlm")


class WinRMConnection:
    """The part of a connection plugin _reboot.py uses, over pywinrm to one simulated host."""

    def __init__(self, sim, host):
        self.sim, self.host = sim, host

    def exec_command(self, cmd, in_data=None, sudoable=True):
        executable, arguments = cmd.split(" ", 1)
        protocol = self.sim.protocol(self.host)
        shell = protocol.open_shell(codepage=65001)
        command = protocol.run_command(shell, executable, arguments.split(" "))
        stdout, stderr, rc = protocol.get_command_output(shell, command)
        protocol.cleanup_command(shell, command)
        protocol.close_shell(shell)
        return rc, stdout, stderr

    def get_option(self, name):
        raise KeyError(name)

    def close(self):
        pass

    def reset(self):
        pass


def run(conn, command):
    """rc, stdout, stderr of one command sent the way _reboot.py sends it."""
    return _reboot._execute_command("ansible.windows.win_reboot", conn, command)


def reboot_script(conn, monkeypatch, **options):
    """The shutdown script reboot_host builds (caught before it is sent)."""
    captured = {}

    def capture(task_action, connection, reboot_command, handle_abort=True):
        captured["script"] = reboot_command
        raise RuntimeError("captured")

    monkeypatch.setattr(_reboot, "_perform_reboot", capture)
    result = _reboot.reboot_host("ansible.windows.win_reboot", conn, **options)
    assert result["failed"] and result["msg"] == "captured", result
    monkeypatch.undo()
    return captured["script"]


def refused(sim, host):
    try:
        socket.create_connection(("127.0.0.1", sim.port(host)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_win_reboot_task_reboots_the_host(sim, tmp_path):
    host = sim.hosts[0]
    sim.ctl("set", host, "reboot-downtime=2")
    boot_before = sim.ctl("state", host)["boot_id"]
    sim.ctl("counters", "--reset")
    (tmp_path / "reboot.yml").write_text(PLAYBOOK)
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    seen = {"rebooting": 0, "refused": 0}
    done = threading.Event()

    def watch():
        while not done.is_set():
            if sim.counters(host)["status"] == "rebooting":
                seen["rebooting"] += 1
                seen["refused"] += refused(sim, host)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(sim.state_dir / "inventory.yml"), "reboot.yml"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    done.set()
    watcher.join()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    assert result["rebooted"] is True and result["changed"] is True and not result.get("failed"), result
    assert sim.ctl("state", host)["boot_id"] > boot_before
    assert seen["rebooting"] > 0 and seen["refused"] > 0, seen  # WinRM refused connections meanwhile
    assert took >= 2 + 2  # shutdown /t 2, then the downtime
    kinds = sim.counters(host)["command_kinds"]
    assert kinds["ansible:win_reboot shutdown /r"] == 1 and kinds["ansible:win_reboot test"] >= 1
    assert kinds["ansible:win_reboot boot time"] >= 2 and "unknown" not in kinds, kinds

    # check mode: win_reboot reports a reboot and sends nothing
    sim.ctl("counters", "--reset")
    check = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(sim.state_dir / "inventory.yml"), "reboot.yml",
                            "--check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and sim.counters(host)["commands"] == 0


def test_reboot_commands_one_by_one(sim, monkeypatch):
    host = sim.hosts[1]
    conn = WinRMConnection(sim, host)
    state = sim.ctl("state", host)
    assert _reboot._get_system_boot_time("t", conn, _reboot._DEFAULT_BOOT_TIME_COMMAND) == str(state["boot_id"])
    script = reboot_script(conn, monkeypatch, pre_reboot_delay=5)
    test = "Get-Item -LiteralPath '%s' -ErrorAction Stop; 'success-0b8c3a51-7e7d-4b0e-9f39-2b6c0a1d5e11'" % _reboot._LOGON_UI_KEY
    assert run(conn, test)[0] == 0 and "success-0b8c3a51" in run(conn, test)[1]

    assert json.loads(run(conn, script)[1]) == {"stdout": "", "stderr": "", "rc": 0}
    # a second shutdown while the first one waits: shutdown.exe's 1190, which win_reboot aborts and retries
    pending = json.loads(run(conn, script)[1])
    assert pending["rc"] == 1190 and "(1190)" in pending["stderr"]
    rc, _, stderr = run(conn, r"C:\Windows\System32\shutdown.exe /a")
    assert (rc, stderr) == (0, "")
    rc, _, stderr = run(conn, r"C:\Windows\System32\shutdown.exe /a")
    assert rc == 1116 and "no shutdown was in progress" in stderr
    time.sleep(6)  # past the aborted shutdown's 5 s: no reboot happened
    assert sim.counters(host)["status"] == "up" and sim.ctl("state", host)["boot_id"] == state["boot_id"]
    # the script removed AutoLogonChecked: the post-reboot test fails until LogonUI creates it at the next boot
    rc, _, stderr = run(conn, test)
    assert rc == 1 and "Cannot find path" in stderr and "AutoLogonChecked" in stderr
    sim.ctl("reboot", host, "--downtime", "0.2")
    deadline = time.monotonic() + 30
    while sim.counters(host)["status"] != "up":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert run(conn, test)[0] == 0

    # anything else fails as PowerShell fails
    rc, _, stderr = run(conn, "(Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime")
    assert rc == 1 and "is not recognized" in stderr


_RC = "; If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE } Else { exit 1 } }"
_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"
_HEAD = "$ErrorActionPreference = 'Continue'\n\nif ($True) {\n    Remove-Item -LiteralPath '%s' -Force -ErrorAction SilentlyContinue\n}\n\n$stdout = $null\n" % _KEY
_TAIL = ('ConvertTo-Json -Compress -InputObject @{\n    stdout = (@($stdout) -join "`n")\n    stderr = (@($stderr) -join "`n")\n'
         "    rc = %s\n}\n" + _RC)  # _execute_command appends _RC to the template's last line break


def _encode_script_217(command):
    """The script ansible.windows 2.x sends: the command through the shell plugin's _encode_script (its wrapper, the
    rc line on a line of its own, is the same in ansible-core 2.17 and in this venv's core), decoded."""
    from ansible.plugins.loader import shell_loader

    encoded = shell_loader.get("powershell")._encode_script(command, as_list=True)[-1]
    return base64.b64decode(encoded).decode("utf-16-le")


@pytest.mark.parametrize("version, text", [
    ("2.5.0", _encode_script_217(
        _HEAD + "$stderr = . { shutdown.exe /r /t 2 /c 'Reboot initiated by Ansible' | Set-Variable stdout } 2>&1 | "
        "ForEach-Object ToString\n\n" + (_TAIL % "$LASTEXITCODE").removesuffix(_RC))),
    ("3.3.0", _HEAD + r"$stderr = . { C:\Windows\System32\shutdown.exe /r /t 2 /c 'Reboot initiated by Ansible' | "
              "Set-Variable stdout } 2>&1 | ForEach-Object ToString\n\n" + _TAIL % "$LASTEXITCODE"),
    ("3.8.0", _HEAD + r"$stderr = . { C:\Windows\System32\shutdown.exe /r /t 2 /c 'Reboot initiated by Ansible' | "
              "Set-Variable stdout } 2>&1 | ForEach-Object ToString\n\nIf (Get-Variable LASTEXITCODE -ErrorAction "
              "SilentlyContinue) {\n    $rc = $LASTEXITCODE\n} Else {\n    $rc=1\n}\n\n" + _TAIL % "$rc"),
])
def test_the_shutdown_command_of_each_ansible_windows_the_lanes_use_is_answered(version, text):
    from ecs_windows_sim import ansible_ops

    script = ansible_ops.recognise(text)
    assert script is not None and script.name == "win_reboot shutdown /r", version


@pytest.mark.parametrize("command, name", [
    ("(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()",
     "win_reboot boot time"),
    ("shutdown.exe /a", "win_reboot shutdown /a"),
    ("Get-Item -LiteralPath '%s' -ErrorAction Stop; 'success-0a1b2c3d-0000-4000-8000-0123456789ab'" % _KEY,
     "win_reboot test"),
])
def test_the_short_commands_are_answered_with_the_rc_line_of_2x_and_of_3x(command, name):
    from ecs_windows_sim import ansible_ops

    assert ansible_ops.recognise(_encode_script_217(command)).name == name  # 2.5.0 on ansible-core 2.17
    assert ansible_ops.recognise(command + _RC).name == name  # 3.x: _execute_command appends it
    assert ansible_ops.recognise(command + "; exit 1") is None
