# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every documented example of agent, credential_proxy and container_routes passes the modules' own argument checks."""

from __future__ import annotations

import importlib

import pytest
import yaml

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _args, _plan_agent, _plan_proxy, _plan_routes

MODULES = {"agent": _plan_agent.check_args, "credential_proxy": _plan_proxy.check_args, "container_routes": _plan_routes.check_args}


def examples():
    for name, check in MODULES.items():
        stub = importlib.import_module("ansible_collections.ecs_windows.task_iam.plugins.modules." + name)
        tasks = [t for t in yaml.safe_load(stub.EXAMPLES) if "ecs_windows.task_iam." + name in t]
        assert tasks, name
        for item in tasks:
            yield pytest.param(name, stub.DOCUMENTATION, check, item["ecs_windows.task_iam." + name] or {}, id="%s: %s" % (name, item["name"]))


@pytest.mark.parametrize("name, documentation, check, args", list(examples()))
def test_example_arguments_are_valid(name, documentation, check, args):
    action = importlib.import_module("ansible_collections.ecs_windows.task_iam.plugins.action." + name).ActionModule
    params, _no_log = _args.validate("ecs_windows.task_iam." + name, documentation, args, **action.ARG_CONDITIONALS)
    check(params)
