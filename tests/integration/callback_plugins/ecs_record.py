# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper callback: append every task result as one JSON line to $ECS_RECORD_FILE."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ecs_record
type: notification
short_description: Record task results as JSON lines for the integration tests
description:
  - Writes one JSON object per task result (host, task, action, status, result) to the file named by E(ECS_RECORD_FILE).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "ecs_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, status, result):
        path = os.environ.get("ECS_RECORD_FILE")
        if not path:
            return
        # TaskResult's public host, task and result exist from ansible-core 2.19; before, only the private ones.
        public = hasattr(type(result), "result")
        payload = result.result if public else result._result
        host, task = (result.host, result.task) if public else (result._host, result._task)
        entry = {
            "host": host.get_name(),
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "result": {key: value for key, value in payload.items() if not key.startswith("_ansible")},
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record("failed", result)

    def v2_runner_on_unreachable(self, result):
        self._record("unreachable", result)

    def v2_runner_on_skipped(self, result):
        self._record("skipped", result)
