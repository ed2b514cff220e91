# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.credential_proxy: probe, diagnose and plan (plugin_utils/_plan_proxy.py),
one apply batch, verify."""

from __future__ import annotations

from ansible_collections.ecs_windows.task_iam.plugins.modules.credential_proxy import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _findings, _plan_proxy
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction, HostStateError, Plan


class ActionModule(EcsAction):

    DOCUMENTATION = DOCUMENTATION

    def check_args(self, params):
        return _plan_proxy.check_args(params)

    def probe_args(self, params):
        return {"container_detail": "none", "files": [_plan_proxy.BOOT_SCRIPT_PATH]}

    def plan(self, params, facts):
        try:
            planned = _plan_proxy.plan(facts, params)
        except _plan_proxy.Refusal as exc:
            diag = _plan_proxy.diagnose(facts)
            raise HostStateError(str(exc), cause=exc.problems[0]["code"], reason=diag["reason"], repaired=False,
                                 findings=_findings.findings(facts), facts=_findings.instance_facts(facts)) from None
        return Plan.from_planner(planned)

    def report(self, params, facts, results, plan):
        first = plan.detail
        out = {
            "cause": first["cause"],
            "reason": first["reason"],
            "repaired": bool(results) and first["cause"] != _plan_proxy.HEALTHY and facts["endpoints"]["proxy"]["ok"],
            "boot_recovery": _findings.boot_recovery(facts),
        }
        for (op, _args), result in zip(first["calls"], results):
            if op in ("init_agent", "recover_proxy"):
                out["init" if op == "init_agent" else "recover"] = result
        return out
