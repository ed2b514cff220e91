"""What a decoded command line is, and running it against the host model.

- our loader (first line = the op contract's loader marker) -> Host.run_ops_script(stdin);
- one of Ansible's own scripts -> ansible_ops;
- anything else fails the way Windows fails: PowerShell scripts with rc 1 and a CLIXML error on stderr
  ("The term 'X' is not recognized ..."), other programs with cmd.exe's "is not recognized" message.
The simulator never pretends to run other PowerShell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import traceback
from typing import Callable

from ecs_windows_sim import ansible_ops, opscript
from ecs_windows_sim.clixml import error_clixml
from ecs_windows_sim.cmdline import CommandLineError, Decoded, decode

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Job:
    """A command ready to run once its stdin is complete (if it reads stdin)."""

    kind: str  # "ops", "ansible:<name>", "unknown", "cmd"
    reads_stdin: bool
    run: Callable  # (host, stdin: bytes, ctx: ansible_ops.Context) -> (rc, stdout, stderr)
    stdin_file: str | None = None
    depth: int = 0  # -EncodedCommand layers decoded (2 = ansible-core 2.17/2.18 double encoding)


def _term_not_recognized(script: str) -> bytes:
    first = ansible_ops._normalise(script).split("\n", 1)[0]
    quoted = re.match(r"""^[&.]?\s*(['"])(.*?)\1""", first)
    term = quoted.group(2) if quoted else (re.split(r"[\s;(|{]", first, maxsplit=1)[0] or first)
    message = (
        "%s : The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.\r\n"
        "At line:1 char:1\r\n+ %s\r\n+ %s\r\n"
        "    + CategoryInfo          : ObjectNotFound: (%s:String) [], CommandNotFoundException\r\n"
        "    + FullyQualifiedErrorId : CommandNotFoundException"
    ) % (term, term, first, "~" * max(1, len(term)), term)
    return error_clixml(message)


def _fixed(rc: int, stdout: bytes, stderr: bytes) -> Callable:
    return lambda host, stdin, ctx: (rc, stdout, stderr)


def _with_clixml(handler: Callable) -> Callable:
    def run(host, stdin, ctx):
        rc, stdout, error = handler(host, stdin, ctx)
        return rc, stdout, (error_clixml(error) if error else b"")
    return run


def _ops(host, stdin: bytes, ctx) -> tuple:
    # What loader.ps1 and bootstrap.ps1 do with stdin (opscript.unpack), then the code with its batch.
    try:
        transport = opscript.unpack(stdin)
    except opscript.ScriptRefused as exc:
        return opscript.refused(exc)
    return host.run_transport(transport)


def classify(command: str, arguments: str = "") -> Job:
    try:
        decoded: Decoded = decode(command, arguments)
    except CommandLineError as exc:
        return Job("unknown", False, _fixed(1, b"", error_clixml("Cannot process the command because of an invalid -EncodedCommand: %s" % exc)))
    if decoded.script is None:
        if decoded.program and not decoded.program.lower().startswith("powershell"):
            text = "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n" % decoded.program
            return Job("cmd", False, _fixed(1, b"", text.encode("utf-8")))
        return Job("unknown", False, _fixed(1, b"", error_clixml(
            "ecs-windows-sim runs only PowerShell given as -EncodedCommand or -Command (got: %s %s)" % (command, arguments))))
    first_line = ansible_ops._normalise(decoded.script).split("\n", 1)[0]
    if first_line == opscript.contract()["loader_marker"]:
        return Job("ops", True, _ops, decoded.stdin_file, decoded.depth)
    internal = ansible_ops.recognise(decoded.script)
    if internal is not None:
        return Job("ansible:" + internal.name, internal.reads_stdin, _with_clixml(internal.run), decoded.stdin_file, decoded.depth)
    if not first_line:
        return Job("unknown", False, _fixed(0, b"", b""), depth=decoded.depth)
    return Job("unknown", False, _fixed(1, b"", _term_not_recognized(decoded.script)), decoded.stdin_file, decoded.depth)


def run(job: Job, host, stdin: bytes, ctx: ansible_ops.Context) -> tuple:
    """(rc, stdout, stderr); the Host saves its own state after every change. Op scripts manage the host lock
    themselves (Host.run_ops_script: an op may take real time); every other command holds it throughout."""
    lock = contextlib.nullcontext() if job.kind == "ops" else host.lock
    with lock:
        try:
            if job.stdin_file is not None:
                data = host.read_file(job.stdin_file)
                if data is None:
                    return 1, b"", b"The system cannot find the file specified.\r\n"
                stdin = data
            return job.run(host, stdin, ctx)
        except Exception as exc:  # a simulator bug or a host model refusal: fail loudly, never silently
            log.error("command %s failed inside the simulator:\n%s", job.kind, traceback.format_exc())
            return 1, b"", error_clixml("ecs-windows-sim internal error while running %s: %s: %s" % (job.kind, type(exc).__name__, exc))
