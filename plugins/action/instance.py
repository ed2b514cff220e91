# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.instance: the whole host side on one probe (plugin_utils/_plan_instance.py),
the fewest apply batches, verification and findings."""

from __future__ import annotations

from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.action.agent import agent_report
from ansible_collections.ecs_windows.task_iam.plugins.action.container_routes import failed_containers, routes_report
from ansible_collections.ecs_windows.task_iam.plugins.action.credential_proxy import proxy_report
from ansible_collections.ecs_windows.task_iam.plugins.modules.instance import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_agent, _plan_instance
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan


class ActionModule(EcsAction):
    DOCUMENTATION = DOCUMENTATION
    ARG_CONDITIONALS = {
        "required_if": [("state", "present", ["cluster"]), ("install_ecstools", True, ["ecstools_region"])]
    }

    def check_args(self, params: dict) -> dict:
        return _plan_instance.check_args(params)

    def probe_args(self, params: dict) -> dict:
        return {"container_detail": _plan_instance.probe_detail(params), "files": _plan_agent.probe_files(params)}

    def plan(self, params: dict, facts: dict) -> Plan:
        return _plan_instance.plan(facts, params)

    def report(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> dict:
        out = agent_report(facts, applied)
        if "cause" in plan.detail:
            out["credential_proxy"] = proxy_report(facts, plan)
        if params["container_routes"]:
            out["containers"] = routes_report(facts, plan, applied)
        return out

    def verify(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> list[str]:
        left = super().verify(params, facts, plan, applied)
        if params["container_routes"]:
            left += failed_containers(routes_report(facts, plan, applied))
        return left
