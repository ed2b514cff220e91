# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the one script a round trip sends (see docs/dev/op-contract.md).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import base64
import json
import os

_PS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "powershell")


def _read(name):
    with open(os.path.join(_PS_DIR, name), encoding="ascii") as handle:
        return handle.read().replace("\r\n", "\n").rstrip("\n")


CONTRACT = json.loads(_read("contract.json"))
CONTRACT_VERSION = CONTRACT["contract"]

# Fixed command line: `-EncodedCommand` carries only the loader; the script travels on stdin.
LOADER_COMMAND = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand " + base64.b64encode(
    _read("loader.ps1").encode("utf-16-le")
).decode("ascii")


def compact(text):
    """PowerShell text without comment-only lines, blank lines and indentation (here-string bodies kept verbatim):
    about a third fewer bytes on every round trip. The ops have no block comments or backtick line continuations
    (tests/unit/test_script.py proves the tokens stay the same)."""
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


def op_spec(name):
    """The contract entry of op `name`; KeyError names the unknown op."""
    try:
        return CONTRACT["ops"][name]
    except KeyError:
        raise KeyError("unknown remote op %r (known: %s)" % (name, ", ".join(sorted(CONTRACT["ops"])))) from None


def batch_is_retry_safe(calls):
    return all(op_spec(op)["safe_to_retry"] for op, _args in calls)


def build_script(calls):
    """Script text for a batch of (op, args) calls: marker, prelude, op functions, base64 JSON batch."""
    names = set()
    for op, _args in calls:
        names.add(op)
        names.update(op_spec(op)["uses"])
    names = sorted(names)
    batch = {"contract": CONTRACT_VERSION, "ops": [{"op": op, "args": args} for op, args in calls]}
    encoded = base64.b64encode(json.dumps(batch, separators=(",", ":"), sort_keys=True).encode("utf-8")).decode("ascii")
    parts = ["%s %s" % (CONTRACT["marker_prefix"], ",".join(names)), compact(_read("prelude.ps1"))]
    parts.extend(compact(_read(name + ".ps1")) for name in names)
    parts.append("$EcsBatch = '%s'" % encoded)
    parts.append("Invoke-EcsBatch -EncodedBatch $EcsBatch")
    return "\n".join(parts) + "\n"
