"""set_machine_env: [Environment]::SetEnvironmentVariable(name, value, 'Machine') only where it differs."""

from __future__ import annotations


def run(state: dict, args: dict) -> dict:
    env = state["machine_env"]
    changed = []
    for name, value in args["set"].items():
        if env.get(name) != value:
            env[name] = value
            changed.append(name)
    for name in args["remove"]:
        if name in env:
            del env[name]
            changed.append(name)
    return {"changed": changed}
