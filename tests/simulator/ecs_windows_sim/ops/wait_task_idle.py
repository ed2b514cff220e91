"""wait_task_idle: startup tasks run one after another in the simulator, so no task is ever Running when
an op runs: report the task's state (null when absent) without waiting."""

from __future__ import annotations


def run(state: dict, args: dict) -> dict:
    task = next((t for t in state["scheduled_tasks"] if t["path"].lower() == args["task_path"].lower()
                 and t["name"].lower() == args["task_name"].lower()), None)
    return {"state": None if task is None else task["state"], "waited_s": 0}
