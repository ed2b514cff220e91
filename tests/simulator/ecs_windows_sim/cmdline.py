"""Decode the WinRS command line (rsp:Command + rsp:Arguments) into what would run.

Forms seen on the wire (winrm-wire-protocol.md section 3):
- `PowerShell` + args `-NoProfile ... -EncodedCommand <b64>` (pywinrm, ansible-core 2.17-2.20);
- the whole line in rsp:Command and no rsp:Arguments (ansible-core 2.21), optionally with
  `-EncodedArguments <b64 CLIXML>`;
- double encoding (ansible-core 2.17/2.18 exec_command): the decoded script is itself such a line;
- `type <file> | PowerShell ... -EncodedCommand <b64>` (non-pipelined modules kept on disk).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import xml.etree.ElementTree as ET

_POWERSHELL = re.compile(r"^(?:.*[\\/])?powershell(?:\.exe)?$", re.IGNORECASE)
_ENCODED_COMMAND = {"-encodedcommand", "-enc", "-ec", "-e"}
_COMMAND = {"-command", "-c"}
_MAX_DEPTH = 4


@dataclasses.dataclass
class Decoded:
    """What a command line runs.

    program: the executable as given (first token), e.g. "PowerShell" or "ipconfig".
    script: the PowerShell script text (innermost after nested -EncodedCommand), or None when the
        line is not a PowerShell script invocation.
    args: positional arguments from -EncodedArguments.
    depth: how many -EncodedCommand layers were decoded (2 = ansible-core 2.17/2.18 double encoding).
    stdin_file: the file piped in by `type <file> | PowerShell ...`, else None.
    """

    program: str
    script: str | None
    args: list = dataclasses.field(default_factory=list)
    depth: int = 0
    stdin_file: str | None = None


class CommandLineError(ValueError):
    """The line names PowerShell but cannot be decoded (bad base64 / UTF-16)."""


def _tokens(line: str) -> list[str]:
    """Windows-style split on whitespace; double quotes group and are removed."""
    return [t.replace('"', "") for t in re.findall(r'(?:[^\s"]|"[^"]*")+', line)]


def _b64_utf16(value: str, what: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise CommandLineError("cannot decode %s: %s" % (what, exc)) from None


def _clixml_strings(text: str) -> list[str]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CommandLineError("cannot parse -EncodedArguments CLIXML: %s" % exc) from None
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "S"]


def _decode_powershell(tokens: list[str]) -> tuple[str | None, list[str]]:
    """Script and args of `powershell <options>`; None when it runs no script (e.g. -File)."""
    lowered = [t.lower() for t in tokens]
    for index, token in enumerate(lowered):
        if token in _ENCODED_COMMAND and index + 1 < len(tokens):
            script = _b64_utf16(tokens[index + 1], "-EncodedCommand")
            args = []
            if "-encodedarguments" in lowered:
                arg_index = lowered.index("-encodedarguments")
                if arg_index + 1 >= len(tokens):
                    raise CommandLineError("-EncodedArguments without a value")
                args = _clixml_strings(_b64_utf16(tokens[arg_index + 1], "-EncodedArguments"))
            return script, args
        if token in _COMMAND and index + 1 < len(tokens):
            return " ".join(tokens[index + 1:]), []
    return None, []


def decode(command: str, arguments: str = "") -> Decoded:
    line = (command + " " + arguments).strip() if arguments else command.strip()
    stdin_file = None
    match = re.match(r"^type\s+(.+?)\s*\|\s*(.+)$", line, re.IGNORECASE | re.DOTALL)
    if match:
        stdin_file = match.group(1).strip().strip('"')
        line = match.group(2)
    tokens = _tokens(line)
    if not tokens:
        return Decoded(program="", script=None, stdin_file=stdin_file)
    program = tokens[0]
    if not _POWERSHELL.match(program):
        return Decoded(program=program, script=None, stdin_file=stdin_file)
    script, args = _decode_powershell(tokens[1:])
    depth = 1 if script is not None else 0
    while script is not None and depth < _MAX_DEPTH:
        inner = script.strip()
        inner_tokens = _tokens(inner) if "\n" not in inner else []
        if not inner_tokens or not _POWERSHELL.match(inner_tokens[0]):
            break
        inner_script, inner_args = _decode_powershell(inner_tokens[1:])
        if inner_script is None:
            break
        script, args, depth = inner_script, inner_args or args, depth + 1
    return Decoded(program=program, script=script, args=args, depth=depth, stdin_file=stdin_file)
