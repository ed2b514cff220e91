# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remote op runner against a stand-in connection (the simulator tests cover the real wire)."""

from __future__ import annotations

import pytest
import requests
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.utils.display import Display
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError

import probe_data as pd
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _runner, _script

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract

PROBE = ("probe", _contract.example("probe"))
INIT = ("init_agent", _contract.example("init_agent"))
SERVICE = ("service", _contract.example("service"))


def ok(*results):
    return 0, pd.response(results), b""


def runner(connection, **kwargs):
    sleeps = []
    kwargs.setdefault("sleep", sleeps.append)
    run = _runner.OpRunner(connection, "win-1", "ecs_windows.task_iam.test", **kwargs)
    run.sleeps = sleeps
    return run


def test_one_round_trip_with_the_contract_command():
    conn = pd.FakeConnection(queue=[ok(("probe", {"x": 1}))])
    run = runner(conn)
    assert run.run([PROBE]) == [{"x": 1}]
    assert run.commands == 1
    (sent,) = conn.commands
    assert sent["cmd"] == _script.LOADER_COMMAND
    assert sent["sudoable"] is False
    assert sent["in_data"] == _script.pack([PROBE])
    assert pd.decode_batch(sent["in_data"]) == {"contract": 2, "lock": None, "store": False, "ops": [{"op": "probe", "args": PROBE[1]}]}


def test_a_mutating_batch_holds_the_host_lock():
    conn = pd.FakeConnection(queue=[ok(("service", {"changed": True}))])
    runner(conn, lock_wait_s=20).run([SERVICE])
    assert pd.decode_batch(conn.commands[0]["in_data"])["lock"] == {"wait_s": 20, "holder": "Ansible task ecs_windows.task_iam.test"}


def test_the_library_is_sent_once_and_then_only_batches():
    # docs/dev/op-contract.md "The library": the host says whether it has it; a host without it gets it with the next
    # batch that may store (not in check mode), then commands carry only their batch.
    absent = (0, pd.response([("probe", {})]).replace(b'"present"', b'"absent"'), b"")
    stored = (0, pd.response([("service", {"changed": True})]).replace(b'"present"', b'"stored"'), b"")
    conn = pd.FakeConnection(queue=[absent, stored, ok(("probe", {}))])
    run = runner(conn, store=True)
    run.run([PROBE])
    run.run([SERVICE])
    run.run([PROBE])
    code = [line.split(b"\n")[2] for line in (c["in_data"] for c in conn.commands)]
    library = [line.split(b"\n")[3] for line in (c["in_data"] for c in conn.commands)]
    assert [bool(c) for c in code] == [True, True, False] and [bool(lib) for lib in library] == [False, True, False]


def test_a_cache_miss_is_answered_by_sending_the_code():
    miss = (0, b'{"contract":2,"cache":"miss","results":[],"error":null}', b"")
    conn = pd.FakeConnection(queue=[miss, ok(("probe", {"x": 1}))])
    run = runner(conn, optimistic=True)
    assert run.run([PROBE]) == [{"x": 1}] and run.commands == 2
    assert [bool(c["in_data"].split(b"\n")[2]) for c in conn.commands] == [False, True]


def test_results_of_several_ops_in_order():
    calls = [SERVICE, PROBE]
    conn = pd.FakeConnection(queue=[ok(("service", {"changed": True}), ("probe", {"p": 1}))])
    assert runner(conn).run(calls) == [{"changed": True}, {"p": 1}]


def test_op_error_names_op_category_message_and_host():
    calls = [SERVICE, PROBE]
    error = {"op": "probe", "index": 1, "category": "host_state", "message": "Get-NetIPAddress : access denied"}
    conn = pd.FakeConnection(queue=[(0, pd.response([("service", {"changed": True})], error), b"")])
    with pytest.raises(_runner.RemoteOpError) as exc:
        runner(conn).run(calls)
    assert str(exc.value) == "op probe failed on win-1 (host_state): Get-NetIPAddress : access denied"
    assert exc.value.result == {"op": "probe", "category": "host_state", "op_message": "Get-NetIPAddress : access denied",
                                "op_results": [{"changed": True}], "cache": "present"}


def test_script_failure_quotes_powershell_error_from_clixml():
    stderr = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              b'<S S="Error">Invoke-EcsOpProbe : A parameter cannot be found that matches parameter name &apos;x&apos;._x000D__x000A_</S>'
              b'<S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>')
    conn = pd.FakeConnection(queue=[(1, b"", stderr)])
    with pytest.raises(_runner.RemoteScriptError) as exc:
        runner(conn).run([PROBE])
    message = str(exc.value)
    assert message.startswith("the remote script failed on win-1 (rc 1): Invoke-EcsOpProbe : A parameter cannot be found")
    assert "'x'." in message and "_x000D_" not in message and "CLIXML" not in message


def test_plain_stderr_is_quoted_as_is():
    conn = pd.FakeConnection(queue=[(1, b"", b"The term 'Invoke-EcsBatch' is not recognized")])
    with pytest.raises(_runner.RemoteScriptError, match="rc 1\\): The term 'Invoke-EcsBatch' is not recognized"):
        runner(conn).run([PROBE])


@pytest.mark.parametrize("stdout, expected", [
    (b"WARNING: something\r\n{}", "did not return a JSON document (stdout starts 'WARNING: something"),
    (b"", "did not return a JSON document"),
    (b'{"contract": 1, "results": [], "error": null}', "answered outside op contract 2"),
    (b'[1, 2]', "answered outside op contract 2"),
    (pd.response([("service", {})]), "returned results for ops ['service'], expected ['probe']"),
    (pd.response([]), "returned 0 results for 1 ops"),
])
def test_malformed_answers_are_script_failures(stdout, expected):
    conn = pd.FakeConnection(queue=[(0, stdout, b"")])
    with pytest.raises(_runner.RemoteScriptError, match="on win-1") as exc:
        runner(conn).run([PROBE])
    assert expected in str(exc.value)


@pytest.mark.parametrize("failure", [
    AnsibleConnectionFailure("winrm connection error: HTTPConnectionPool: Read timed out."),
    requests.exceptions.ConnectionError("Connection refused"),
    WinRMTransportError("http", 500, "Bad HTTP response returned from server. Code 500"),
    ConnectionResetError(104, "Connection reset by peer"),
    AnsibleError("the connection attempt timed out"),
])
def test_safe_batch_is_retried_after_close_and_reset(failure):
    conn = pd.FakeConnection(queue=[failure, ok(("probe", {"p": 2}))])
    run = runner(conn)
    assert run.run([PROBE]) == [{"p": 2}]
    assert conn.events == ["exec", "close", "reset", "exec"]
    assert run.commands == 2
    assert len(run.sleeps) == 1 and 1.0 <= run.sleeps[0] < 2.0


def test_retries_stop_after_the_attempt_limit_with_capped_backoff():
    conn = pd.FakeConnection(queue=[AnsibleConnectionFailure("refused %d" % i) for i in range(6)])
    run = runner(conn, attempts=6, backoff_cap=5.0)
    with pytest.raises(_runner.RemoteUnreachable) as exc:
        run.run([PROBE])
    assert str(exc.value) == "connection to win-1 failed 6 times running probe; last error AnsibleConnectionFailure: refused 5"
    assert run.commands == 6 and conn.events.count("exec") == 6
    assert [int(s) for s in run.sleeps] == [1, 2, 4, 5, 5]
    assert all(0 <= s - int(s) < 1 for s in run.sleeps)


@pytest.mark.parametrize("failure", [
    AnsibleConnectionFailure("ntlm: the specified credentials were rejected by the server"),
    AnsibleConnectionFailure("Kerberos auth failure for principal ops@EXAMPLE.COM: kinit: Password incorrect"),
    AnsibleConnectionFailure("failed to authenticate with the server: Bad HTTP response returned from the server. Code: 401"),
    AnsibleConnectionFailure("Failed to connect to the host via ssh: ops@win-1: Permission denied (publickey,password)."),
    InvalidCredentialsError("the specified credentials were rejected by the server"),
])
def test_rejected_credentials_are_not_retried(failure):
    conn = pd.FakeConnection(queue=[failure, ok(("probe", {}))])
    run = runner(conn)
    with pytest.raises(_runner.RemoteUnreachable) as exc:
        run.run([PROBE])
    assert "not retried" in str(exc.value) and "ansible_password" in str(exc.value)
    assert run.commands == 1 and conn.events == ["exec"] and run.sleeps == []


def test_unsafe_batch_is_never_sent_twice():
    conn = pd.FakeConnection(queue=[requests.exceptions.ConnectionError("Connection aborted."), ok(("probe", {}))])
    run = runner(conn)
    with pytest.raises(_runner.RemoteUnreachable) as exc:
        run.run([INIT, PROBE])
    assert "the response was lost, so it is not known whether init_agent ran, and it is not sent again" in str(exc.value)
    assert exc.value.result == {"response_lost": True}
    assert run.commands == 1 and conn.events == ["exec"] and run.sleeps == []


def test_a_failing_reset_does_not_stop_the_retries():
    class ResetFails(pd.FakeConnection):
        def reset(self):
            super().reset()
            raise AnsibleConnectionFailure("still booting")

    conn = ResetFails(queue=[AnsibleConnectionFailure("gone"), ok(("probe", {}))])
    assert runner(conn).run([PROBE]) == [{}]
    assert conn.events == ["exec", "close", "reset", "exec"]


def test_other_exceptions_are_not_swallowed():
    conn = pd.FakeConnection(queue=[ValueError("bug in a connection plugin")])
    with pytest.raises(ValueError, match="bug in a connection plugin"):
        runner(conn).run([PROBE])
    assert conn.events == ["exec"]


def test_unknown_op_fails_before_sending():
    conn = pd.FakeConnection(queue=[])
    with pytest.raises(KeyError, match="unknown remote op 'format_disk'"):
        runner(conn).run([("format_disk", {})])
    assert conn.commands == []


def test_backoff_delay():
    assert [_runner.backoff_delay(n, rand=lambda: 0.5) for n in (1, 2, 3, 4, 5, 6)] == [1.5, 2.5, 4.5, 8.5, 12.5, 12.5]


def test_logs_sizes_and_steps_but_never_the_batch(capsys, monkeypatch):
    secret = "p@ss-w0rd-in-a-proxy-url"
    calls = [("set_machine_env", {"set": {"HTTP_PROXY": "http://u:%s@proxy:3128" % secret}, "remove": []})]
    monkeypatch.setattr(Display(), "verbosity", 5)
    conn = pd.FakeConnection(queue=[ok(("set_machine_env", {"changed": ["HTTP_PROXY"]}))])
    runner(conn).run(calls)
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "running ops set_machine_env" in logged
    assert "sent %d bytes on stdin, rc 0" % len(conn.commands[0]["in_data"]) in logged
    assert secret not in logged
    assert conn.commands[0]["in_data"].splitlines()[4][:40].decode() not in logged


def test_a_long_command_prints_a_progress_line(monkeypatch):
    monkeypatch.setattr(_runner, "PROGRESS_EVERY_S", 0.05)
    lines = []

    class Slow(pd.FakeConnection):
        def exec_command(self, cmd, in_data=None, sudoable=True):
            import time
            time.sleep(0.3)
            return super().exec_command(cmd, in_data, sudoable)

    runner(Slow(queue=[ok(("probe", {}))]), progress=lines.append).run([PROBE])
    assert len(lines) >= 3 and lines[0].startswith("still running probe on the host: ")
