# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Machine environment as the probe reports it: case-insensitive names (Windows keeps the spelling a variable
was first written with and matches names case-insensitively), values masked on the host (docs/dev/op-contract.md
"Secrets"), and how a wanted value is compared with a masked one.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

MASK = "********"
# The masking rule of the probe (ConvertTo-EcsMaskedValue in prelude.ps1), also applied to wanted values before they
# appear in a diff or a change: the whole value of a secret-looking name; the user information of anything shaped
# like [scheme://]userinfo@host; the whole of a proxy variable holding an @ in any other shape; the user information
# of every scheme://userinfo@ inside any other value.
_SECRET_NAME = re.compile(r"(AUTH|PASS|PWD|SECRET|TOKEN|CREDENTIAL|KEY)", re.IGNORECASE)
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<userinfo>[^\s/?#]*)@(?P<rest>[^@]*)$")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@")
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def spelling(env: Mapping[str, str], name: str) -> str | None:
    """The spelling under which `name` exists in `env`, or None."""
    lowered = name.lower()
    return next((key for key in env if key.lower() == lowered), None)


def lookup(env: Mapping[str, str], name: str) -> str | None:
    """The value of `name` in `env`, whatever the spelling of either."""
    key = spelling(env, name)
    return None if key is None else env[key]


def env_true(value: str | None) -> bool:
    """A boolean agent setting is on: "true" in any case, as instance_info judges it; unset is false."""
    return isinstance(value, str) and value.strip().lower() == "true"


def env_list(value: str | None) -> list[str] | None:
    """A JSON list setting such as ECS_AVAILABLE_LOGGING_DRIVERS, or None when unset or not a JSON list of strings."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return None


def mask(name: str, value: str | None) -> str | None:
    """A value fit for output, by the same rule as the probe's."""
    if value is None:
        return None
    if _SECRET_NAME.search(name):
        return MASK
    match = _USERINFO.match(value)
    if match:
        return "%s%s@%s" % (match.group("scheme") or "", MASK, match.group("rest"))
    if "@" in value and name.upper() in _PROXY_VARIABLES:
        return MASK
    return _URL_USERINFO.sub(r"\g<scheme>%s@" % MASK, value)


def value_hash(salt: str, value: str) -> str:
    """sha256 of salt + value, as the probe reports it for a masked value (Get-EcsSha256Hex)."""
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()


def current(facts: dict, name: str) -> tuple[str | None, str | None]:
    """(what the host shows for `name`, its hash when the shown value is masked)."""
    key = spelling(facts["machine_env"], name)
    if key is None:
        return None, None
    return facts["machine_env"][key], facts["machine_env_hashes"].get(key)


def same(facts: dict, name: str, want: str | None) -> bool:
    """Whether the host's value of `name` equals `want` (None: unset), also when the host masked it (its hash is of
    the probe's salt + the value)."""
    shown, digest = current(facts, name)
    if want is None or shown is None:
        return want is None and shown is None
    if digest is not None:
        return digest == value_hash(facts["salt"], want)
    return shown == want
