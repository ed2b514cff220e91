"""WinRS shells and commands of one host: Create, Command, Send, Receive, Signal, Delete.

A command runs (against the host model, via dispatch) as soon as its stdin is complete: at once when it
reads no stdin, else when a Send carries End="true". Receive returns its output in envelope-sized parts;
while nothing is ready it waits a little and then answers the TimedOut fault, as Windows does after
OperationTimeout (the wait here is shorter than any client's OperationTimeout).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import threading

from ecs_windows_sim import ansible_ops, dispatch, wsman


@dataclasses.dataclass
class Command:
    id: str
    job: dispatch.Job
    waits_for_stdin: bool
    stdin: bytearray = dataclasses.field(default_factory=bytearray)
    stdin_done: bool = False
    started: bool = False
    rc: int | None = None  # set when finished
    stdout: bytes = b""
    stderr: bytes = b""
    sent_out: int = 0
    sent_err: int = 0


@dataclasses.dataclass
class Shell:
    id: str
    owner: str
    codepage: str
    commands: dict = dataclasses.field(default_factory=dict)


class WinRS:
    def __init__(self, host, counters, receive_wait: float = 1.0):
        self.host = host
        self.counters = counters
        self.receive_wait = receive_wait
        self._shells: dict[str, Shell] = {}
        self._cond = threading.Condition()

    # --- lifecycle ------------------------------------------------------------------------------

    def drop_all(self) -> None:
        """A reboot: every shell and command is gone."""
        with self._cond:
            self._shells.clear()
            self._cond.notify_all()

    def shell_count(self) -> int:
        with self._cond:
            return len(self._shells)

    # --- dispatch -------------------------------------------------------------------------------

    def handle(self, req: wsman.Request, session: dict) -> bytes:
        """The response body for one request; raises wsman.Fault. `session`: user, endpoint, client_ip."""
        if req.resource_uri and req.resource_uri != wsman.RESOURCE_CMD:
            raise wsman.action_not_supported("%s on resource %s" % (req.action, req.resource_uri))
        if req.action == wsman.ACTION_CREATE:
            return self._create(req, session)
        handlers = {
            wsman.ACTION_COMMAND: self._command,
            wsman.ACTION_SEND: self._send,
            wsman.ACTION_RECEIVE: self._receive,
            wsman.ACTION_SIGNAL: self._signal,
            wsman.ACTION_DELETE: self._delete,
        }
        if req.action not in handlers:
            raise wsman.action_not_supported(req.action)
        return handlers[req.action](req, session)

    def _shell(self, req) -> Shell:
        shell = self._shells.get((req.shell_id or "").upper())
        if shell is None:
            raise wsman.invalid_selectors()
        return shell

    def _command_of(self, shell: Shell, command_id: str | None) -> Command:
        command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise wsman.invalid_selectors()
        return command

    def _create(self, req, session) -> bytes:
        shell = Shell(id=wsman.new_id(), owner=session["user"], codepage=req.options.get("WINRS_CODEPAGE", "437"))
        with self._cond:
            self._shells[shell.id] = shell
        return wsman.create_response(req, session["endpoint"], shell.id, session["owner"], session["client_ip"])

    def _command(self, req, session) -> bytes:
        line = wsman.find(req.body, "rsp:CommandLine")
        if line is None:
            raise wsman.schema_error()
        rsp = "{%s}" % wsman.NS["rsp"]
        job = dispatch.classify(line.findtext(rsp + "Command") or "", line.findtext(rsp + "Arguments") or "")
        console_stdin = req.options.get("WINRS_CONSOLEMODE_STDIN", "TRUE").upper() == "TRUE"
        command = Command(id=wsman.new_id(), job=job, waits_for_stdin=job.reads_stdin or not console_stdin)
        with self._cond:
            self._shell(req).commands[command.id] = command
        self.counters.command(job.kind, job.depth)
        if not command.waits_for_stdin:
            self._run(command, session)
        return wsman.command_response(req, command.id)

    def _send(self, req, session) -> bytes:
        stream = wsman.find(req.body, "rsp:Send/rsp:Stream")
        if stream is None:
            raise wsman.schema_error()
        try:
            data = base64.b64decode((stream.text or "").strip(), validate=True)
        except (binascii.Error, ValueError):
            raise wsman.schema_error("The stdin stream is not valid base64. ") from None
        with self._cond:
            command = self._command_of(self._shell(req), stream.get("CommandId"))
            if not command.stdin_done:
                command.stdin += data
                command.stdin_done = stream.get("End", "").lower() == "true"
            ready = command.waits_for_stdin and command.stdin_done and not command.started
        if ready:
            self._run(command, session)
        return wsman.send_response(req)

    def _run(self, command: Command, session: dict) -> None:
        """Start the command in its own thread, as Windows runs it in its own process: the request that started it
        (Command or the last Send) is answered at once, and Receive waits for the output."""
        with self._cond:
            if command.started:
                return
            command.started = True
            stdin = bytes(command.stdin)

        def execute():
            rc, stdout, stderr = dispatch.run(command.job, self.host, stdin, ansible_ops.Context(user=session["user"]))
            with self._cond:
                command.stdout, command.stderr, command.rc = stdout, stderr, rc
                self._cond.notify_all()

        threading.Thread(target=execute, name="command-%s" % command.id, daemon=True).start()

    def _receive(self, req, session) -> bytes:
        desired = wsman.find(req.body, "rsp:Receive/rsp:DesiredStream")
        command_id = desired.get("CommandId") if desired is not None else None
        wait = self.receive_wait
        if req.operation_timeout:
            wait = min(wait, max(0.0, req.operation_timeout - 1.0))
        with self._cond:
            command = self._command_of(self._shell(req), command_id)
            if command.rc is None:
                self._cond.wait_for(lambda: command.rc is not None or command.id not in self._live_commands(), timeout=wait)
                command = self._command_of(self._shell(req), command_id)
            if command.rc is None:
                raise wsman.timed_out()
            out = command.stdout[command.sent_out:command.sent_out + wsman.MAX_STREAM_BYTES]
            room = wsman.MAX_STREAM_BYTES - len(out)
            err = command.stderr[command.sent_err:command.sent_err + room]
            command.sent_out += len(out)
            command.sent_err += len(err)
            finished = command.sent_out >= len(command.stdout) and command.sent_err >= len(command.stderr)
            return wsman.receive_response(req, command.id, out, err, command.rc if finished else None)

    def _live_commands(self) -> set:
        return {cid for shell in self._shells.values() for cid in shell.commands}

    def _signal(self, req, session) -> bytes:
        signal = wsman.find(req.body, "rsp:Signal")
        with self._cond:
            shell = self._shell(req)
            command = self._command_of(shell, signal.get("CommandId") if signal is not None else None)
            code = (signal.findtext("{%s}Code" % wsman.NS["rsp"]) or "").strip()
            if code == wsman.SIGNAL_TERMINATE:
                shell.commands.pop(command.id, None)
                self._cond.notify_all()
        return wsman.signal_response(req)

    def _delete(self, req, session) -> bytes:
        with self._cond:
            shell = self._shell(req)
            self._shells.pop(shell.id, None)
            self._cond.notify_all()
        return wsman.delete_response(req)
