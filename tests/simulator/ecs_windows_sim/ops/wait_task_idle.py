"""wait_task_idle: wait (really) while a scheduled task is Queued or Running, or is an enabled startup task that has
not run since this boot (ECSTools' reboot task with the ecstools-boot-delay setting), for at most timeout_s."""

from __future__ import annotations

import datetime
import re
import time

from .. import ecstools, model
from ..opscript import OpError


def _view(state: dict, path: str, name: str) -> dict | None:
    task = next((t for t in state["scheduled_tasks"] if t["path"].lower() == path.lower()
                 and t["name"].lower() == name.lower()), None)
    if task is not None and task["path"] == ecstools.REBOOT_TASK["path"] and task["name"] == ecstools.REBOOT_TASK["name"]:
        task = ecstools.reboot_task_view(state, task)
    return task


# $EcsSameBootToleranceSeconds (_host.SAME_BOOT_TOLERANCE_S): "since the boot" allows for a LastBootUpTime read late.
SAME_BOOT_TOLERANCE_S = 60


def _since(state: dict) -> str:
    """The boot time as wait_task_idle.ps1 compares it: LastBootUpTime as WMI reports it (model.reported_boot), in
    whole seconds, less the tolerance."""
    boot_id, _text = model.reported_boot(state)
    when = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=boot_id // 10)
    return model.task_time(when.replace(microsecond=0) - datetime.timedelta(seconds=SAME_BOOT_TOLERANCE_S))


def _idle(state: dict, task: dict | None) -> bool:
    if task is None:
        return True
    if task["state"] in ("Queued", "Running"):
        return False
    if not task["enabled"] or not task["at_startup"]:
        return True
    since = _since(state)
    registered = task.get("registered_time")
    if registered is not None and registered >= since:  # fires at the next boot only
        return True
    last = task.get("last_run_time")
    return last is not None and last >= since


def run(state: dict, args: dict) -> dict:
    for value in (args["task_path"], args["task_name"]):
        if not value or re.search(r"[*?\[\]]", value):
            raise OpError("invalid_argument", "task_path and task_name must be non-empty and without wildcards, "
                          "got '%s'" % value)
    started = time.monotonic()
    while True:
        task = _view(state, args["task_path"], args["task_name"])
        idle = _idle(state, task)
        if idle or time.monotonic() - started >= args["timeout_s"]:
            break
        time.sleep(min(2.0, max(0.0, args["timeout_s"] - (time.monotonic() - started))))
    if not idle and args["busy_error"]:
        raise OpError("busy", "scheduled task %s%s is %s (last run %s); waited %d s" % (
            args["task_path"], args["task_name"], task["state"], task.get("last_run_time") or "", args["timeout_s"]))
    return {"state": None if task is None else task["state"], "last_run_time": None if task is None else task.get("last_run_time"),
            "idle": idle, "waited_s": round(time.monotonic() - started, 1)}
