# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks' ECS view: host results joined with how ECS sees each instance, and the quarantine decisions.

Pure functions of registered results (host modules, ecs_container_instance_info, ecs_container_instance), each linear
in the number of hosts, run once per play or batch on the controller. docs/ecs.md describes the behaviour.

- ecs_clusters: the clusters whose container instances the playbook reads;
- ecs_join: every host's result in the shape of instance_info, with `ecs` and the ECS findings;
- host_entries: each host's own entry of the per-batch mappings a serial play left in hostvars;
- quarantine_plan (verify), quarantine_release (recover, configure, rolling_reboot), wave_drain (rolling_reboot): the
  ecs_container_instance calls to make, as a list of actions, and what was refused and why.

The collection marks every container instance it takes out of service with the attribute MARKER ("<mode> <time>
<finding codes>"), so that it only ever returns instances it quarantined itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _env

MARKER = "ecs_windows.task_iam.quarantine"
CREDENTIALS = "ecs_windows.task_iam.credentials"
BROKEN = "broken"
QUARANTINE_MODES = ("none", "drain", "attribute")
# Marker modes: how the collection took the instance out of service.
DRAINED_BY = ("drain", "rolling_reboot")
_MARKER_RE = re.compile(r"^(drain|attribute|rolling_reboot) (\S+)(?: (.*))?$")
_VALUE_MAX = 128  # ECS attribute values: 1 to 128 characters
_CONTAINER_INSTANCE_ARN = re.compile(r"^arn:[^:]+:ecs:[^:]*:[0-9]*:container-instance/(?:([^/]+)/)?([^/]+)$")
# The collection's own findings about a quarantine it made: they do not keep a host quarantined.
QUARANTINE_CODES = ("ecs_instance_draining", "ecs_credentials_marked_broken")
_PLACEMENT = "attribute:%s != %s" % (CREDENTIALS, BROKEN)


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


# --- the marker ---------------------------------------------------------------------------------------------------


def marker_value(mode: str, when: str, codes: list) -> str:
    """The MARKER attribute value: "<mode> <time> <codes>", cut to ECS's 128 characters (a code that does not fit is
    counted as "+N")."""
    value = "%s %s" % (mode, when)
    codes = [c for c in codes if re.fullmatch(r"[A-Za-z0-9_.-]+", str(c))]
    for index, code in enumerate(codes):
        left = len(codes) - index - 1
        suffix = " +%d" % left if left else ""
        if len(value) + 1 + len(code) + len(suffix) > _VALUE_MAX:
            return value + " +%d" % (left + 1)
        value += " " + code
    return value


def parse_marker(value: Any) -> dict | None:
    """{mode, time, codes} of a MARKER value, or None when it is not one."""
    match = _MARKER_RE.match(str(value or ""))
    if not match:
        return None
    return {"mode": match.group(1), "time": match.group(2), "codes": (match.group(3) or "").split()}


# --- host results --------------------------------------------------------------------------------------------------


def host_result(result: Any) -> Any:
    """A host module's registered result in the shape of instance_info's: `facts` (credential_proxy, instance, ...)
    merged into the top level, `healthy` from the findings when the module did not say (a refusal)."""
    if not isinstance(result, dict):
        return result
    facts = result.get("facts")
    if isinstance(facts, dict):
        out = dict(facts)
        out.update((key, value) for key, value in result.items() if key != "facts")
    else:
        out = dict(result)
    if "healthy" not in result and isinstance(result.get("findings"), list) and isinstance(out.get("host"), dict):
        out["healthy"] = not _problems(result["findings"])
    return out


def _probed(result: Any) -> bool:
    return isinstance(result, dict) and not result.get("unreachable") and isinstance(result.get("host"), dict)


def _problems(findings: Any) -> list:
    return [f for f in findings or [] if isinstance(f, dict) and not f.get("informational")]


def _arn_cluster(arn: Any) -> str | None:
    match = _CONTAINER_INSTANCE_ARN.match(str(arn or ""))
    return match.group(1) if match else None


def _host_cluster(result: dict, expected: Any) -> str | None:
    """The cluster a probed host is in: from its container instance ARN, the agent, its ECS_CLUSTER, else the one
    the inventory expects."""
    registration = result.get("registration") or {}
    cluster = _arn_cluster(registration.get("container_instance_arn"))
    if not cluster and registration.get("reachable"):
        cluster = registration.get("cluster")
    if not cluster:
        cluster = _env.lookup(result.get("machine_env") or {}, "ECS_CLUSTER")
    cluster = cluster or expected
    return str(cluster) if cluster else None


def _expected(expected: Any, host: str) -> Any:
    """The cluster `host` is expected in: `expected` maps host -> name, or is the play's hostvars (then the host's
    container_instance_cluster)."""
    if not isinstance(expected, Mapping):
        return expected
    value = expected.get(host) if host in expected else None
    if isinstance(value, Mapping):
        value = value.get("container_instance_cluster")
    return value if isinstance(value, str) else None


def _check_results(results: Any, name: str) -> dict:
    if not isinstance(results, dict):
        raise AnsibleFilterError(
            "%s expects a dict of host -> registered result, got %s" % (name, type(results).__name__)
        )
    return results


def ecs_clusters(results: Any, expected: Any = None) -> list:
    """The clusters of the probed hosts (sorted, each once)."""
    results = _check_results(results, "ecs_clusters")
    found = set()
    for host, result in results.items():
        result = host_result(result)
        if _probed(result):
            cluster = _host_cluster(result, _expected(expected, host))
            if cluster:
                found.add(cluster)
    return sorted(found)


# --- the join ------------------------------------------------------------------------------------------------------


def _views(views: Any) -> dict:
    """cluster -> {"error": str|None, "by_arn": {...}, "by_ec2": {...}, "instances": [...]} from the registered loop
    results of ecs_container_instance_info (one item per cluster; a later read of the same cluster, say of a few of its
    instances, updates the earlier one)."""
    if isinstance(views, dict) and "results" in views:
        views = views["results"]
    out: dict = {}
    for view in views or []:
        if not isinstance(view, dict) or view.get("skipped"):
            continue
        cluster = view.get("item")  # the loop item: a cluster name, or {"cluster": name, ...}
        if isinstance(cluster, Mapping):
            cluster = cluster.get("cluster")
        cluster = cluster or (view.get("cluster") or {}).get("name")
        if view.get("failed") or "instances" not in view:
            if cluster not in out:
                out[cluster] = {
                    "error": _one_line(view.get("msg")) or "no answer",
                    "by_arn": {},
                    "by_ec2": {},
                    "instances": [],
                }
            continue
        entry = out.get(cluster)
        if entry is None or entry["error"]:
            entry = out[cluster] = {"error": None, "by_arn": {}, "by_ec2": {}, "instances": []}
        for instance in view["instances"]:
            instance = dict(instance)
            entry["by_arn"][instance["container_instance_arn"]] = instance
            known = entry["by_ec2"].get(instance.get("ec2_instance_id"))
            # the connected one when an EC2 instance registered twice
            if (
                known is None
                or known["container_instance_arn"] == instance["container_instance_arn"]
                or (instance.get("agent_connected") and not known.get("agent_connected"))
            ):
                entry["by_ec2"][instance.get("ec2_instance_id")] = instance
        entry["instances"] = list(entry["by_arn"].values())
    return out


def _apply_changes(index: dict, changes: Any) -> dict:
    """Merge the registered loop results of ecs_container_instance (items carry `host` and `cluster`) into the views;
    host -> {"done": changes, "error": msg}."""
    if isinstance(changes, dict) and "results" in changes:
        changes = changes["results"]
    outcome = {}
    for change in changes or []:
        if not isinstance(change, dict) or change.get("skipped") or not isinstance(change.get("item"), dict):
            continue
        item = change["item"]
        host = item.get("host")
        if change.get("failed") or "container_instance" not in change:
            outcome[host] = {"action": item, "error": _one_line(change.get("msg")) or "no answer", "changed": False}
            continue
        after = dict(change["container_instance"])
        view = index.get(item.get("cluster"))
        if view is not None:
            view["by_arn"][after["container_instance_arn"]] = after
            view["by_ec2"][after.get("ec2_instance_id")] = after
        outcome[host] = {"action": item, "error": None, "changed": bool(change.get("changed"))}
    return outcome


def _finding(code: str, message: str, fix: str, informational: bool = False) -> dict:
    found: dict[str, Any] = {"code": code, "message": message, "fix": fix}
    if informational:
        found["informational"] = True
    return found


def _marker_words(marker: dict | None) -> str:
    if not marker:
        return ""
    why = ", ".join(marker["codes"]) if marker["codes"] else "no finding recorded"
    if marker["mode"] == "rolling_reboot":
        return "drained by ecs_windows.task_iam.rolling_reboot at %s" % marker["time"]
    return "quarantined by ecs_windows.task_iam (%s) at %s because of %s" % (marker["mode"], marker["time"], why)


def _instance_findings(host: str, cluster: str, instance: dict, marker: dict | None) -> list:
    arn = instance["container_instance_arn"]
    out = []
    if instance.get("agent_connected") is False:
        out.append(
            _finding(
                "ecs_agent_disconnected",
                "ECS reports the agent of container instance %s disconnected (agentConnected false): ECS places no "
                "task on it and cannot stop its tasks" % arn,
                "check that the instance reaches ecs.<region>.amazonaws.com and the ecs-t-*/ecs-a-* endpoints on port "
                "443 (through its HTTP_PROXY if it has one) and read C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log; "
                "then restart the agent on the host: Restart-Service -Name AmazonECS",
            )
        )
    if not instance.get("task_iam_role"):
        out.append(
            _finding(
                "ecs_task_iam_capability_missing",
                "container instance %s is registered without com.amazonaws.ecs.capability.task-iam-role: ECS places no "
                "task that has a task role on it" % arn,
                "turn IAM roles for tasks on and let the agent register again: ansible-playbook "
                "ecs_windows.task_iam.configure --limit %s (the agent module with task_iam_role: true); when the host "
                "already has ECS_ENABLE_TASK_IAM_ROLE=true, restart the agent so that it registers its capabilities "
                "again: Restart-Service -Name AmazonECS" % host,
            )
        )
    status = instance.get("status")
    if status == "DRAINING":
        ours = marker is not None and marker["mode"] in DRAINED_BY
        if ours:
            out.append(
                _finding(
                    "ecs_instance_draining",
                    "container instance %s is DRAINING, %s" % (arn, _marker_words(marker)),
                    "once the host is healthy, ansible-playbook ecs_windows.task_iam.recover (or configure) returns it "
                    "to ACTIVE; the collection only returns instances it drained itself",
                )
            )
        else:
            out.append(
                _finding(
                    "ecs_instance_draining",
                    "container instance %s is DRAINING, not by this collection (no %s attribute): it is left as it is"
                    % (arn, MARKER),
                    "when whoever drained it is done: aws ecs update-container-instances-state --cluster %s "
                    "--container-instances %s --status ACTIVE" % (cluster, arn),
                    informational=True,
                )
            )
    elif status not in ("ACTIVE", None):
        out.append(
            _finding(
                "ecs_instance_not_found",
                "container instance %s of cluster %s is %s%s"
                % (arn, cluster, status, " (%s)" % instance["status_reason"] if instance.get("status_reason") else ""),
                _reregister_fix(host),
            )
        )
    if (instance.get("attributes") or {}).get(CREDENTIALS) == BROKEN:
        ours = marker is not None and marker["mode"] == "attribute"
        out.append(
            _finding(
                "ecs_credentials_marked_broken",
                "container instance %s has the attribute %s=%s, which keeps tasks placed with the constraint %s off "
                "it%s"
                % (
                    arn,
                    CREDENTIALS,
                    BROKEN,
                    _PLACEMENT,
                    ", " + _marker_words(marker) if ours else " (not set by this collection)",
                ),
                "once the host is healthy, ansible-playbook ecs_windows.task_iam.recover (or configure) removes it"
                if ours
                else "remove it when the host is healthy: aws ecs delete-attributes --cluster %s --attributes "
                "name=%s,targetType=container-instance,targetId=%s" % (cluster, CREDENTIALS, arn),
            )
        )
    return out


def _reregister_fix(host: str) -> str:
    return (
        "register the instance again: ansible-playbook ecs_windows.task_iam.configure --limit %s -e "
        "container_instance_force_reregister=true (deletes the agent's saved registration, so it registers a new "
        "container instance; tasks still running on the old one are stranded)" % host
    )


def _ecs_entry(cluster: str, instance: dict | None, claimed: str | None, ec2_id: str | None) -> dict:
    attributes = (instance or {}).get("attributes") or {}
    marker = parse_marker(attributes.get(MARKER))
    return {
        "cluster": cluster,
        "container_instance_arn": (instance or {}).get("container_instance_arn") or claimed,
        "ec2_instance_id": (instance or {}).get("ec2_instance_id") or ec2_id,
        "found": instance is not None,
        "status": (instance or {}).get("status"),
        "agent_connected": (instance or {}).get("agent_connected"),
        "agent_version": (instance or {}).get("agent_version"),
        "running_tasks": (instance or {}).get("running_tasks_count"),
        "pending_tasks": (instance or {}).get("pending_tasks_count"),
        "task_iam_role": (instance or {}).get("task_iam_role"),
        "credentials_attribute": attributes.get(CREDENTIALS),
        "quarantined": marker is not None,
        "quarantine": marker,
    }


def _join_host(host: str, result: dict, cluster: str | None, views: dict) -> dict:
    registration = result.get("registration") or {}
    claimed = registration.get("container_instance_arn")
    ec2_id = (result.get("identity") or {}).get("ec2_instance_id")
    if not cluster:
        return result
    view = views.get(cluster)
    extra = []
    if view is None:
        return result
    if view["error"]:
        result["ecs"] = _ecs_entry(cluster, None, claimed, ec2_id)
        extra.append(
            _finding(
                "ecs_view_failed",
                "the container instances of cluster %s could not be read: %s" % (cluster, view["error"]),
                "check the cluster (container_instance_cluster), the region (task_iam_ecs_region) and the AWS "
                "credentials (ecs:DescribeClusters, ecs:ListContainerInstances, ecs:DescribeContainerInstances), then "
                "run verify again",
            )
        )
    else:
        instance = view["by_arn"].get(claimed) if claimed else None
        by_ec2 = view["by_ec2"].get(ec2_id) if ec2_id else None
        if claimed and instance is None:
            extra.append(
                _finding(
                    "ecs_instance_not_found",
                    "the agent reports container instance %s, which cluster %s does not list (ECS lists its ACTIVE and "
                    "DRAINING instances: the instance was deregistered, or the cluster was recreated)%s"
                    % (
                        claimed,
                        cluster,
                        "; ECS knows EC2 instance %s as %s" % (ec2_id, by_ec2["container_instance_arn"])
                        if by_ec2
                        else "",
                    ),
                    _reregister_fix(host),
                )
            )
            instance = by_ec2
        elif instance is None:
            instance = by_ec2
        result["ecs"] = _ecs_entry(cluster, instance, claimed, ec2_id)
        if instance is not None:
            extra += _instance_findings(host, cluster, instance, result["ecs"]["quarantine"])
    if extra:
        result["findings"] = list(result.get("findings") or []) + extra
        result["healthy"] = not _problems(result["findings"])
    return result


def ecs_join(results: Any, views: Any = None, expected: Any = None, changes: Any = None) -> dict:
    """host -> the host's result in the shape of instance_info's (see host_result), and with `views` (the registered
    loop of ecs_container_instance_info over ecs_clusters) its `ecs` and the ECS findings. `changes`: the registered
    loop of ecs_container_instance over quarantine_plan/quarantine_release/wave_drain actions, merged in (and kept as
    `ecs.change`). `expected`: the cluster each host should be in (host -> name, or hostvars), for hosts the probe
    cannot place."""
    results = _check_results(results, "ecs_join")
    index = _views(views)
    outcome = _apply_changes(index, changes)
    out = {}
    for host, result in results.items():
        result = host_result(result)
        if not _probed(result) or not index:
            out[host] = result
            continue
        result = _join_host(host, result, _host_cluster(result, _expected(expected, host)), index)
        if host in outcome and isinstance(result.get("ecs"), dict):
            result["ecs"]["change"] = outcome[host]
        out[host] = result
    return out


def host_entries(hosts: Any, hostvars: Any, fact: str) -> dict:
    """host -> hostvars[host][fact][host], for a fact that a run_once task set to a mapping of its batch's hosts (each
    host of a serial play has its own batch's mapping); a host without it maps to None. Linear in the hosts."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("host_entries expects a list of host names, got %s" % type(hosts).__name__)
    out = {}
    for host in hosts:
        variables = hostvars[host] if host in hostvars else {}
        batch = variables.get(fact) if isinstance(variables, Mapping) else None
        out[host] = batch.get(host) if isinstance(batch, Mapping) else None
    return out


# --- quarantine ----------------------------------------------------------------------------------------------------


def _needs_quarantine(result: dict) -> list:
    """The codes that make a host a quarantine candidate (its problems, not counting the collection's own quarantine
    findings); empty when it needs none."""
    return [f["code"] for f in _problems(result.get("findings")) if f.get("code") not in QUARANTINE_CODES]


def _active_count(view: dict) -> int:
    """The cluster's container instances in service before any quarantine of this collection: ACTIVE ones and those the
    collection drained."""
    count = 0
    for instance in view["instances"]:
        marker = parse_marker((instance.get("attributes") or {}).get(MARKER))
        if instance.get("status") == "ACTIVE" or (marker and marker["mode"] in DRAINED_BY):
            count += 1
    return count


def _quarantined_count(view: dict) -> int:
    return sum(1 for i in view["instances"] if parse_marker((i.get("attributes") or {}).get(MARKER)))


def _int_percent(value: Any) -> int:
    if isinstance(value, bool):
        raise AnsibleFilterError("quarantine_plan: max_percent must be an integer from 0 to 100, got %r" % value)
    try:
        percent = int(str(value).strip())
    except ValueError:
        raise AnsibleFilterError(
            "quarantine_plan: max_percent must be an integer from 0 to 100, got %r" % value
        ) from None
    if not 0 <= percent <= 100:
        raise AnsibleFilterError("quarantine_plan: max_percent must be an integer from 0 to 100, got %r" % value)
    return percent


def quarantine_plan(results: Any, mode: str, max_percent: Any = 50, views: Any = None, when: str = "") -> dict:
    """The quarantine of verify: the ecs_container_instance calls that take each unhealthy host out of service (mode
    drain: DRAINING; attribute: CREDENTIALS=broken), each with the MARKER, within max_percent of each cluster's
    active instances; {"mode", "actions", "refused", "skipped", "lines"}."""
    results = _check_results(results, "quarantine_plan")
    if mode not in QUARANTINE_MODES:
        raise AnsibleFilterError(
            "quarantine_plan: mode must be one of %s, got %r" % (", ".join(QUARANTINE_MODES), mode)
        )
    percent = _int_percent(max_percent)
    plan: dict = {"mode": mode, "actions": [], "refused": [], "skipped": [], "lines": []}
    if mode == "none":
        return plan
    index = _views(views)
    candidates: dict = {}
    for host in sorted(results):
        result = host_result(results[host])
        ecs = result.get("ecs") if isinstance(result, dict) else None
        if not _probed(result) or not isinstance(ecs, dict):
            continue
        codes = _needs_quarantine(result)
        if not codes:
            continue
        if not ecs.get("found"):
            plan["skipped"].append({"host": host, "reason": "ECS does not list its container instance"})
        elif ecs.get("quarantined"):
            plan["skipped"].append({"host": host, "reason": "already quarantined (%s)" % ecs["quarantine"]["mode"]})
        elif mode == "drain" and ecs.get("status") != "ACTIVE":
            plan["skipped"].append(
                {"host": host, "reason": "%s, not by this collection: left as it is" % ecs.get("status")}
            )
        else:
            candidates.setdefault(ecs["cluster"], []).append((host, ecs, codes))
    for cluster in sorted(candidates):
        view = index.get(cluster) or {"instances": []}
        active = _active_count(view)
        allowed = active * percent // 100
        taken = _quarantined_count(view)
        for host, ecs, codes in candidates[cluster]:
            if taken + 1 > allowed:
                plan["refused"].append(
                    {
                        "host": host,
                        "cluster": cluster,
                        "reason": "quarantine of %s refused: it would take %d of the %d active container instances of "
                        "cluster %s out of service, more than task_iam_quarantine_max_percent (%d%%), so that a "
                        "fleet-wide false alarm cannot empty a cluster; fix the hosts' findings, or raise "
                        "task_iam_quarantine_max_percent" % (host, taken + 1, active, cluster, percent),
                    }
                )
                continue
            taken += 1
            attributes = {MARKER: marker_value(mode, when, codes)}
            action = {
                "host": host,
                "cluster": cluster,
                "container_instance": ecs["container_instance_arn"],
                "codes": codes,
            }
            if mode == "drain":
                action["status"] = "DRAINING"
            else:
                attributes[CREDENTIALS] = BROKEN
            action["attributes"] = attributes
            plan["actions"].append(_labelled(action))
    plan["lines"] = _plan_lines(plan)
    return plan


def _plan_lines(plan: dict) -> list:
    verb = {"drain": "drain (DRAINING)", "attribute": "mark %s=%s" % (CREDENTIALS, BROKEN)}[plan["mode"]]
    lines = []
    if plan["actions"]:
        lines.append(
            "Quarantine, %s: %s"
            % (verb, ", ".join("%s [%s]" % (a["host"], ", ".join(a["codes"])) for a in plan["actions"]))
        )
    lines += [r["reason"] for r in plan["refused"]]
    lines += ["Quarantine skipped for %s: %s" % (s["host"], s["reason"]) for s in plan["skipped"]]
    if not lines:
        lines.append("Quarantine, %s: no host to quarantine" % verb)
    return lines


def quarantine_release(results: Any) -> dict:
    """The ecs_container_instance calls that return each host the collection took out of service and that is now
    healthy: ACTIVE again when the collection drained it, the collection's attributes removed; never a host someone
    else drained. {"actions", "kept"}."""
    results = _check_results(results, "quarantine_release")
    plan: dict = {"actions": [], "kept": []}
    for host in sorted(results):
        result = host_result(results[host])
        ecs = result.get("ecs") if isinstance(result, dict) else None
        if not _probed(result) or not isinstance(ecs, dict) or not ecs.get("quarantined") or not ecs.get("found"):
            continue
        codes = _needs_quarantine(result)
        if codes:
            plan["kept"].append({"host": host, "codes": codes})
            continue
        marker = ecs["quarantine"]
        action = {
            "host": host,
            "cluster": ecs["cluster"],
            "container_instance": ecs["container_instance_arn"],
            "remove_attributes": [MARKER],
            "marker": marker,
        }
        if marker["mode"] in DRAINED_BY and ecs.get("status") == "DRAINING":
            action["status"] = "ACTIVE"
        # Whatever the mode: a rolling reboot may have drained an instance the collection had marked.
        if ecs.get("credentials_attribute") is not None:
            action["remove_attributes"].append(CREDENTIALS)
        plan["actions"].append(_labelled(action))
    return plan


def wave_drain(results: Any, when: str = "") -> dict:
    """The rolling reboot's drain of a batch: DRAINING with the MARKER for each ACTIVE container instance; hosts that
    are already DRAINING (by someone else: left as they are, never reactivated), or without a container instance, are
    listed in `skipped`. `watch`: per cluster, the container instances whose tasks must leave before the reboot (the
    drained and the already draining ones). {"actions", "skipped", "watch"}."""
    results = _check_results(results, "wave_drain")
    plan: dict = {"actions": [], "skipped": [], "watch": []}
    watch: dict = {}
    for host in sorted(results):
        result = host_result(results[host])
        ecs = result.get("ecs") if isinstance(result, dict) else None
        if not _probed(result):
            continue
        if not isinstance(ecs, dict) or not ecs.get("found"):
            plan["skipped"].append({"host": host, "reason": "ECS does not list its container instance: not drained"})
            continue
        if ecs.get("quarantined") and ecs.get("status") == "DRAINING":
            plan["skipped"].append(
                {"host": host, "reason": "already drained by this collection (%s)" % ecs["quarantine"]["mode"]}
            )
        elif ecs.get("status") != "ACTIVE":
            plan["skipped"].append(
                {
                    "host": host,
                    "reason": "%s, not by this collection: rebooted, and left %s"
                    % (ecs.get("status"), ecs.get("status")),
                }
            )
        else:
            plan["actions"].append(
                _labelled(
                    {
                        "host": host,
                        "cluster": ecs["cluster"],
                        "container_instance": ecs["container_instance_arn"],
                        "status": "DRAINING",
                        "attributes": {MARKER: marker_value("rolling_reboot", when, [])},
                    }
                )
            )
        if ecs.get("status") in ("ACTIVE", "DRAINING"):
            watch.setdefault(ecs["cluster"], []).append(ecs["container_instance_arn"])
    plan["watch"] = [{"cluster": cluster, "container_instances": arns} for cluster, arns in sorted(watch.items())]
    return plan


def _labelled(action: dict) -> dict:
    """The action with `label`, the line the playbook shows for it."""
    words = []
    if action.get("status"):
        words.append("set %s" % action["status"])
    if action.get("attributes"):
        words.append("put %s" % ", ".join("%s=%s" % item for item in sorted(action["attributes"].items())))
    if action.get("remove_attributes"):
        words.append("remove %s" % ", ".join(action["remove_attributes"]))
    action["label"] = "%s: %s" % (action["host"], "; ".join(words))
    return action


class FilterModule(object):
    def filters(self) -> dict:
        return {
            "ecs_clusters": ecs_clusters,
            "ecs_join": ecs_join,
            "host_entries": host_entries,
            "quarantine_plan": quarantine_plan,
            "quarantine_release": quarantine_release,
            "wave_drain": wave_drain,
        }
