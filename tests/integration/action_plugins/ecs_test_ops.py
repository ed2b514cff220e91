# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper action: run a batch of remote ops through the collection's runner, as a module would.

    - ecs_test_ops:
        calls:
          - {op: set_machine_env, args: {set: {X: "1"}, remove: []}}

Returns `results` (one per op) and `commands`. Tests use it to reach host states with real op
calls over the real connection; it is not part of the collection.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _runner


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("calls",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        runner = _runner.OpRunner(self._connection, task_vars.get("inventory_hostname"), self._task.action)
        calls = [(call["op"], call["args"]) for call in self._task.args["calls"]]
        try:
            result["results"] = runner.run(calls)
        except _runner.RemoteUnreachable as exc:
            result.update(unreachable=True, msg=str(exc))
        except _runner.RemoteError as exc:
            result.update(failed=True, msg=str(exc), **exc.result)
        result["changed"] = not result.get("failed") and any(op != "probe" for op, _args in calls)
        result["commands"] = runner.commands
        return result
