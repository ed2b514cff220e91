# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of the collection's action plugins: validate -> probe -> plan -> apply -> report.

A module subclasses EcsAction, sets DOCUMENTATION (imported from its stub) and either

- implements `probe_args(params)`, `plan(params, facts)` (a pure function returning a Plan) and
  optionally `report(...)`, and gets check mode, diff, honest `changed` and verification from
  `converge`; or
- overrides `execute(params, runner)` (read-only modules such as instance_info).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

from ansible.module_utils.basic import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _args, _findings, _runner

# Ops that only read: a failed apply batch in which only these completed changed nothing.
READ_ONLY_OPS = frozenset(("probe", "wait_registered", "wait_task_idle"))


class HostStateError(Exception):
    """The host is in a state the module will not change; the message names it and the fix."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


class Plan:
    """What apply will do: human-readable `changes`, the op `calls`, the diff of the managed view, and the
    planner's own `detail` (whatever report() needs from it)."""

    def __init__(self, changes=(), calls=(), before=None, after=None, detail=None):
        self.changes = list(changes)
        self.calls = list(calls)
        self.before = before if before is not None else {}
        self.after = after if after is not None else {}
        self.detail = detail if detail is not None else {}

    @classmethod
    def from_planner(cls, planned):
        """A Plan from a planner's dict ({changes, calls, diff: {before, after}, ...}), kept whole as `detail`."""
        return cls(planned["changes"], planned["calls"], planned["diff"]["before"], planned["diff"]["after"], detail=planned)

    def __bool__(self):
        return bool(self.changes)


class EcsAction(ActionBase):
    """Action plugin base; see the module docstring."""

    TRANSFERS_FILES = False
    DOCUMENTATION = None
    # ArgumentSpecValidator conditionals DOCUMENTATION cannot express (mutually_exclusive, required_if, ...).
    ARG_CONDITIONALS = {}

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        try:
            params, no_log_values = _args.validate(self._task.action, self.DOCUMENTATION, self._task.args, **self.ARG_CONDITIONALS)
        except _args.ArgumentError as exc:
            result.update(failed=True, changed=False, msg=str(exc), commands=0)
            return remove_values(result, exc.no_log_values)
        try:
            params = self.check_args(params)
        except ValueError as exc:
            result.update(failed=True, changed=False, msg="invalid arguments for %s: %s" % (self._task.action, exc), commands=0)
            return remove_values(result, no_log_values)
        host = (task_vars or {}).get("inventory_hostname") or self._play_context.remote_addr
        runner = _runner.OpRunner(self._connection, host, self._task.action)
        try:
            result.update(self.execute(params, runner))
        except _runner.RemoteUnreachable as exc:
            result.update(unreachable=True, msg=str(exc))
        except (_runner.RemoteError, HostStateError) as exc:
            result.update(failed=True, msg=str(exc), **exc.result)
        result.setdefault("changed", False)
        result["commands"] = runner.commands
        return remove_values(result, no_log_values)

    def check_args(self, params):
        """Rules DOCUMENTATION cannot express (formats, cross-argument); raise ValueError naming the argument.
        Runs before anything is sent. Returns the (normalised) params."""
        return params

    def execute(self, params, runner):
        """Result keys of this module (without `commands`); default: converge."""
        return self.converge(params, runner)

    # --- probe -> plan -> apply -------------------------------------------------------------

    def probe_args(self, params):
        return {"container_detail": "none", "files": []}

    def plan(self, params, facts):
        """Pure: a Plan from the validated params and the probe facts; raise HostStateError to refuse."""
        raise NotImplementedError

    def report(self, params, facts, results, plan):
        """Module-specific result keys from the final facts, the apply batch's op results (one per plan.calls
        item; empty when nothing was applied) and the plan made from the first probe."""
        return {}

    def verify(self, params, facts):
        """Problems left after apply (list of str); default: what a new plan on the final facts would still change."""
        try:
            return self.plan(params, facts).changes
        except HostStateError as exc:
            return [str(exc)]

    def converge(self, params, runner):
        probe = ("probe", self.probe_args(params))
        facts = runner.run([probe])[0]
        plan = self.plan(params, facts)
        result = {"changed": bool(plan), "changes": plan.changes}
        if self._task.diff and plan:
            result["diff"] = {"before": plan.before, "after": plan.after}
        if not plan or self._task.check_mode:
            result["facts"] = _findings.instance_facts(facts)
            result.update(self.report(params, facts, [], plan))
            return result
        try:
            results = runner.run(plan.calls + [probe])
        except _runner.RemoteOpError as exc:
            done = plan.calls[:len(exc.result.get("op_results") or [])]
            exc.result["changed"] = any(op not in READ_ONLY_OPS for op, _args in done)
            exc.result["changes"] = plan.changes
            raise
        facts = results[-1]
        result["facts"] = _findings.instance_facts(facts)
        result.update(self.report(params, facts, results[:-1], plan))
        left = self.verify(params, facts)
        if left:
            raise HostStateError("%s applied %s but the host did not converge: %s"
                                 % (self._task.action, "; ".join(plan.changes), "; ".join(left)), **result)
        return result
