# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner of ecs_windows.task_iam.container_routes: probe facts + validated args -> plan.

nat-mode containers reach the credential proxy (and IMDS) only through routes they add themselves
(host-facts.md section 4, the AWS container bootstrap script); awsvpc containers get theirs from the agent.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple
from collections.abc import Iterable

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _findings, _host
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._plan import Plan, refuse

CREDENTIALS_ROUTE = _host.CREDENTIALS_ROUTE
IMDS_ROUTE = _host.IMDS_ROUTE
FAMILY_LABEL = _host.TASK_FAMILY_LABEL
# Seconds each container may take to answer a docker exec (a container that does not is that container's error).
CONTAINER_TIMEOUT_S = 60


def check_args(args: dict) -> dict:
    """Formats the DOCUMENTATION cannot express; raises ValueError naming the argument."""
    for key in ("names", "task_families"):
        for value in args.get(key) or []:
            if not isinstance(value, str) or not value:
                raise ValueError("%s: every entry must be a non-empty string, got %r" % (key, value))
    return args


def _selected(container: dict, args: dict) -> str | None:
    if not any(fnmatch.fnmatchcase(container["name"], pattern) for pattern in args["names"]):
        return "its name matches none of names"
    if args["task_families"] and container["task_family"] not in args["task_families"]:
        return "its task family (%s label) is %s, not one of task_families" % (
            FAMILY_LABEL,
            container["task_family"] or "unset",
        )
    return None


def _entry(container: dict, action: str, reason: str, added: Iterable[str] = (), removed: Iterable[str] = ()) -> dict:
    return {
        "id": container["id"],
        "name": container["name"],
        "network_mode": container["network_mode"],
        "action": action,
        "added": list(added),
        "removed": list(removed),
        "reason": reason,
    }


def _not_routable(container: dict, args: dict) -> tuple[str, str] | None:
    """(action, reason) for a container this run leaves alone (skipped) or cannot route (failed); None to route it."""
    skip = _selected(container, args)
    if skip:
        return "skipped", "not selected: %s" % skip
    mode = container["network_mode"]
    if mode == "awsvpc":
        return "skipped", "awsvpc: the agent adds the task's routes itself"
    if mode not in ("nat", "default"):
        return "skipped", "network mode %s: only nat (default) containers need routes" % mode
    if container["error"]:
        return "failed", container["error"]
    if not container["gateway"]:
        return "failed", "no default gateway (0.0.0.0/0 route) found inside the container"
    if container["shell"] not in ("powershell", "cmd"):
        return "failed", "the image has neither powershell.exe nor cmd.exe to add routes with"
    return None


def _route_change(container: dict, want: list[str], unwanted: list[str]) -> tuple[list[dict], list[str]]:
    """(routes to add, destinations to remove) to leave exactly `want` via the container's gateway."""
    gateway = container["gateway"]
    have = dict((r["destination"], r["next_hop"]) for r in container["routes"] or [])
    remove = [d for d in unwanted if d in have] + [d for d in want if d in have and have[d] != gateway]
    add = [{"destination": d, "next_hop": gateway} for d in want if have.get(d) != gateway]
    return add, remove


def _describe(container: dict, add: list[dict], remove: list[str], unwanted: list[str]) -> str:
    powershell = container["shell"] == "powershell"
    reasons = []
    if remove:
        blocked = " (imds: block)" if any(d in unwanted for d in remove) else ""
        tool = "Remove-NetRoute -PolicyStore ActiveStore" if powershell else "netsh delete route store=active"
        reasons.append("remove %s%s with %s" % (", ".join(remove), blocked, tool))
    if add:
        tool = "New-NetRoute -PolicyStore ActiveStore" if powershell else "netsh add route store=active"
        reasons.append("add %s via %s with %s" % (", ".join(a["destination"] for a in add), container["gateway"], tool))
    return "; ".join(reasons)


class _Part(NamedTuple):
    """One container's part of the plan."""

    entry: dict  # its report entry, as planned
    op: dict | None = None  # its entry in the container_routes call
    change: str | None = None
    before: dict = {}
    after: dict = {}


def _container_part(container: dict, args: dict, want: list[str], unwanted: list[str]) -> _Part:
    refusal = _not_routable(container, args)
    if refusal:
        return _Part(_entry(container, *refusal))
    add, remove = _route_change(container, want, unwanted)
    label = "%s (%s)" % (container["name"], container["id"][:12])
    have = dict((r["destination"], r["next_hop"]) for r in container["routes"] or [])
    before = {label: sorted("%s via %s" % (d, have[d]) for d in set(want + unwanted) if d in have)}
    after = {label: sorted("%s via %s" % (d, container["gateway"]) for d in want)}
    if not add and not remove:
        return _Part(
            _entry(container, "unchanged", "routes via %s present" % container["gateway"]), before=before, after=after
        )
    reason = _describe(container, add, remove, unwanted)
    entry = _entry(container, "added" if add else "removed", reason, [a["destination"] for a in add], remove)
    op = {"id": container["id"], "shell": container["shell"], "add": add, "remove": remove}
    return _Part(entry, op, "container %s: %s" % (label, reason), before, after)


def plan(facts: dict, args: dict) -> Plan:
    """-> Plan (detail `containers`: the per-container report, as planned). Refuses when docker does not answer."""
    if facts["containers"] is None:
        refuse(
            "the containers cannot be routed",
            [f for f in _findings.findings(facts) if f["code"] == "docker_not_answering"],
        )
    want = [CREDENTIALS_ROUTE] + ([IMDS_ROUTE] if args["imds"] == "allow" else [])
    unwanted = [] if args["imds"] == "allow" else [IMDS_ROUTE]
    parts = [_container_part(container, args, want, unwanted) for container in facts["containers"]]
    ops = [part.op for part in parts if part.op]
    calls = [("container_routes", {"containers": ops, "timeout_s": CONTAINER_TIMEOUT_S})] if ops else []
    return Plan(
        [part.change for part in parts if part.change],
        calls,
        {label: routes for part in parts for label, routes in part.before.items()},
        {label: routes for part in parts for label, routes in part.after.items()},
        detail={"containers": [part.entry for part in parts]},
    )


def merge_results(planned: list[dict], op_result: dict | None, final_facts: dict) -> list[dict]:
    """The per-container report after the apply batch: the op's per-container outcome, checked against the final probe."""
    outcome = dict((c["id"], c) for c in (op_result or {}).get("containers", []))
    final = dict((c["id"], c) for c in final_facts["containers"] or [])
    report = []
    for entry in planned:
        entry = dict(entry)
        done = outcome.get(entry["id"])
        if done is not None:
            entry["added"], entry["removed"] = done["added"], done["removed"]
            if done["error"]:
                entry["action"], entry["reason"] = "failed", done["error"]
            elif entry["id"] not in final:
                entry["action"], entry["reason"] = "failed", "the container is gone after the change"
            else:
                present = dict((r["destination"], r["next_hop"]) for r in final[entry["id"]]["routes"] or [])
                missing = [d for d in entry["added"] if d not in present]
                still = [d for d in entry["removed"] if d in present and d not in entry["added"]]
                if missing or still:
                    entry["action"] = "failed"
                    entry["reason"] = "the final probe still shows the routes wrong (missing %s, present %s)" % (
                        missing,
                        still,
                    )
        report.append(entry)
    return report
