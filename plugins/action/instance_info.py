# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.instance_info: one probe, facts and findings."""

from __future__ import annotations

import secrets

from ansible_collections.ecs_windows.task_iam.plugins.modules.instance_info import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _ecs_names
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._runner import OpRunner


class ActionModule(EcsAction):
    DOCUMENTATION = DOCUMENTATION
    OPTIMISTIC = True

    def check_args(self, params: dict) -> dict:
        if params.get("cluster") is not None:
            _ecs_names.validate_cluster_name(params["cluster"])
        for path in params["files"]:
            problem = _contract.local_path_problem(path)
            if problem:
                raise ValueError("files: '%s' %s" % (path, problem))
        return params

    def probe_args(self, params: dict) -> dict:
        return {"container_detail": params["container_detail"], "files": params["files"]}

    def execute(self, params: dict, runner: OpRunner) -> dict:
        facts = self.probe(params, runner, secrets.token_hex(8))
        result = self.host_result(params, facts)
        found = result.pop("findings")
        out = result.pop("facts")
        out.update(changed=False, findings=found, healthy=result["healthy"])
        return out
