#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_container_instance_info
short_description: Read the ECS view of container instances - status, agent connection, tasks, attributes
version_added: 0.1.0
description:
  - Looks up container instances of an Amazon ECS cluster by container instance ARN or id, by EC2 instance id, or
    all of them, and reports how ECS sees each - V(ACTIVE) or V(DRAINING), whether its agent is connected, the agent
    version, running and pending task counts, its attributes (for example whether it registered the
    C(com.amazonaws.ecs.capability.task-iam-role) capability) and its health status where ECS reports one.
  - Reports which of the requested ids ECS does not know, so that a host can be joined with what ECS knows about it
    (its EC2 instance id comes from instance metadata, its container instance ARN from the agent).
  - Runs on the controller (use C(delegate_to) C(localhost) or C(connection) C(local)); makes only read calls
    (DescribeClusters, ListContainerInstances, DescribeContainerInstances), retried with backoff when ECS throttles.
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  cluster:
    description:
      - The cluster, as its short name or its ARN.
    type: str
    required: true
  container_instances:
    description:
      - Container instances to report, as ARNs or ids (the last part of the ARN).
      - An ARN that names another cluster than O(cluster) is refused before anything is sent.
    type: list
    elements: str
    default: []
  ec2_instance_ids:
    description:
      - EC2 instances whose container instances to report (C(i-...)).
      - When both O(container_instances) and O(ec2_instance_ids) are empty, every container instance that
        C(ListContainerInstances) returns (ACTIVE and DRAINING) is reported.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs where the task is delegated to (the controller); it calls the ECS API, not the instance.
notes:
  - Bad input (a malformed cluster, ARN or EC2 instance id) fails before any AWS call.
  - EC2 instance ids are looked up with C(ListContainerInstances) and the filter C(ec2InstanceId in [...]) (50 ids per
    expression), then C(DescribeContainerInstances) in batches of 100; the match on the EC2 instance id is checked again
    on the answer.
  - A missing or inactive cluster fails with a message naming it.
  - See C(docs/ecs.md) of the collection for the ECS behaviour this relies on.
seealso:
  - module: ecs_windows.task_iam.ecs_container_instance
  - module: ecs_windows.task_iam.instance_info
"""

EXAMPLES = r"""
- name: How does ECS see this host? (ec2_instance_id read from the host's instance metadata)
  ecs_windows.task_iam.ecs_container_instance_info:
    cluster: windows-prod
    region: eu-west-1
    ec2_instance_ids: ["{{ ec2_instance_id }}"]
  delegate_to: localhost
  register: ecs_view

- name: Hosts registered without the task IAM role capability cannot run tasks with a role
  ansible.builtin.assert:
    that: ecs_view.instances | rejectattr('task_iam_role') | list | length == 0
    fail_msg: >-
      registered without com.amazonaws.ecs.capability.task-iam-role:
      {{ ecs_view.instances | rejectattr('task_iam_role') | map(attribute='ec2_instance_id') | list }}

- name: Every container instance of the cluster, once for the whole play
  ecs_windows.task_iam.ecs_container_instance_info:
    cluster: windows-prod
  delegate_to: localhost
  run_once: true
  register: cluster_view

- name: Wait (bounded, one line per try) until a drained instance runs no task
  ecs_windows.task_iam.ecs_container_instance_info:
    cluster: windows-prod
    container_instances: ["{{ container_instance_arn }}"]
  delegate_to: localhost
  register: drained
  until: drained.instances[0].running_tasks_count == 0
  retries: 60
  delay: 10
"""

RETURN = r"""
cluster:
  description: The cluster as DescribeClusters reports it.
  returned: always
  type: dict
  contains:
    name:
      description: Short name.
      type: str
      sample: windows-prod
    arn:
      description: ARN.
      type: str
      sample: arn:aws:ecs:eu-west-1:123456789012:cluster/windows-prod
    status:
      description: V(ACTIVE) (the module fails for any other status).
      type: str
      sample: ACTIVE
    registered_container_instances_count:
      description: Container instances registered in the cluster.
      type: int
      sample: 6
instances:
  description: The container instances found, in the order ECS returned them.
  returned: always
  type: list
  elements: dict
  contains:
    container_instance_arn:
      description: ARN.
      type: str
      sample: arn:aws:ecs:eu-west-1:123456789012:container-instance/windows-prod/0a1b2c3d4e5f60718293a4b5c6d7e8f9
    container_instance_id:
      description: The last part of the ARN.
      type: str
      sample: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
    ec2_instance_id:
      description: The EC2 instance.
      type: str
      sample: i-0123456789abcdef0
    status:
      description: V(REGISTERING), V(REGISTRATION_FAILED), V(ACTIVE), V(INACTIVE), V(DEREGISTERING) or V(DRAINING).
      type: str
      sample: ACTIVE
    status_reason:
      description: Why the instance has this status, when ECS says.
      type: str
      sample: null
    agent_connected:
      description: Whether the ECS agent of the instance is connected to ECS.
      type: bool
      sample: true
    agent_version:
      description: The agent version ECS knows (C(versionInfo.agentVersion)).
      type: str
      sample: 1.105.1
    agent_update_status:
      description: Status of an agent update ECS started, if any.
      type: str
      sample: null
    running_tasks_count:
      description: Tasks in the RUNNING state on the instance.
      type: int
      sample: 3
    pending_tasks_count:
      description: Tasks in the PENDING state on the instance.
      type: int
      sample: 0
    attributes:
      description: Attributes as name -> value (V(null) for attributes that have only a name, such as capabilities).
      type: dict
      sample: {"com.amazonaws.ecs.capability.task-iam-role": null, "ecs.os-type": "windows"}
    attribute_list:
      description: Attributes as ECS returns them.
      type: list
      elements: dict
      sample: [{"name": "ecs.os-type", "value": "windows"}]
    task_iam_role:
      description: Whether the instance registered C(com.amazonaws.ecs.capability.task-iam-role), without which ECS
        places no task that has a task role on it.
      type: bool
      sample: true
    os_family:
      description: The C(ecs.os-family) attribute, for example V(WINDOWS_SERVER_2022_FULL).
      type: str
      sample: WINDOWS_SERVER_2022_FULL
    health_status:
      description: C(healthStatus.overallStatus) (V(OK), V(IMPAIRED), V(INSUFFICIENT_DATA), V(INITIALIZING)), or
        V(null) when ECS reports none. ECS instance health covers the container runtime, not the credential proxy.
      type: str
      sample: OK
    health_details:
      description: The health checks behind RV(instances[].health_status).
      type: list
      elements: dict
      sample: []
    registered_at:
      description: When the instance registered (ISO 8601).
      type: str
      sample: "2026-12-01T08:00:00+00:00"
    capacity_provider_name:
      description: Capacity provider of the instance, if any.
      type: str
      sample: null
by_ec2_instance_id:
  description: RV(instances) keyed by EC2 instance id (the instance whose agent is connected when an EC2 instance has
    several container instances).
  returned: always
  type: dict
  sample: {"i-0123456789abcdef0": {"status": "ACTIVE"}}
missing:
  description: Requested ids ECS does not know in this cluster.
  returned: always
  type: dict
  contains:
    container_instances:
      description: Requested container instance ids (from ids or ARNs) that DescribeContainerInstances reported missing.
      type: list
      elements: str
      sample: []
    ec2_instance_ids:
      description: Requested EC2 instances without a container instance (ACTIVE or DRAINING) in the cluster.
      type: list
      elements: str
      sample: ["i-0fedcba9876543210"]
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ecs_windows.task_iam.plugins.module_utils import _ecs_container_instance as eci


def _by_ec2_instance_id(instances: list[dict]) -> dict:
    grouped: dict = {}
    for item in instances:
        grouped.setdefault(item["ec2_instance_id"], []).append(item)
    out = {}
    for ec2_id, items in grouped.items():
        connected = [i for i in items if i["agent_connected"]]
        out[ec2_id] = connected[0] if len(connected) == 1 else items[0]
    return out


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            container_instances=dict(type="list", elements="str", default=[]),
            ec2_instance_ids=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        cluster = eci.cluster_name(module.params["cluster"])
        instance_ids = eci.unique(
            [
                eci.container_instance_id(ref, cluster, "container_instances")
                for ref in module.params["container_instances"]
            ]
        )
        ec2_ids = eci.unique([eci.ec2_instance_id(i, "ec2_instance_ids") for i in module.params["ec2_instance_ids"]])
    except eci.InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client("ecs", retry_decorator=eci.RETRY)
    try:
        described = eci.describe_cluster(client, cluster)
        found, missing = eci.lookup(client, cluster, instance_ids, ec2_ids)
    except eci.NotFound as exc:
        module.fail_json(msg=str(exc))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="cannot read the container instances of cluster %s" % cluster)

    instances = [eci.normalize(ci) for ci in found]
    module.exit_json(
        changed=False,
        cluster={
            "name": described.get("clusterName"),
            "arn": described.get("clusterArn"),
            "status": described.get("status"),
            "registered_container_instances_count": described.get("registeredContainerInstancesCount"),
        },
        instances=instances,
        by_ec2_instance_id=_by_ec2_instance_id(instances),
        missing=missing,
    )


if __name__ == "__main__":
    main()
