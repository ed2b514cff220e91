"""Faults on demand (`ctl fault`), each observed on the wire by pywinrm."""

from __future__ import annotations

import time

import pytest
import requests
from winrm.exceptions import WinRMOperationTimeoutError, WSManFaultError


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=2, scheme="https", auth="basic")


def served(sim, kind, host="ecs-sim-001"):
    return sim.counters(host)["faults_served"][kind]


def test_winrm_500_on_the_next_n_requests(sim):
    protocol = sim.protocol()
    sim.ctl("fault", "ecs-sim-001", "winrm-500", "--count", "2")
    for _ in range(2):
        with pytest.raises(WSManFaultError) as fault:
            protocol.open_shell()
        assert fault.value.code == 500 and fault.value.fault_subcode == "w:InternalError"
    shell = protocol.open_shell()  # the third request is served again
    protocol.close_shell(shell)
    assert served(sim, "winrm-500") == 2
    assert served(sim, "winrm-500", "ecs-sim-002") == 0  # other hosts are not affected


def test_winrm_500_after_n_commands_strikes_the_next_command(sim):
    protocol = sim.protocol()
    before = served(sim, "winrm-500")
    sim.ctl("fault", "ecs-sim-001", "winrm-500", "--after-commands", "1")
    shell = protocol.open_shell()  # not a command: served
    first = protocol.run_command(shell, "hostname")  # the first command goes through, with its output
    protocol.get_command_output(shell, first)
    protocol.cleanup_command(shell, first)
    with pytest.raises(WSManFaultError) as fault:
        protocol.run_command(shell, "hostname")
    assert fault.value.code == 500
    again = protocol.run_command(shell, "hostname")  # one fault only
    protocol.cleanup_command(shell, again)
    protocol.close_shell(shell)
    assert served(sim, "winrm-500") == before + 1
    with pytest.raises(Exception) as refused:
        sim.ctl("fault", "ecs-sim-001", "timeout", "--after-commands", "1")
    assert "applies only to winrm-500" in str(refused.value)


def test_timeout_storm_on_the_next_n_receives(sim):
    protocol = sim.protocol()
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "hostname")
    sim.ctl("fault", "ecs-sim-001", "timeout", "--count", "3")
    for _ in range(3):
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell, command)
    stdout, stderr, rc = protocol.get_command_output_raw(shell, command)[:3]
    assert rc == 1 and b"is not recognized" in stderr
    assert served(sim, "timeout") == 3
    # pywinrm's own loop retries TimedOut silently: a storm only slows a command down.
    sim.ctl("fault", "ecs-sim-001", "timeout", "--count", "2")
    result = sim.session().run_cmd("hostname")
    assert result.status_code == 1 and served(sim, "timeout") == 5
    protocol.close_shell(shell)


def test_drop_closes_the_connection_mid_receive(sim):
    protocol = sim.protocol()
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "hostname")
    sim.ctl("fault", "ecs-sim-001", "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.get_command_output_raw(shell, command)
    # The command kept its output; a retry on a new connection gets it.
    _stdout, stderr, rc, done = protocol.get_command_output_raw(shell, command)
    assert done and rc == 1 and b"'hostname' is not recognized" in stderr
    assert served(sim, "drop") == 1
    protocol.close_shell(shell)


def test_latency_is_added_per_request(sim):
    protocol = sim.protocol()
    shell = protocol.open_shell()
    sim.ctl("fault", "ecs-sim-001", "latency", "--ms", "400", "--count", "2")
    for _ in range(2):
        start = time.monotonic()
        command = protocol.run_command(shell, "hostname")
        assert time.monotonic() - start >= 0.4
    start = time.monotonic()
    protocol.run_command(shell, "hostname")
    assert time.monotonic() - start < 0.4
    # Without --count it stays until cleared with --ms 0.
    sim.ctl("fault", "ecs-sim-001", "latency", "--ms", "300")
    for _ in range(3):
        start = time.monotonic()
        protocol.get_command_output_raw(shell, command)
        assert time.monotonic() - start >= 0.3
    assert sim.ctl("fault", "ecs-sim-001", "latency", "--ms", "0")["pending"].get("latency") is None
    start = time.monotonic()
    protocol.close_shell(shell)
    assert time.monotonic() - start < 0.3
    assert served(sim, "latency") == 5


def test_host_fault_is_forwarded_to_the_host_model(sim):
    result = sim.ctl("fault", "ecs-sim-002", "init-adapter-not-found", "--count", "2")
    assert result["pending"]["init-adapter-not-found"] == 2
    assert sim.ctl("state", "ecs-sim-002")["pending_faults"]["init-adapter-not-found"] == 2


@pytest.mark.parametrize("args, message", [
    (["fault", "ecs-sim-001", "meteor"], "unknown fault kind 'meteor' (known: winrm-500, timeout, drop, latency, docker-hang, "
                                      "init-adapter-not-found, init-hang)"),
    (["fault", "ecs-sim-001", "latency"], "fault latency needs --ms MS"),
    (["fault", "ecs-sim-001", "drop", "--ms", "5"], "--ms applies only to the latency fault"),
    (["fault", "ecs-sim-009", "drop"], "unknown host 'ecs-sim-009' (this simulator serves: ecs-sim-001, ecs-sim-002)"),
])
def test_bad_fault_requests_fail_clearly(sim, args, message):
    done = sim.ctl_run(*args)
    assert done.returncode == 1 and message in done.stderr
