"""The WinRM endpoint through pywinrm over real HTTP(S): auth, encryption, the WinRS operations, faults
the protocol itself answers (InvalidSelectors, TimedOut), and how commands are dispatched."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from sim_scripts import LOADER_COMMAND, pack, probe_args

PROBE = [("probe", probe_args("none"))]


@pytest.fixture(scope="module")
def https_basic(module_sim_factory):
    return module_sim_factory(scheme="https", auth="basic")


@pytest.fixture(scope="module")
def http_ntlm(module_sim_factory):
    return module_sim_factory(scheme="http", auth="ntlm")


def run_loader(protocol, data: bytes, chunks: int = 1):
    """Our op-contract round trip by hand: loader command line, the packed lines on stdin (End on the last chunk)."""
    shell = protocol.open_shell(codepage=65001)
    executable, arguments = LOADER_COMMAND.split(" ", 1)
    command = protocol.run_command(shell, executable, arguments.split(" "), console_mode_stdin=False)
    size = -(-len(data) // chunks)
    for index in range(chunks):
        protocol.send_command_input(shell, command, data[index * size:(index + 1) * size], end=index == chunks - 1)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    return rc, stdout, stderr


def test_basic_over_https_runs_an_op_script(https_basic):
    rc, stdout, stderr = run_loader(https_basic.protocol(), pack(PROBE), chunks=3)
    assert (rc, stderr) == (0, b"")
    document = json.loads(stdout)
    assert document["error"] is None
    assert document["results"][0]["result"]["host"]["hostname"] == "ECS-SIM-001"


def test_ntlm_over_http_encrypts_every_message(http_ntlm):
    protocol = http_ntlm.protocol()
    before = http_ntlm.counters()
    rc, stdout, _ = run_loader(protocol, pack(PROBE))
    assert rc == 0 and json.loads(stdout)["error"] is None
    assert protocol.transport.encryption is not None  # pywinrm chose message encryption (http + ntlm)
    after = http_ntlm.counters()
    assert after["commands"] - before["commands"] == 1
    assert after["auth_failures"] == before["auth_failures"]
    # A plain SOAP body on a fresh connection carries no NTLM context: the listener asks to authenticate.
    plain = requests.post(http_ntlm.url(), data=b"<x/>", headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert plain.status_code == 401 and plain.headers["WWW-Authenticate"] == "Negotiate"


def test_session_run_ps_unknown_script_fails_like_powershell(http_ntlm):
    result = http_ntlm.session().run_ps("Get-Date")
    assert result.status_code == 1 and result.std_out == b""
    assert b"The term 'Get-Date' is not recognized as the name of a cmdlet" in result.std_err
    assert b"#< CLIXML" not in result.std_err  # pywinrm decoded the CLIXML error stream


def test_session_run_cmd_unknown_program_fails_like_cmd(https_basic):
    result = https_basic.session().run_cmd("ipconfig", ["/all"])
    assert result.status_code == 1
    assert result.std_err == b"'ipconfig' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"


@pytest.mark.parametrize("fixture", ["https_basic", "http_ntlm"])
def test_wrong_password_is_rejected(request, fixture):
    sim = request.getfixturevalue(fixture)
    before = sim.counters()["auth_failures"]
    with pytest.raises(InvalidCredentialsError):
        sim.session(password="wrong").run_cmd("hostname")
    assert sim.counters()["auth_failures"] > before


def test_unknown_shell_and_command_are_invalid_selectors(https_basic):
    protocol = https_basic.protocol()
    with pytest.raises(WSManFaultError) as shell_fault:
        protocol.run_command("00000000-0000-0000-0000-000000000000", "hostname")
    assert shell_fault.value.code == 500 and shell_fault.value.fault_subcode == "w:InvalidSelectors"
    assert shell_fault.value.wsman_fault_code == 2150858843
    shell = protocol.open_shell()
    with pytest.raises(WSManFaultError) as command_fault:
        protocol.get_command_output_raw(shell, "11111111-1111-1111-1111-111111111111")
    assert command_fault.value.fault_subcode == "w:InvalidSelectors"
    command = protocol.run_command(shell, "hostname")
    protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)  # asserts RelatesTo == its MessageID
    with pytest.raises(WSManFaultError):  # terminated commands are gone
        protocol.get_command_output_raw(shell, command)
    protocol.close_shell(shell)  # asserts RelatesTo too
    with pytest.raises(WSManFaultError):
        protocol.close_shell(shell)


def test_receive_times_out_while_stdin_is_pending(https_basic):
    protocol = https_basic.protocol(operation_timeout_sec=5, read_timeout_sec=10)
    shell = protocol.open_shell()
    executable, arguments = LOADER_COMMAND.split(" ", 1)
    command = protocol.run_command(shell, executable, arguments.split(" "), console_mode_stdin=False)
    before = https_basic.counters()["timeouts"]
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    assert https_basic.counters()["timeouts"] == before + 1
    protocol.send_command_input(shell, command, pack(PROBE), end=True)
    stdout, _stderr, rc = protocol.get_command_output(shell, command)
    assert rc == 0 and json.loads(stdout)["results"][0]["op"] == "probe"
    protocol.close_shell(shell)


def test_double_encoded_loader_is_decoded(https_basic):
    """ansible-core 2.17/2.18 wrap every exec_command line in one more -EncodedCommand."""
    outer = base64.b64encode(LOADER_COMMAND.encode("utf-16-le")).decode()
    protocol = https_basic.protocol()
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "PowerShell", ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Unrestricted",
                                                         "-EncodedCommand", outer], console_mode_stdin=False)
    protocol.send_command_input(shell, command, pack(PROBE), end=True)
    stdout, stderr, rc = protocol.get_command_output(shell, command)
    assert (rc, stderr) == (0, b"") and json.loads(stdout)["error"] is None
    protocol.close_shell(shell)


def test_single_command_form_of_ansible_2_21(https_basic):
    """ansible-core 2.21 sends the whole line in rsp:Command and no rsp:Arguments."""
    protocol = https_basic.protocol()
    shell = protocol.open_shell()
    command = protocol.run_command(shell, LOADER_COMMAND, console_mode_stdin=False)
    protocol.send_command_input(shell, command, pack(PROBE), end=True)
    stdout, _stderr, rc = protocol.get_command_output(shell, command)
    assert rc == 0 and json.loads(stdout)["error"] is None
    protocol.close_shell(shell)


def test_broken_op_script_fails_with_powershell_error(https_basic):
    rc, stdout, stderr = run_loader(https_basic.protocol(), b"Write-Output 'not an op script'\n")
    assert rc == 1 and stdout == b""
    assert stderr.startswith(b"#< CLIXML\r\n")
    assert b'Exception calling "FromBase64String" with "1" argument(s)' in stderr


def test_only_wsman_path_and_post(https_basic):
    assert requests.get(https_basic.url(), verify=False).status_code == 405
    other = https_basic.url().replace("/wsman", "/other")
    assert requests.post(other, data=b"x", verify=False, auth=("Administrator", https_basic.vars["ansible_password"])).status_code == 404


def test_bad_soap_is_http_400(https_basic):
    reply = requests.post(https_basic.url(), data=b"<not-soap/>", verify=False,
                          auth=("Administrator", https_basic.vars["ansible_password"]))
    assert reply.status_code == 400


def test_keep_alive_reuses_one_connection(https_basic):
    before = https_basic.counters()
    session = requests.Session()
    session.verify = False
    session.auth = ("Administrator", https_basic.vars["ansible_password"])
    for _ in range(3):
        assert session.post(https_basic.url(), data=b"<a/>", verify=False).status_code == 400
    after = https_basic.counters()
    assert after["http_requests"] - before["http_requests"] == 3
    assert after["connections"] - before["connections"] == 1
