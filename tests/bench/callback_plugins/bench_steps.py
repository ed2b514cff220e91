# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper callback: the wall time of every task of a playbook run, written as JSON to $BENCH_STEPS_FILE."""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_steps
type: aggregate
short_description: Record the wall time of each task for tests/bench/bench.py
description:
  - A task's time runs from its start until the next task starts (or the run ends), over all hosts, as
    profile_tasks measures it. Written as a JSON list of {task, seconds, hosts} to the file named by
    E(BENCH_STEPS_FILE) at the end of the run; C(setup) is the time before the first task (inventory, parsing).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_steps"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._began = time.monotonic()
        self._steps = [{"task": "setup (inventory, playbook parsing)", "start": self._began, "hosts": 0}]

    def _close(self):
        now = time.monotonic()
        if "seconds" not in self._steps[-1]:
            self._steps[-1]["seconds"] = round(now - self._steps[-1].pop("start"), 3)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._steps.append({"task": task.get_name(), "start": time.monotonic(), "hosts": 0})

    def _count(self, *args, **kwargs):
        self._steps[-1]["hosts"] += 1

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_unreachable = v2_runner_on_skipped = _count

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("BENCH_STEPS_FILE")
        if path:
            total = round(time.monotonic() - self._began, 3)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"total_s": total, "steps": self._steps}, handle, indent=2)
