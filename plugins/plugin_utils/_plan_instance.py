# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance planner: the agent, the credential proxy and the container routes planned together on one probe,
the proxy and routes on the facts the agent plan leads to (_plan_agent.projected), in one apply batch.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_agent, _plan_proxy, _plan_routes
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan

AGENT_OPTIONS = (
    "state",
    "cluster",
    "task_iam_role",
    "version",
    "logging_drivers",
    "enable_task_eni",
    "awsvpc_block_imds",
    "awsvpc_additional_local_routes",
    "environment",
    "http_proxy",
    "no_proxy",
    "install_ecstools",
    "ecstools_region",
    "ecstools_sha256",
    "ecstools_signature",
    "force_reregister",
    "registration_timeout",
    "init_attempts",
    "init_retry_delay",
    "init_timeout",
)
PROXY_OPTIONS = ("on_boot", "boot_delay", "registration_timeout", "init_attempts", "init_retry_delay", "init_timeout")


def agent_args(args: dict) -> dict:
    return {name: args.get(name) for name in AGENT_OPTIONS}


def proxy_args(args: dict) -> dict:
    return dict(
        {name: args.get(name) for name in PROXY_OPTIONS}, state="absent" if args["state"] == "absent" else "healthy"
    )


def routes_args(args: dict) -> dict:
    return {"names": args["container_names"], "task_families": args["task_families"], "imds": args["imds"]}


def check_args(args: dict) -> dict:
    args = dict(args)
    args.update(_plan_agent.check_args(agent_args(args)))
    _plan_proxy.check_args(proxy_args(args))
    _plan_routes.check_args(routes_args(args))
    return args


def probe_detail(args: dict) -> str:
    return "routes" if args["container_routes"] else "list"


def plan(facts: dict, args: dict) -> Plan:
    """facts + check_args(args) -> one Plan: agent, then (on the facts it leads to) the credential proxy when task IAM
    roles are wanted, then the container routes when asked for."""
    agent = _plan_agent.plan(facts, agent_args(args))
    out = Plan(
        agent.changes, agent.calls, {"agent": agent.before}, {"agent": agent.after}, agent.waits, dict(agent.detail)
    )
    if args["state"] == "absent" or args["task_iam_role"]:
        after = _plan_agent.projected(facts, agent, agent_args(args))
        out = out.then(_plan_proxy.plan(after, proxy_args(args)), "credential_proxy")
    if args["container_routes"] and args["state"] == "present":
        out = out.then(_plan_routes.plan(facts, routes_args(args)), "container_routes")
    return out
