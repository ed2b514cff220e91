"""set_machine_env: [Environment]::SetEnvironmentVariable(name, value, 'Machine') only where it differs.
Names are case-insensitive and keep their first spelling, as in the registry that holds them; REG_EXPAND_SZ
variables are refused (writing them would make them REG_SZ)."""

from __future__ import annotations

from .. import model
from ..opscript import OpError


def _plain(state: dict, name: str) -> None:
    if model.env_is_expand(state, name):
        raise OpError("host_state", "refusing to write Machine variable %s: it is REG_EXPAND_SZ and writing it would "
                      "turn it into REG_SZ" % model.env_key(state, name))


def run(state: dict, args: dict) -> dict:
    for name, value in args["set"].items():
        if value == "":
            raise OpError("invalid_argument", "set: %s needs a non-empty string value (an empty value would delete it: "
                          "use remove)" % name)
    for name in args["remove"]:
        if any(name.lower() == other.lower() for other in args["set"]):
            raise OpError("invalid_argument", "%s is both in set and in remove" % name)
    changed = []
    for name, value in args["set"].items():
        if model.env_get(state, name) != value:
            _plain(state, name)
            model.env_set(state, name, value)
            changed.append(name)
    for name in args["remove"]:
        if model.env_key(state, name) is not None:
            _plain(state, name)
            model.env_remove(state, name)
            changed.append(name)
    return {"changed": changed}
