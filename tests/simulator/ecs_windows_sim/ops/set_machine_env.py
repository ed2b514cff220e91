"""set_machine_env: [Environment]::SetEnvironmentVariable(name, value, 'Machine') only where it differs.
Names are case-insensitive, as in the registry that holds them."""

from __future__ import annotations

from ..opscript import OpError


def _existing(env: dict, name: str) -> str | None:
    return next((key for key in env if key.lower() == name.lower()), None)


def run(state: dict, args: dict) -> dict:
    for name, value in args["set"].items():
        if value == "":
            raise OpError("invalid_argument", "set: %s needs a non-empty string value (an empty value would delete it: "
                          "use remove)" % name)
    for name in args["remove"]:
        if any(name.lower() == other.lower() for other in args["set"]):
            raise OpError("invalid_argument", "%s is both in set and in remove" % name)
    env = state["machine_env"]
    changed = []
    for name, value in args["set"].items():
        key = _existing(env, name) or name
        if env.get(key) != value:
            env[key] = value
            changed.append(name)
    for name in args["remove"]:
        key = _existing(env, name)
        if key is not None:
            del env[key]
            changed.append(name)
    return {"changed": changed}
