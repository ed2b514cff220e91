"""boot_task: the AtStartup scheduled task (SYSTEM) running the boot script written to script_path."""

from __future__ import annotations

from .. import model
from ..opscript import OpError

BOM = b"\xef\xbb\xbf"


def task_arguments(script_path: str) -> str:
    return '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % script_path


def _find(state: dict, path: str, name: str) -> dict | None:
    return next((t for t in state["scheduled_tasks"]
                 if t["path"].lower() == path.lower() and t["name"].lower() == name.lower()), None)


def run(state: dict, args: dict) -> dict:
    task = _find(state, args["task_path"], args["task_name"])
    path = args["script_path"]
    if args["state"] == "absent":
        changed = task is not None or model.path_kind(state, path) == "file"
        if task is not None:
            state["scheduled_tasks"].remove(task)
        if model.path_kind(state, path) == "file":
            model.remove_path(state, path, recurse=False)
        return {"changed": changed}
    if args["script"] is None:
        raise OpError("invalid_argument", "script is required when state is present")
    data = BOM + args["script"].encode("utf-8")
    wanted = {"path": args["task_path"], "name": args["task_name"], "state": "Ready", "enabled": True,
              "at_startup": True, "delay": args["delay"], "execute": "PowerShell.exe",
              "arguments": task_arguments(path), "description": args["description"], "user": "SYSTEM"}
    changed = False
    if model.read_file(state, path) != data:
        model.write_file(state, path, data, make_parents=True)
        changed = True
    if task is None:
        state["scheduled_tasks"].append(wanted)
        changed = True
    elif any(task[k] != wanted[k] for k in wanted if k != "state"):
        task.update({k: v for k, v in wanted.items() if k != "state"})
        changed = True
    return {"changed": changed}
