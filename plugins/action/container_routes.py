# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.container_routes: probe with routes, plan (plugin_utils/_plan_routes.py),
one apply batch, per-container report."""

from __future__ import annotations

from ansible_collections.ecs_windows.task_iam.plugins.modules.container_routes import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_routes
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction, HostStateError, Plan


class ActionModule(EcsAction):

    DOCUMENTATION = DOCUMENTATION

    def check_args(self, params):
        return _plan_routes.check_args(params)

    def probe_args(self, params):
        return {"container_detail": "routes", "files": []}

    def plan(self, params, facts):
        return Plan.from_planner(_plan_routes.plan(facts, params))

    def report(self, params, facts, results, plan):
        self._report = _plan_routes.merge_results(plan.detail["containers"], results[0] if results else None, facts)
        return {"containers": self._report}

    def verify(self, params, facts):
        return ["%s: %s" % (entry["name"], entry["reason"]) for entry in self._report if entry["action"] == "failed"]

    def execute(self, params, runner):
        result = self.converge(params, runner)
        failed = [entry for entry in result["containers"] if entry["action"] == "failed"]
        if failed:
            raise HostStateError("%d selected container(s) could not be routed: %s" % (
                len(failed), "; ".join("%s (%s): %s" % (e["name"], e["id"][:12], e["reason"]) for e in failed)), **result)
        return result
