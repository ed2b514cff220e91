"""`ctl reboot`: WinRM refuses TCP connections for the downtime, shells are gone, the host boots anew."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from winrm.exceptions import WSManFaultError

from sim_scripts import LOADER_COMMAND, pack, probe_args


def connect(port: int) -> None:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()


def boot_id(protocol) -> int:
    shell = protocol.open_shell()
    executable, arguments = LOADER_COMMAND.split(" ", 1)
    command = protocol.run_command(shell, executable, arguments.split(" "), console_mode_stdin=False)
    protocol.send_command_input(shell, command, pack([("probe", probe_args("none"))]), end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    assert rc == 0, stderr
    protocol.close_shell(shell)
    return json.loads(stdout)["results"][0]["result"]["host"]["boot_id"]


def wait_listening(port: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(port)
            return time.monotonic()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_reboot_refuses_connections_then_boots_anew(sim_factory):
    sim = sim_factory(hosts=2, scheme="http", auth="ntlm")
    port = sim.port("ecs-sim-001")
    protocol = sim.protocol("ecs-sim-001")
    first_boot = boot_id(protocol)
    shell = protocol.open_shell()

    start = time.monotonic()
    result = sim.ctl("reboot", "ecs-sim-001", "--downtime", "2")
    assert result == {"host": "ecs-sim-001", "status": "rebooting", "downtime": 2.0}
    assert time.monotonic() - start < 1.5  # returns at once
    with pytest.raises(ConnectionRefusedError):
        connect(port)
    with pytest.raises(requests.exceptions.ConnectionError):  # the open keep-alive connection was dropped too
        protocol.run_command(shell, "hostname")
    assert sim.counters("ecs-sim-001")["status"] == "rebooting"
    assert sim.ctl_run("reboot", "ecs-sim-001").stderr.strip().endswith("host ecs-sim-001 is already rebooting")
    connect(sim.port("ecs-sim-002"))  # other hosts keep serving

    back = wait_listening(port, timeout=10)
    assert back - start >= 1.9
    assert sim.counters("ecs-sim-001")["status"] == "up"
    fresh = sim.protocol("ecs-sim-001")
    with pytest.raises(WSManFaultError) as fault:  # shells did not survive the reboot
        fresh.run_command(shell, "hostname")
    assert fault.value.fault_subcode == "w:InvalidSelectors"
    assert boot_id(fresh) > first_boot
    assert sim.ctl("state", "ecs-sim-001")["boot_id"] > first_boot


def test_reboot_default_downtime_and_unknown_host(sim_factory):
    sim = sim_factory()
    done = sim.ctl_run("reboot", "nope")
    assert done.returncode == 1 and "unknown host 'nope'" in done.stderr
    start = time.monotonic()
    sim.ctl("reboot", sim.hosts[0])
    back = wait_listening(sim.port(), timeout=15)
    assert 2.9 <= back - start < 6
