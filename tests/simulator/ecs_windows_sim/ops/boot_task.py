"""boot_task: the AtStartup scheduled task (SYSTEM) running the boot script written to script_path."""

from __future__ import annotations

import re

from .. import model
from ..opscript import OpError
from . import _prelude

BOM = b"\xef\xbb\xbf"
_COMPARED = ("execute", "arguments", "at_startup", "delay", "enabled", "user", "description")


def task_arguments(script_path: str) -> str:
    return '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % script_path


def _find(state: dict, path: str, name: str) -> dict | None:
    return next((t for t in state["scheduled_tasks"]
                 if t["path"].lower() == path.lower() and t["name"].lower() == name.lower()), None)


def _check(args: dict) -> None:
    path = _prelude.windows_path(args["script_path"], "script_path")
    if not re.fullmatch(r"\\([^*?\[\]]*\\)?", args["task_path"]):
        raise OpError("invalid_argument", "task_path must start and end with \\ and contain no wildcards, got '%s'"
                      % args["task_path"])
    if not args["task_name"] or re.search(r"[\\*?\[\]]", args["task_name"]):
        raise OpError("invalid_argument", "task_name must be a non-empty name without \\ or wildcards, got '%s'"
                      % args["task_name"])
    if not path.lower().endswith(".ps1"):
        raise OpError("invalid_argument", "script_path must name a .ps1 file (PowerShell.exe -File needs it), got '%s'"
                      % path)


def run(state: dict, args: dict) -> dict:
    _check(args)
    task = _find(state, args["task_path"], args["task_name"])
    path = args["script_path"]
    changed = False
    if args["state"] == "absent":
        if task is not None:
            state["scheduled_tasks"].remove(task)
            changed = True
        if model.path_kind(state, path) == "file":
            model.remove_path(state, path, recurse=False)
            changed = True
        return {"changed": changed}
    if args["script"] is not None:
        data = BOM + args["script"].encode("utf-8")
        if model.read_file(state, path) != data:
            model.write_file(state, path, data, make_parents=True)
            changed = True
    wanted = {"path": args["task_path"], "name": args["task_name"], "state": "Ready", "enabled": True,
              "at_startup": True, "delay": args["delay"], "execute": "PowerShell.exe",
              "arguments": task_arguments(path), "description": args["description"], "user": "SYSTEM"}
    if task is None or any(task[k] != wanted[k] for k in _COMPARED):
        if task is not None:  # Register-ScheduledTask -Force replaces it
            state["scheduled_tasks"].remove(task)
        state["scheduled_tasks"].append(wanted)
        changed = True
    return {"changed": changed}
