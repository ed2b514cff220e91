# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.container_routes: probe with routes, plan (plugin_utils/_plan_routes.py),
one apply batch, per-container report."""

from __future__ import annotations

from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.modules.container_routes import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_routes
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction, HostStateError
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._runner import OpRunner


def routes_report(facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> list[dict]:
    """The per-container report: as planned, then as the op did it, checked against the final probe."""
    op_result = next((result for op, result in applied if op == "container_routes"), None)
    return _plan_routes.merge_results(plan.detail.get("containers", []), op_result, facts)


def failed_containers(entries: list[dict]) -> list[str]:
    return ["%s (%s): %s" % (e["name"], e["id"][:12], e["reason"]) for e in entries if e["action"] == "failed"]


class ActionModule(EcsAction):
    DOCUMENTATION = DOCUMENTATION

    def check_args(self, params: dict) -> dict:
        return _plan_routes.check_args(params)

    def probe_args(self, params: dict) -> dict:
        return {"container_detail": "routes", "files": []}

    def plan(self, params: dict, facts: dict) -> Plan:
        return _plan_routes.plan(facts, params)

    def report(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> dict:
        return {"containers": routes_report(facts, plan, applied)}

    def verify(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> list[str]:
        return failed_containers(routes_report(facts, plan, applied))

    def execute(self, params: dict, runner: OpRunner) -> dict:
        result = self.converge(params, runner)
        failed = failed_containers(result["containers"])
        if failed:
            raise HostStateError(
                "%d selected container(s) could not be routed: %s" % (len(failed), "; ".join(failed)), **result
            )
        return result
