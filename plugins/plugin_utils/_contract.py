# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remote op contract (powershell/contract.json, docs/dev/op-contract.md): the only place its facts are written.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable
from typing import Any

PS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "powershell")

with open(os.path.join(PS_DIR, "contract.json"), encoding="ascii") as _handle:
    CONTRACT: dict[str, Any] = json.load(_handle)

VERSION: int = CONTRACT["contract"]
ERROR_CATEGORIES: tuple[str, ...] = tuple(CONTRACT["error_categories"])
OPS: dict[str, dict] = CONTRACT["ops"]


def op_spec(name: str) -> dict:
    """The contract entry of op `name`; KeyError names the unknown op."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError("unknown remote op %r (known: %s)" % (name, ", ".join(sorted(OPS)))) from None


def read_only(name: str) -> bool:
    return bool(op_spec(name)["read_only"])


def batch_is_retry_safe(calls: Iterable[tuple[str, Any]]) -> bool:
    return all(op_spec(op)["safe_to_retry"] for op, _args in calls)


def batch_is_read_only(calls: Iterable[tuple[str, Any]]) -> bool:
    return all(read_only(op) for op, _args in calls)


def schema(op: str, part: str) -> dict:
    """The JSON Schema of an op's `args` or `result`, self-contained (the contract's $defs included)."""
    return dict(copy.deepcopy(op_spec(op)[part]), **{"$defs": CONTRACT["$defs"]})


def example(op: str) -> dict:
    """The op's example arguments (valid against its args schema: tests/unit/test_contract.py)."""
    return copy.deepcopy(op_spec(op)["example"])


def integer_range(op: str, argument: str) -> tuple[int, int]:
    """(minimum, maximum) of an integer argument of an op, as its schema sets them."""
    prop = op_spec(op)["args"]["properties"][argument]
    return prop["minimum"], prop["maximum"]


def local_path_problem(path: str) -> str | None:
    """Why `path` is not a path the ops accept ($defs.windows_path: a local absolute path), or None."""
    rule = CONTRACT["$defs"]["windows_path"]
    if path.startswith(("\\\\", "//")):
        return "is a UNC path (the host would authenticate to that server over SMB); give a local path such as C:\\Scripts\\x.ps1"
    if len(path) > rule["maxLength"]:
        return "is longer than %d characters" % rule["maxLength"]
    if not re.fullmatch(rule["pattern"], path):
        return 'is not a local absolute Windows path (a drive letter, a backslash, none of " < > | * ? or line breaks)'
    return None
