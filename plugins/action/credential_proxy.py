# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.credential_proxy: probe, diagnose and plan (plugin_utils/_plan_proxy.py),
one apply batch, verify."""

from __future__ import annotations

from typing import Any

from ansible_collections.ecs_windows.task_iam.plugins.modules.credential_proxy import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _findings, _plan_proxy, _proxy
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan, Refusal


def proxy_report(facts: dict, plan: Plan) -> dict:
    """cause and reason from the first probe, whether the endpoint was repaired, the startup task after the task."""
    return {
        "cause": plan.detail["cause"],
        "reason": plan.detail["reason"],
        "repaired": plan.detail["cause"] != _proxy.HEALTHY and facts["endpoints"]["proxy"]["ok"],
        "boot_recovery": _findings.boot_recovery(facts),
    }


class ActionModule(EcsAction):
    DOCUMENTATION = DOCUMENTATION

    def check_args(self, params: dict) -> dict:
        return _plan_proxy.check_args(params)

    def plan(self, params: dict, facts: dict) -> Plan:
        return _plan_proxy.plan(facts, params)

    def refusal_result(self, params: dict, facts: dict, exc: Refusal) -> dict:
        diagnosis = _proxy.diagnose(facts)
        return dict(
            super().refusal_result(params, facts, exc),
            cause=exc.problems[0]["code"],
            reason=diagnosis.reason,
            repaired=False,
        )

    def report(self, params: dict, facts: dict, plan: Plan, applied: list[tuple[str, Any]]) -> dict:
        return proxy_report(facts, plan)
