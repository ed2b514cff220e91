"""boot_task: the AtStartup scheduled task (SYSTEM) running the boot script, in the boot folder it secures first."""

from __future__ import annotations

from .. import model
from . import _prelude

BOM = b"\xef\xbb\xbf"
TASK_PATH, TASK_NAME = "\\ecs_windows.task_iam\\", "Recover-ECSCredentialProxy"
SCRIPT_PATH = model.BOOT_DIR + "\\recover-credential-proxy.ps1"
_COMPARED = ("execute", "arguments", "at_startup", "delay", "enabled", "user", "description", "execution_limit")


def task_arguments() -> str:
    return '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % SCRIPT_PATH


def _find(state: dict) -> dict | None:
    return next((t for t in state["scheduled_tasks"]
                 if t["path"].lower() == TASK_PATH.lower() and t["name"].lower() == TASK_NAME.lower()), None)


def _duration(seconds: int) -> str:
    """XmlConvert.ToString(TimeSpan), as Task Scheduler keeps ExecutionTimeLimit."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    days, hours = divmod(hours, 24)
    text = "P%s" % ("%dD" % days if days else "")
    clock = "".join("%d%s" % (v, u) for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return text + ("T" + clock if clock else ("" if days else "T0S"))


def run(state: dict, args: dict) -> dict:
    task = _find(state)
    changed = False
    if args["state"] == "absent":
        if task is not None:
            state["scheduled_tasks"].remove(task)
            changed = True
        if model.path_kind(state, SCRIPT_PATH) == "file":
            model.remove_path(state, SCRIPT_PATH, recurse=False)
            changed = True
        return {"changed": changed, "secured": False}
    secured = _prelude.secure_boot_folder(state)
    if args["script"] is not None:
        data = BOM + args["script"].encode("utf-8")
        if model.read_file(state, SCRIPT_PATH) != data:
            model.write_file(state, SCRIPT_PATH, data)
            changed = True
    wanted = {"path": TASK_PATH, "name": TASK_NAME, "state": "Ready", "enabled": True,
              "at_startup": True, "delay": args["delay"], "execute": "PowerShell.exe",
              "arguments": task_arguments(), "description": args["description"], "user": "SYSTEM",
              "execution_limit": _duration(args["execution_limit_s"]), "last_run_time": None, "last_result": None,
              "registered_time": model.task_time(model.now(state))}
    if task is None or any(task.get(k) != wanted[k] for k in _COMPARED):
        if task is not None:  # Register-ScheduledTask -Force replaces it
            state["scheduled_tasks"].remove(task)
        state["scheduled_tasks"].append(wanted)
        changed = True
    return {"changed": changed or secured, "secured": secured}
