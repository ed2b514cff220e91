# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the one script a round trip sends (docs/dev/op-contract.md "One round trip").

A script is: the marker line, the $Ecs... values its code reads (from contract.json and _host), the prelude
blocks its ops use (found by following references from the op files), the op files, the batch. Its code travels
deflated and base64-encoded on stdin, or not at all when the host has the library (every op) cached: the loader
(powershell/loader.ps1) verifies the cached library by its sha256 before it runs it.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _host
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._pwsh_quote import quote_pwsh

CONTRACT = _contract.CONTRACT
CONTRACT_VERSION = _contract.VERSION


def _read(name: str) -> str:
    with open(os.path.join(_contract.PS_DIR, name), encoding="ascii") as handle:
        return handle.read().replace("\r\n", "\n").rstrip("\n")


# Fixed command line: `-EncodedCommand` carries only the loader; the script travels on stdin.
LOADER_COMMAND = (
    "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
    + base64.b64encode(_read("loader.ps1").encode("utf-16-le")).decode("ascii")
)


def compact(text: str) -> str:
    """PowerShell text without comment-only lines, blank lines and indentation (here-string bodies kept verbatim).
    The ops have no block comments or backtick line continuations (tests/unit/test_script.py proves the tokens
    stay the same)."""
    out, here_end = [], None
    for line in text.split("\n"):
        if here_end:
            out.append(line)
            if line.startswith(here_end):
                here_end = None
            continue
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append(line)
        if line.endswith(("@'", '@"')):
            here_end = line[-1] + "@"
    return "\n".join(out)


def blocks(text: str) -> dict[str, str]:
    """Top-level blocks of a .ps1 file by the name they define: `function Name {...}` up to its closing `}` at the
    start of a line, `$Name = @'...'@`, or a one-line `$Name = ...`; comment lines go with the block after them."""
    comments: list[str]
    found, lines, index, comments = {}, text.split("\n"), 0, []
    while index < len(lines):
        line = lines[index]
        if line.startswith("function "):
            end = lines.index("}", index)
            found[line.split()[1]] = "\n".join(comments + lines[index : end + 1])
        elif re.match(r"\$\w+\s*=\s*@'$", line):
            end = lines.index("'@", index)
            found[line.split()[0][1:]] = "\n".join(comments + lines[index : end + 1])
        elif re.match(r"\$\w+\s*=", line):
            found[line.split()[0][1:]] = "\n".join(comments + [line])
            end = index
        else:
            if line.startswith("#"):
                comments.append(line)
            elif line.strip():
                raise ValueError("unexpected top-level line %d in a .ps1 file: %r" % (index + 1, line))
            index += 1
            continue
        comments = []
        index = end + 1
    return found


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "@(%s)" % ", ".join(_value(item) for item in value)
    return quote_pwsh(value)


@functools.lru_cache(maxsize=None)
def _definitions() -> tuple[dict[str, str], "re.Pattern[str]"]:
    """name -> PowerShell text of everything a script may need besides the op files, and a pattern that finds
    references to those names."""
    values = dict(
        _host.POWERSHELL, EcsContractVersion=CONTRACT_VERSION, EcsErrorCategories=list(_contract.ERROR_CATEGORIES)
    )
    definitions = {name: "$%s = %s" % (name, _value(value)) for name, value in values.items()}
    for name, text in blocks(_read("prelude.ps1")).items():
        if name in definitions:
            raise ValueError("prelude.ps1 defines $%s, which the builder writes from _host.py or contract.json" % name)
        definitions[name] = compact(text)
    names = "|".join(sorted(map(re.escape, definitions), key=len, reverse=True))
    return definitions, re.compile(r"(?<![\w$-])\$?(%s)(?![\w-])" % names, re.IGNORECASE)


def _uses(text: str) -> set[str]:
    definitions, pattern = _definitions()
    canonical = {name.lower(): name for name in definitions}
    return {canonical[match.group(1).lower()] for match in pattern.finditer(text)}


# Definitions Invoke-EcsBatch calls only when the batch asks for them: the host lock (a batch with `lock`) and keeping
# the library (a batch that carries it); a batch without those leaves them out.
LOCK_DEFINITIONS = frozenset(("Enter-EcsHostLock", "Exit-EcsHostLock"))
STORE_DEFINITIONS = frozenset(("Save-EcsLibrary",))


def needed(texts: Iterable[str], skip: frozenset[str] = frozenset()) -> list[str]:
    """The definitions the given PowerShell texts use, directly or through each other, in prelude order; names in
    `skip` are not followed."""
    definitions, _pattern = _definitions()
    wanted, queue = set(), set()
    for text in texts:
        queue |= _uses(text)
    while queue:
        name = queue.pop()
        if name not in wanted and name not in skip:
            wanted.add(name)
            queue |= _uses(definitions[name]) - wanted
    return [name for name in definitions if name in wanted]


def op_names(calls: Iterable[tuple[str, Any]]) -> list[str]:
    """The ops a batch needs defined: its own and those they use, sorted."""
    names = set()
    for op, _args in calls:
        names.add(op)
        names.update(_contract.op_spec(op)["uses"])
    return sorted(names)


def _batch_text(calls: Sequence[tuple[str, dict | None]], lock: dict | None, store: bool) -> str:
    batch = {
        "contract": CONTRACT_VERSION,
        "lock": lock,
        "store": store,
        "ops": [{"op": op, "args": args} for op, args in calls],
    }
    return base64.b64encode(json.dumps(batch, separators=(",", ":"), sort_keys=True).encode("utf-8")).decode("ascii")


def code(calls: Sequence[tuple[str, dict | None]], lock: bool = False, saves: bool = False) -> str:
    """The code a batch runs: marker, the definitions its ops use (with the host lock when it takes it, and what keeps
    the library when it carries it), the op files, the call of Invoke-EcsBatch (which reads the batch from $EcsBatch)."""
    return _code(tuple(op_names(calls)), lock, saves)


@functools.lru_cache(maxsize=None)
def _code(names: tuple[str, ...], lock: bool, saves: bool) -> str:
    ops = [compact(_read(name + ".ps1")) for name in names]
    definitions, _pattern = _definitions()
    skip = (frozenset() if lock else LOCK_DEFINITIONS) | (frozenset() if saves else STORE_DEFINITIONS)
    parts = ["%s %s" % (CONTRACT["marker_prefix"], ",".join(names))]
    parts += [definitions[name] for name in needed(ops + ["Invoke-EcsBatch"], skip)]
    parts += ops
    parts.append(INVOKE)
    return "\n".join(parts) + "\n"


INVOKE = "Invoke-EcsBatch -EncodedBatch $EcsBatch"


@functools.lru_cache(maxsize=None)
def library() -> str:
    """Every op with everything they use: what a host keeps in its cache (docs/dev/op-contract.md "The library"), so
    that a command to a host that has it carries only the batch."""
    return code([(name, None) for name in sorted(CONTRACT["ops"])], lock=True, saves=True)


@functools.lru_cache(maxsize=None)
def library_sha256() -> str:
    return hashlib.sha256(library().encode("utf-8")).hexdigest()


def build_script(calls: Sequence[tuple[str, dict | None]], lock: dict | None = None, store: bool = False) -> str:
    """One script text for a batch of (op, args) calls (what the boot task runs as a file): its code with the
    batch assigned to $EcsBatch; `lock` ({wait_s, holder}) makes the batch hold the host lock. It defines every
    function it names, Save-EcsLibrary too, which a file run without the bootstrap never calls: a script on disk
    must not depend on what the bootstrap would have set (tests/unit/test_ps51_catalog.py checks it on its own)."""
    text = code(calls, lock=lock is not None, saves=True)
    batch_line = "$EcsBatch = '%s'\n" % _batch_text(calls, lock, store)
    return text[: -len(INVOKE) - 1] + batch_line + INVOKE + "\n"


def _deflate(text: str) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(text.encode("utf-8")) + packer.flush()).decode("ascii")


@functools.lru_cache(maxsize=None)
def bootstrap() -> str:
    """The first code the loader runs (powershell/bootstrap.ps1 with the values it reads)."""
    text = compact(_read("bootstrap.ps1"))
    definitions, _pattern = _definitions()
    return "\n".join([definitions[name] for name in needed([text])] + [text]) + "\n"


def pack(
    calls: Sequence[tuple[str, dict | None]],
    lock: dict | None = None,
    store: bool = False,
    send_code: bool = True,
    send_library: bool = False,
) -> bytes:
    """What travels on stdin (loader.ps1 and bootstrap.ps1 read it): five lines - the bootstrap; the library's
    sha256; the batch's code (empty: run the library the host has cached); the library to cache (empty: none); the
    batch. Code travels deflated and base64-encoded."""
    lines = [
        _deflate(bootstrap()),
        library_sha256(),
        _deflate(code(calls, lock is not None, send_library)) if send_code else "",
        _deflate(library()) if send_library else "",
        _batch_text(calls, lock, store),
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


# Built when the module is imported: Ansible's strategies import an action plugin in the controller's main process
# (to read its class) before they fork a worker per host, so every worker inherits these instead of building them
# again (building them was two thirds of an instance_info task's own CPU time per host, docs/benchmarks.md).
bootstrap()
library_sha256()
code([("probe", None)])
code([("probe", None)], saves=True)  # the probe that follows a cache miss, with the library
