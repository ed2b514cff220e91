#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_container_instance
short_description: Set an ECS container instance ACTIVE or DRAINING and manage its custom attributes
version_added: 0.1.0
description:
  - Drains an Amazon ECS container instance (V(DRAINING) - ECS places no new task there and replaces the tasks of
    services elsewhere) or returns it to V(ACTIVE), and puts or removes custom attributes, for example a quarantine
    marker that a placement constraint such as C(attribute:ecs_windows.task_iam.credentials != broken) avoids.
  - The instance is named by its container instance ARN or id, or by its EC2 instance id.
  - Idempotent - reads the instance first and calls C(UpdateContainerInstancesState), C(PutAttributes) or
    C(DeleteAttributes) only for what differs. Check mode makes no changing call; diff shows status and custom
    attributes before and after.
  - Runs on the controller (use C(delegate_to) C(localhost) or C(connection) C(local)); calls are retried with
    backoff when ECS throttles.
  - Does not wait for the tasks of a draining instance to leave - poll
    M(ecs_windows.task_iam.ecs_container_instance_info) with C(until)/C(retries) for that, so that every try prints a
    line (see EXAMPLES).
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
options:
  cluster:
    description:
      - The cluster, as its short name or its ARN.
    type: str
    required: true
  container_instance:
    description:
      - The container instance, as its ARN or its id (the last part of the ARN).
      - Exactly one of O(container_instance) and O(ec2_instance_id) is required.
    type: str
  ec2_instance_id:
    description:
      - The EC2 instance whose container instance to change. When an EC2 instance has several container instances in
        the cluster (its agent data was reset and it registered again), the one whose agent is connected is used;
        when that does not decide, the module fails and lists them.
    type: str
  status:
    description:
      - V(DRAINING) or V(ACTIVE). Omit it to leave the status as it is.
      - Only ACTIVE and DRAINING instances can be moved between these two states.
    type: str
    choices: [ACTIVE, DRAINING]
  attributes:
    description:
      - Custom attributes to put, name -> value; a value of V(null) puts an attribute that has only a name.
      - Names are 1 to 128 letters, digits, C(-), C(_), C(.), C(/) or C(\); values 1 to 128 letters, digits, spaces or
        C(-_.@/\:), not starting or ending with a space. Values must be strings (quote numbers and booleans).
      - Built-in attributes (names starting with C(ecs.) or C(com.amazonaws.ecs.)) are refused - ECS and the agent set
        them. ECS allows 10 custom attributes per container instance.
    type: dict
  remove_attributes:
    description:
      - Names of custom attributes to remove (absent ones are ignored).
    type: list
    elements: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
    details: Runs where the task is delegated to (the controller); it calls the ECS API, not the instance.
notes:
  - Bad input fails before any AWS call. One of O(status), O(attributes) and O(remove_attributes) is required.
  - C(DeleteAttributes) is called with the attribute name and target, without the value, as the ECS API reference asks
    for custom attributes. When the attribute is still listed afterwards (moto 5.2.5 deletes only on a matching value)
    the call is repeated once with the value.
  - See C(docs/ecs.md) of the collection for draining, placement constraints and what the ECS API does.
seealso:
  - module: ecs_windows.task_iam.ecs_container_instance_info
"""

EXAMPLES = r"""
- name: Drain the instance before rebooting it (ec2_instance_id read from the host's instance metadata)
  ecs_windows.task_iam.ecs_container_instance:
    cluster: windows-prod
    region: eu-west-1
    ec2_instance_id: "{{ ec2_instance_id }}"
    status: DRAINING
  delegate_to: localhost
  register: drained

- name: Wait until its tasks have left (one output line per try, at most 10 minutes)
  ecs_windows.task_iam.ecs_container_instance_info:
    cluster: windows-prod
    region: eu-west-1
    container_instances: ["{{ drained.container_instance.container_instance_arn }}"]
  delegate_to: localhost
  register: ecs_view
  until: ecs_view.instances[0].running_tasks_count == 0
  retries: 60
  delay: 10

- name: Quarantine - keep tasks off the host with a placement constraint instead of draining it
  ecs_windows.task_iam.ecs_container_instance:
    cluster: windows-prod
    container_instance: "{{ container_instance_arn }}"
    attributes:
      ecs_windows.task_iam.credentials: broken
  delegate_to: localhost

- name: Healthy again - back to ACTIVE, marker removed
  ecs_windows.task_iam.ecs_container_instance:
    cluster: windows-prod
    container_instance: "{{ container_instance_arn }}"
    status: ACTIVE
    remove_attributes: [ecs_windows.task_iam.credentials]
  delegate_to: localhost
"""

RETURN = r"""
container_instance:
  description: The container instance after the change (in check mode, as it would be), with the keys of
    RV(ecs_windows.task_iam.ecs_container_instance_info#module:instances).
  returned: always
  type: dict
  sample:
    container_instance_arn: arn:aws:ecs:eu-west-1:123456789012:container-instance/windows-prod/0a1b2c3d4e5f6071
    ec2_instance_id: i-0123456789abcdef0
    status: DRAINING
    agent_connected: true
    running_tasks_count: 2
    attributes: {"ecs.os-type": "windows", "ecs_windows.task_iam.credentials": "broken"}
changes:
  description: What the module changed (or would change in check mode).
  returned: always
  type: dict
  contains:
    status:
      description: The new status, or V(null) when it was already right.
      type: str
      sample: DRAINING
    put:
      description: Attributes put, name -> value.
      type: dict
      sample: {"ecs_windows.task_iam.credentials": "broken"}
    remove:
      description: Attributes removed.
      type: list
      elements: str
      sample: []
"""

from typing import Any

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.ecs_windows.task_iam.plugins.module_utils import _ecs_container_instance as eci


def _arguments(params: dict) -> dict:
    """The checked arguments; InputError names the bad one."""
    cluster = eci.cluster_name(params["cluster"])
    out = {"cluster": cluster, "instance_id": None, "ec2_instance_id": None, "status": params["status"]}
    if params["container_instance"] is not None:
        out["instance_id"] = eci.container_instance_id(params["container_instance"], cluster, "container_instance")
    else:
        out["ec2_instance_id"] = eci.ec2_instance_id(params["ec2_instance_id"], "ec2_instance_id")
    put = {}
    for name, value in (params["attributes"] or {}).items():
        put[eci.check_attribute_name(name, "attributes")] = eci.check_attribute_value(name, value)
    remove = eci.unique(
        [eci.check_attribute_name(name, "remove_attributes") for name in params["remove_attributes"] or []]
    )
    both = sorted(set(put) & set(remove))
    if both:
        raise eci.InputError(
            "attributes and remove_attributes both name %s: keep each name in one of them" % ", ".join(both)
        )
    out.update(put=put, remove=remove)
    return out


def _find(client: Any, args: dict) -> dict:
    cluster = args["cluster"]
    if args["instance_id"] is not None:
        found = eci.describe(client, cluster, [args["instance_id"]])[0]
        if not found:
            raise eci.NotFound("container instance %s is not in cluster %s" % (args["instance_id"], cluster))
        return found[0]
    found = eci.find_by_ec2_ids(client, cluster, [args["ec2_instance_id"]])
    return eci.pick_one(found, "EC2 instance %s" % args["ec2_instance_id"], cluster)


def _apply(client: Any, cluster: str, current: dict, changes: dict) -> dict:
    """Make the calls; the instance as ECS describes it afterwards."""
    target = current["container_instance_id"]
    if changes["status"]:
        answer = client.update_container_instances_state(
            cluster=cluster, containerInstances=[target], status=changes["status"], aws_retry=True
        )
        if answer.get("failures"):
            raise eci.NotFound(
                "UpdateContainerInstancesState %s failed for %s: %s"
                % (
                    changes["status"],
                    current["container_instance_arn"],
                    ", ".join("%s" % f.get("reason") for f in answer["failures"]),
                )
            )
    for verb, attributes in eci.attribute_calls(target, changes):
        getattr(client, verb)(cluster=cluster, attributes=attributes, aws_retry=True)
    after = eci.normalize(eci.describe(client, cluster, [target])[0][0])
    left = [name for name in changes["remove"] if name in after["attributes"]]
    if left:
        # The documented call names no value; an endpoint that deletes only on a matching value (moto 5.2.5)
        # leaves the attribute: repeat once with the value it has.
        retry = [
            {"name": n, "value": after["attributes"][n], "targetId": target, "targetType": "container-instance"}
            if after["attributes"][n] is not None
            else {"name": n, "targetId": target, "targetType": "container-instance"}
            for n in left
        ]
        client.delete_attributes(cluster=cluster, attributes=retry, aws_retry=True)
        after = eci.normalize(eci.describe(client, cluster, [target])[0][0])
        still = [name for name in changes["remove"] if name in after["attributes"]]
        if still:
            raise eci.NotFound(
                "ECS still lists attribute(s) %s on %s after DeleteAttributes"
                % (", ".join(still), current["container_instance_arn"])
            )
    return after


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            container_instance=dict(type="str"),
            ec2_instance_id=dict(type="str"),
            status=dict(type="str", choices=list(eci.STATES)),
            attributes=dict(type="dict"),
            remove_attributes=dict(type="list", elements="str"),
        ),
        mutually_exclusive=[("container_instance", "ec2_instance_id")],
        required_one_of=[("container_instance", "ec2_instance_id"), ("status", "attributes", "remove_attributes")],
        supports_check_mode=True,
    )
    try:
        args = _arguments(module.params)
    except eci.InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client("ecs", retry_decorator=eci.RETRY)
    cluster = args["cluster"]
    try:
        eci.describe_cluster(client, cluster)
        before = eci.normalize(_find(client, args))
        changes = eci.plan(before, args["status"], args["put"], args["remove"])
        if not eci.changed(changes):
            after = before
        elif module.check_mode:
            after = eci.predict(before, changes)
        else:
            after = _apply(client, cluster, before, changes)
    except eci.InputError as exc:
        module.fail_json(msg=str(exc))
    except eci.NotFound as exc:
        module.fail_json(msg=str(exc))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(
            exc,
            msg="cannot change container instance %s in cluster %s"
            % (args["instance_id"] or args["ec2_instance_id"], cluster),
        )

    result = {"changed": eci.changed(changes), "container_instance": after, "changes": changes}
    if module._diff:
        result["diff"] = eci.diff(before, after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
