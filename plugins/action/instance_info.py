# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ecs_windows.task_iam.instance_info: one probe, facts and findings."""

from __future__ import annotations

from ansible_collections.ecs_windows.task_iam.plugins.modules.instance_info import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _findings
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._action import EcsAction


class ActionModule(EcsAction):

    DOCUMENTATION = DOCUMENTATION

    def execute(self, params, runner):
        probe = runner.run([("probe", {"container_detail": params["container_detail"], "files": params["files"]})])[0]
        found = _findings.findings(probe)
        result = _findings.instance_facts(probe)
        result.update(changed=False, findings=found, healthy=not found)
        return result
