# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of plugins/module_utils/_ecs_container_instance.py, for what moto 5.2.5 cannot show: a
disconnected agent, health status, instances in other states than ACTIVE/DRAINING, batching (no network)."""

from __future__ import annotations

import datetime

import pytest
from hostile_pwsh import collection_module

# Imported through Ansible's collection finder (as the module imports it): importing amazon.aws from the ansible
# package's own ansible_collections directory would bind that name to it, and every later test's import of this
# collection would fail.
eci = collection_module("plugins.module_utils._ecs_container_instance")

ARN = "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef"


def described(**overrides):
    ci = {"containerInstanceArn": ARN, "ec2InstanceId": "i-0123456789abcdef0", "status": "ACTIVE",
          "agentConnected": True, "runningTasksCount": 2, "pendingTasksCount": 1,
          "versionInfo": {"agentVersion": "1.105.1"},
          "attributes": [{"name": "com.amazonaws.ecs.capability.task-iam-role"},
                         {"name": "ecs.os-family", "value": "WINDOWS_SERVER_2022_FULL"},
                         {"name": "team", "value": "payments"}],
          "registeredAt": datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.timezone.utc)}
    ci.update(overrides)
    return ci


def test_references_are_checked_and_reduced_to_ids():
    assert eci.cluster_name("prod") == "prod"
    assert eci.cluster_name("arn:aws:ecs:eu-west-1:123456789012:cluster/prod") == "prod"
    assert eci.container_instance_id(ARN, "prod", "x") == "0123456789abcdef0123456789abcdef"
    old_style = "arn:aws:ecs:eu-west-1:123456789012:container-instance/1c3be8ed-df30-47b4-8f1e-6e68ebd01f34"
    assert eci.container_instance_id(old_style, "prod", "x") == "1c3be8ed-df30-47b4-8f1e-6e68ebd01f34"
    for bad in ("", "prod;x", "a" * 256, None, 5):
        with pytest.raises(eci.InputError, match="cluster"):
            eci.cluster_name(bad)
    with pytest.raises(eci.InputError, match="belongs to cluster prod, not to cluster blue"):
        eci.container_instance_id(ARN, "blue", "container_instance")
    for bad in ("i-123", "i-0123456789ABCDEF0", "0123456789abcdef0", ""):
        with pytest.raises(eci.InputError, match="ec2_instance_id"):
            eci.ec2_instance_id(bad, "ec2_instance_id")
    assert eci.ec2_instance_id("i-0123abcd", "x") == "i-0123abcd"


def test_attribute_rules():
    assert eci.check_attribute_name("ecs_windows.task_iam/credentials", "attributes")
    assert eci.check_attribute_value("n", "quarantined by verify: 2026-12-01T08:00 @ops") is not None
    assert eci.check_attribute_value("n", None) is None
    for name in ("ecs.os-type", "com.amazonaws.ecs.capability.task-iam-role"):
        with pytest.raises(eci.InputError, match="built-in attribute"):
            eci.check_attribute_name(name, "remove_attributes")
    for value in (" x", "x ", "a" * 129, "semi;colon", True, 1):
        with pytest.raises(eci.InputError):
            eci.check_attribute_value("n", value)


def test_normalize_reports_health_and_the_capability():
    health = {"overallStatus": "IMPAIRED", "details": [{"type": "CONTAINER_RUNTIME", "status": "IMPAIRED",
                                                        "lastUpdated": datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)}]}
    out = eci.normalize(described(agentConnected=False, healthStatus=health))
    assert (out["agent_connected"], out["health_status"], out["task_iam_role"]) == (False, "IMPAIRED", True)
    assert out["health_details"] == [{"type": "CONTAINER_RUNTIME", "status": "IMPAIRED",
                                      "last_updated": "2026-12-01T00:00:00+00:00", "last_status_change": None}]
    assert out["attributes"]["team"] == "payments" and out["os_family"] == "WINDOWS_SERVER_2022_FULL"
    assert out["container_instance_id"] == "0123456789abcdef0123456789abcdef"
    assert out["registered_at"] == "2026-12-01T08:00:00+00:00"
    bare = eci.normalize(described(attributes=[]))
    assert bare["task_iam_role"] is False and bare["health_status"] is None


def test_plan_is_idempotent_and_refuses_other_states():
    current = eci.normalize(described())
    assert not eci.changed(eci.plan(current, "ACTIVE", {"team": "payments"}, ["absent"]))
    changes = eci.plan(current, "DRAINING", {"team": "cards", "mark": None}, ["team", "absent"])
    assert changes == {"status": "DRAINING", "put": {"team": "cards", "mark": None}, "remove": ["team"]}
    after = eci.predict(current, {"status": "DRAINING", "put": {"mark": None}, "remove": ["team"]})
    assert after["status"] == "DRAINING" and "team" not in after["attributes"] and after["attributes"]["mark"] is None
    assert eci.diff(current, after) == {"before": {"status": "ACTIVE", "attributes": {"team": "payments"}},
                                        "after": {"status": "DRAINING", "attributes": {"mark": None}}}
    for status in ("REGISTERING", "DEREGISTERING", "INACTIVE", "REGISTRATION_FAILED"):
        with pytest.raises(eci.InputError, match="is %s" % status):
            eci.plan(eci.normalize(described(status=status)), "DRAINING", {}, [])
    assert not eci.changed(eci.plan(eci.normalize(described(status="INACTIVE")), None, {}, []))


def test_pick_one_prefers_the_connected_agent():
    old = described(containerInstanceArn=ARN.replace("0123", "9999"), agentConnected=False)
    new = described()
    assert eci.pick_one([old, new], "EC2 instance i-0123456789abcdef0", "prod") is new
    with pytest.raises(eci.NotFound, match="has 2 container instances"):
        eci.pick_one([old, dict(new, agentConnected=False)], "EC2 instance i-0123456789abcdef0", "prod")
    with pytest.raises(eci.NotFound, match="has no container instance in cluster prod"):
        eci.pick_one([], "EC2 instance i-0123456789abcdef0", "prod")


def test_calls_are_batched_and_deletions_carry_no_value():
    names = {"n%02d" % i: "v" for i in range(23)}
    calls = eci.attribute_calls("id1", {"status": None, "put": names, "remove": ["gone", "old"]})
    assert [(verb, len(attrs)) for verb, attrs in calls] == [("put_attributes", 10), ("put_attributes", 10),
                                                             ("put_attributes", 3), ("delete_attributes", 2)]
    assert calls[0][1][0] == {"name": "n00", "value": "v", "targetId": "id1", "targetType": "container-instance"}
    assert calls[-1][1] == [{"name": "gone", "targetId": "id1", "targetType": "container-instance"},
                            {"name": "old", "targetId": "id1", "targetType": "container-instance"}]
    assert eci.ec2_filter(["i-1", "i-2"]) == "ec2InstanceId in ['i-1', 'i-2']"


class FakeEcs:
    """Answers ListContainerInstances / DescribeContainerInstances like ECS for the batching test."""

    def __init__(self, count):
        self.instances = [described(containerInstanceArn="%s%04d" % (ARN[:-4], n), ec2InstanceId="i-%08x" % n)
                          for n in range(count)]
        self.calls = []

    def list_container_instances(self, cluster, maxResults, aws_retry, filter=None, nextToken=None):  # noqa: A002
        self.calls.append(("list", filter, nextToken))
        start = int(nextToken or 0)
        page = [ci["containerInstanceArn"] for ci in self.instances[start:start + maxResults]]
        following = start + maxResults
        return dict(containerInstanceArns=page, **({"nextToken": str(following)} if following < len(self.instances) else {}))

    def describe_container_instances(self, cluster, containerInstances, include, aws_retry):
        self.calls.append(("describe", len(containerInstances)))
        assert len(containerInstances) <= 100
        wanted = set(containerInstances)
        return {"containerInstances": [ci for ci in self.instances if ci["containerInstanceArn"] in wanted],
                "failures": []}


def test_an_endpoint_that_ignores_the_filter_still_gives_only_the_asked_instances():
    client = FakeEcs(230)
    found, missing = eci.lookup(client, "prod", [], ["i-00000005", "i-000000e0", "i-0fffffff"])
    assert sorted(ci["ec2InstanceId"] for ci in found) == ["i-00000005", "i-000000e0"]
    assert missing == {"container_instances": [], "ec2_instance_ids": ["i-0fffffff"]}
    assert [c for c in client.calls if c[0] == "describe"] == [("describe", 100), ("describe", 100), ("describe", 30)]
    assert client.calls[0] == ("list", "ec2InstanceId in ['i-00000005', 'i-000000e0', 'i-0fffffff']", None)
