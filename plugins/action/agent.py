# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.agent: probe, plan (plugin_utils/_plan_agent.py), one apply batch, verify."""

from __future__ import annotations

from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.modules.agent import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_agent
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan


def agent_report(facts: dict, applied: list[tuple[str, Any]]) -> dict:
    """The agent's result keys: registration and version after the task, and the Initialize-ECSAgent runs (the last
    one's output and the errors of those retried before it)."""
    reg = facts["registration"]
    out = {
        "cluster": reg["cluster"] if reg["container_instance_arn"] else None,
        "container_instance_arn": reg["container_instance_arn"],
        "agent_version": facts["agent"]["version"],
    }
    for op, result in applied:
        if op == "init_agent":
            out["init"] = result
        elif op == "install_ecstools":
            out["ecstools_install"] = result
    return out


class ActionModule(EcsAction):
    DOCUMENTATION = DOCUMENTATION
    ARG_CONDITIONALS = {
        "required_if": [("state", "present", ["cluster"]), ("install_ecstools", True, ["ecstools_region"])]
    }

    def check_args(self, params: dict) -> dict:
        return _plan_agent.check_args(params)

    def probe_args(self, params: dict) -> dict:
        return {"container_detail": "list", "files": _plan_agent.probe_files(params)}

    def plan(self, params: dict, facts: dict) -> Plan:
        return _plan_agent.plan(facts, params)

    def report(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> dict:
        return agent_report(facts, applied)
