# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of the ecs_container_instance and ecs_container_instance_info modules: input checks, the ECS
lookups (DescribeContainerInstances, ListContainerInstances) and the plan of a state change.

The checks and the plan are pure functions; the lookups take an ECS client wrapped with AWSRetry (every call
passes aws_retry=True). Facts about the ECS API the code relies on are in docs/ecs.md.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

DESCRIBE_BATCH = 100  # DescribeContainerInstances takes up to 100 ids or ARNs
FILTER_BATCH = 50  # EC2 instance ids per ListContainerInstances filter expression
ATTRIBUTE_BATCH = 10  # PutAttributes / DeleteAttributes take up to 10 attributes per call
STATES = ("ACTIVE", "DRAINING")
TASK_IAM_ROLE = "com.amazonaws.ecs.capability.task-iam-role"
# Attributes the ECS agent and ECS set (capabilities, ecs.os-type, ecs.ami-id...): never managed here.
BUILTIN_PREFIXES = ("ecs.", "com.amazonaws.ecs.")
# ECS throttles with ThrottlingException, which AWSRetry does not retry on its own.
RETRY = AWSRetry.jittered_backoff(retries=8, delay=2, max_delay=30, catch_extra_error_codes=["ThrottlingException"])

_PARTITION_REGION_ACCOUNT = r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}"
_CLUSTER_NAME = r"[A-Za-z0-9_-]{1,255}"
_INSTANCE_ID = r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CLUSTER_RE = re.compile(r"^(?:%s:cluster/)?(%s)$" % (_PARTITION_REGION_ACCOUNT, _CLUSTER_NAME))
INSTANCE_RE = re.compile(
    r"^(?:%s:container-instance/(?:(%s)/)?)?(%s)$" % (_PARTITION_REGION_ACCOUNT, _CLUSTER_NAME, _INSTANCE_ID)
)
EC2_ID_RE = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ATTRIBUTE_NAME_RE = re.compile(r"^[A-Za-z0-9_./\\-]{1,128}$")
ATTRIBUTE_VALUE_RE = re.compile(r"^[A-Za-z0-9_.@/\\: -]{1,128}$")


class InputError(ValueError):
    """Bad module input; the message names the argument and the fix."""


# --- input checks (pure) -----------------------------------------------------------------------


def cluster_name(cluster: Any) -> str:
    """The cluster's short name from a name or a cluster ARN."""
    match = CLUSTER_RE.match(cluster) if isinstance(cluster, str) else None
    if match is None:
        raise InputError(
            "cluster %r is not an ECS cluster name (letters, digits, '-', '_', up to 255) or a cluster ARN"
            " (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)" % (cluster,)
        )
    return match.group(1)


def container_instance_id(ref: Any, cluster: str, argument: str) -> str:
    """The container instance id (the last part of its ARN) of an id or an ARN; an ARN that names another
    cluster than `cluster` is refused."""
    match = INSTANCE_RE.match(ref) if isinstance(ref, str) else None
    if match is None:
        raise InputError(
            "%s: %r is not a container instance id (32 hex digits or a UUID) or a container instance ARN "
            "(arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID)" % (argument, ref)
        )
    if match.group(1) is not None and match.group(1) != cluster:
        raise InputError(
            "%s: %s belongs to cluster %s, not to cluster %s: give the matching cluster"
            % (argument, ref, match.group(1), cluster)
        )
    return match.group(2)


def ec2_instance_id(value: Any, argument: str) -> str:
    if not isinstance(value, str) or EC2_ID_RE.match(value) is None:
        raise InputError("%s: %r is not an EC2 instance id (i- and 8 or 17 hex digits)" % (argument, value))
    return value


def check_attribute_name(name: Any, argument: str) -> str:
    if not isinstance(name, str) or ATTRIBUTE_NAME_RE.match(name) is None:
        raise InputError(
            "%s: attribute name %r must be 1 to 128 letters, digits, '-', '_', '.', '/' or '\\'" % (argument, name)
        )
    if name.startswith(BUILTIN_PREFIXES):
        raise InputError(
            "%s: %s is a built-in attribute (names starting with %s are set by the ECS agent and ECS); "
            "this module manages custom attributes only" % (argument, name, " or ".join(BUILTIN_PREFIXES))
        )
    return name


def check_attribute_value(name: str, value: Any) -> str | None:
    """None (a name-only attribute) or the value; ints and booleans are refused so YAML cannot turn them into
    something else than what was written."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(
            "attributes: the value of %s must be a string or null, got %s %r (quote it in YAML)"
            % (name, type(value).__name__, value)
        )
    if ATTRIBUTE_VALUE_RE.match(value) is None or value != value.strip():
        raise InputError(
            "attributes: the value of %s (%r) must be 1 to 128 letters, digits, spaces or '-_.@/\\:' "
            "and cannot start or end with a space" % (name, value)
        )
    return value


def unique(values: list) -> list:
    return list(dict.fromkeys(values))


# --- what ECS returns, as the modules report it (pure) -------------------------------------------


def attribute_dict(attributes: list[dict]) -> dict:
    return {a["name"]: a.get("value") for a in attributes or []}


def custom_attributes(attributes: dict) -> dict:
    return {name: value for name, value in sorted(attributes.items()) if not name.startswith(BUILTIN_PREFIXES)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (None if value is None else str(value))


def normalize(ci: dict) -> dict:
    """One container instance as both modules return it (RETURN of ecs_container_instance_info)."""
    attributes = attribute_dict(ci.get("attributes") or [])
    health = ci.get("healthStatus") or {}
    return {
        "container_instance_arn": ci["containerInstanceArn"],
        "container_instance_id": ci["containerInstanceArn"].rsplit("/", 1)[-1],
        "ec2_instance_id": ci.get("ec2InstanceId"),
        "status": ci.get("status"),
        "status_reason": ci.get("statusReason"),
        "agent_connected": ci.get("agentConnected"),
        "agent_version": (ci.get("versionInfo") or {}).get("agentVersion"),
        "agent_update_status": ci.get("agentUpdateStatus"),
        "running_tasks_count": ci.get("runningTasksCount", 0),
        "pending_tasks_count": ci.get("pendingTasksCount", 0),
        "attributes": dict(sorted(attributes.items())),
        "attribute_list": [{"name": a["name"], "value": a.get("value")} for a in ci.get("attributes") or []],
        "task_iam_role": TASK_IAM_ROLE in attributes,
        "os_family": attributes.get("ecs.os-family"),
        "health_status": health.get("overallStatus"),
        "health_details": [
            {
                "type": d.get("type"),
                "status": d.get("status"),
                "last_updated": _iso(d.get("lastUpdated")),
                "last_status_change": _iso(d.get("lastStatusChange")),
            }
            for d in health.get("details") or []
        ],
        "registered_at": _iso(ci.get("registeredAt")),
        "capacity_provider_name": ci.get("capacityProviderName"),
    }


# --- lookups (an AWSRetry-wrapped ECS client) ------------------------------------------------------


class NotFound(Exception):
    """The cluster or a container instance the state module needs does not exist; the message says which."""


def describe_cluster(client: Any, cluster: str) -> dict:
    """DescribeClusters; NotFound unless the cluster exists and is ACTIVE."""
    found = client.describe_clusters(clusters=[cluster], aws_retry=True).get("clusters") or []
    if not found or found[0].get("status") != "ACTIVE":
        status = found[0].get("status") if found else "MISSING"
        raise NotFound("cluster %s is %s in this region: check cluster and region" % (cluster, status))
    return found[0]


def describe(client: Any, cluster: str, refs: list[str]) -> tuple[list[dict], list[str]]:
    """(container instances, ids ECS reported missing) for ids or ARNs, in batches of DESCRIBE_BATCH."""
    found: list[dict]
    missing: list[str]
    found, missing = [], []
    for start in range(0, len(refs), DESCRIBE_BATCH):
        answer = client.describe_container_instances(
            cluster=cluster,
            containerInstances=refs[start : start + DESCRIBE_BATCH],
            include=["CONTAINER_INSTANCE_HEALTH"],
            aws_retry=True,
        )
        found.extend(answer.get("containerInstances") or [])
        missing.extend(f["arn"].rsplit("/", 1)[-1] for f in answer.get("failures") or [] if f.get("arn"))
    return found, missing


def list_arns(client: Any, cluster: str, expression: str | None = None) -> list[str]:
    """ListContainerInstances (every page), with a cluster query language filter when given."""
    arns: list[str]
    arns, token = [], None
    while True:
        kwargs: dict[str, Any] = {"cluster": cluster, "maxResults": 100}
        if expression:
            kwargs["filter"] = expression
        if token:
            kwargs["nextToken"] = token
        answer = client.list_container_instances(aws_retry=True, **kwargs)
        arns.extend(answer.get("containerInstanceArns") or [])
        token = answer.get("nextToken")
        if not token:
            return arns


def ec2_filter(ids: list[str]) -> str:
    """The cluster query language expression that selects these EC2 instances."""
    return "ec2InstanceId in [%s]" % ", ".join("'%s'" % i for i in ids)


def find_by_ec2_ids(client: Any, cluster: str, ec2_ids: list[str]) -> list[dict]:
    """The container instances of these EC2 instances. The filter narrows the listing where ECS applies it;
    the match on ec2InstanceId is done here too, so an endpoint that ignores the filter gives the same answer."""
    wanted = set(ec2_ids)
    arns: list[str] = []
    for start in range(0, len(ec2_ids), FILTER_BATCH):
        arns.extend(list_arns(client, cluster, ec2_filter(ec2_ids[start : start + FILTER_BATCH])))
    found = describe(client, cluster, unique(arns))[0]
    return [ci for ci in found if ci.get("ec2InstanceId") in wanted]


def lookup(client: Any, cluster: str, instance_ids: list[str], ec2_ids: list[str]) -> tuple[list[dict], dict]:
    """(container instances, {"container_instances": [...], "ec2_instance_ids": [...]} not found). With no ids at
    all: every container instance ListContainerInstances returns (ACTIVE and DRAINING)."""
    if not instance_ids and not ec2_ids:
        found = describe(client, cluster, list_arns(client, cluster))[0]
        return found, {"container_instances": [], "ec2_instance_ids": []}
    found, missing = describe(client, cluster, instance_ids) if instance_ids else ([], [])
    by_arn = {ci["containerInstanceArn"]: ci for ci in found}
    if ec2_ids:
        for ci in find_by_ec2_ids(client, cluster, ec2_ids):
            by_arn.setdefault(ci["containerInstanceArn"], ci)
    seen_ec2 = {ci.get("ec2InstanceId") for ci in by_arn.values()}
    return list(by_arn.values()), {
        "container_instances": [i for i in instance_ids if i in missing],
        "ec2_instance_ids": [i for i in ec2_ids if i not in seen_ec2],
    }


def pick_one(found: list[dict], what: str, cluster: str) -> dict:
    """The container instance of an EC2 instance: the only one, or the only one whose agent is connected (an
    instance whose agent data was reset registers again and leaves the old one disconnected)."""
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFound("%s has no container instance in cluster %s (ACTIVE or DRAINING)" % (what, cluster))
    connected = [ci for ci in found if ci.get("agentConnected")]
    if len(connected) == 1:
        return connected[0]
    listed = ", ".join("%s agent_connected=%s" % (ci["containerInstanceArn"], ci.get("agentConnected")) for ci in found)
    raise NotFound(
        "%s has %d container instances in cluster %s (%s): give container_instance instead"
        % (what, len(found), cluster, listed)
    )


# --- the state change (pure) ---------------------------------------------------------------------


def plan(current: dict, status: str | None, put: dict, remove: list[str]) -> dict:
    """What to change on `current` (a normalize() result): {"status": new status or None, "put": {name: value},
    "remove": [names]}; empty parts mean nothing to do. InputError for a status change ECS refuses."""
    new_status = None
    if status is not None and current["status"] != status:
        if current["status"] not in STATES:
            raise InputError(
                "status: container instance %s is %s; ECS moves only ACTIVE and DRAINING instances "
                "between those two states" % (current["container_instance_arn"], current["status"])
            )
        new_status = status
    attributes = current["attributes"]
    to_put = {name: value for name, value in put.items() if name not in attributes or attributes[name] != value}
    to_remove = [name for name in remove if name in attributes]
    return {"status": new_status, "put": to_put, "remove": to_remove}


def changed(changes: dict) -> bool:
    return bool(changes["status"] or changes["put"] or changes["remove"])


def predict(current: dict, changes: dict) -> dict:
    """The container instance as it will be after `changes` (for check mode)."""
    after = dict(current)
    if changes["status"]:
        after["status"] = changes["status"]
    attributes = dict(current["attributes"])
    attributes.update(changes["put"])
    for name in changes["remove"]:
        attributes.pop(name, None)
    after["attributes"] = dict(sorted(attributes.items()))
    after["attribute_list"] = [{"name": n, "value": v} for n, v in after["attributes"].items()]
    return after


def diff(before: dict, after: dict) -> dict:
    """Ansible's before/after of what the module manages: status and the custom attributes."""

    def view(ci: dict) -> dict:
        return {"status": ci["status"], "attributes": custom_attributes(ci["attributes"])}

    return {"before": view(before), "after": view(after)}


def attribute_calls(target_id: str, changes: dict) -> list[tuple[str, list[dict]]]:
    """[("put_attributes" | "delete_attributes", attributes)] in batches of ATTRIBUTE_BATCH. Deletions name the
    attribute and target without the value, as DeleteAttributes documents for custom attributes."""
    calls = []
    put = [
        dict(
            {"name": n, "targetId": target_id, "targetType": "container-instance"},
            **({"value": v} if v is not None else {}),
        )
        for n, v in changes["put"].items()
    ]
    remove = [{"name": n, "targetId": target_id, "targetType": "container-instance"} for n in changes["remove"]]
    for verb, items in (("put_attributes", put), ("delete_attributes", remove)):
        for start in range(0, len(items), ATTRIBUTE_BATCH):
            calls.append((verb, items[start : start + ATTRIBUTE_BATCH]))
    return calls
