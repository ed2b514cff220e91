"""wait_task_idle: startup tasks run one after another in the simulator, so no task is ever Running when
an op runs: report the task's state (null when absent) without waiting."""

from __future__ import annotations

import re

from ..opscript import OpError


def run(state: dict, args: dict) -> dict:
    for value in (args["task_path"], args["task_name"]):
        if not value or re.search(r"[*?\[\]]", value):
            raise OpError("invalid_argument", "task_path and task_name must be non-empty and without wildcards, "
                          "got '%s'" % value)
    task = next((t for t in state["scheduled_tasks"] if t["path"].lower() == args["task_path"].lower()
                 and t["name"].lower() == args["task_name"].lower()), None)
    return {"state": None if task is None else task["state"], "waited_s": 0}
