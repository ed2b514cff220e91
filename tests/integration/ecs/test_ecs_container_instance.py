# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_container_instance_info and ecs_container_instance through real ansible-playbook runs, against a real moto
server and simulator hosts served with --ecs-endpoint (their agents configured by ecs_windows.task_iam.agent).

The ECS calls each run made come from moto's request recording: an idempotent run, check mode and refused
input must make no changing call (refused input: no call at all)."""

from __future__ import annotations

import json

import pytest
from aws_moto import MUTATING_PREFIXES, REGION
from ecs_integration import run_playbook

CLUSTER = "winfleet"
NO_ROLE = "ecs-sim-003"  # initialised with task_iam_role: false
AGENT_PLAY = """
- name: Configure the agents and read how ECS sees them
  hosts: windows_ecs
  gather_facts: false
  tasks:
    - name: Configure the agent
      ecs_windows.task_iam.agent:
        cluster: winfleet
        task_iam_role: "{{ inventory_hostname != 'ecs-sim-003' }}"
        init_retry_delay: 0
    - name: Read the ECS view
      ecs_windows.task_iam.ecs_container_instance_info:
        cluster: winfleet
        region: "{{ aws_region }}"
        endpoint_url: "{{ aws_endpoint }}"
        ec2_instance_ids: ["{{ ec2_ids[inventory_hostname] }}"]
      delegate_to: localhost
"""


def mutating(actions):
    return [a for a in actions if a.startswith(MUTATING_PREFIXES)]


@pytest.fixture(scope="module")
def fleet(sim_factory, moto, aws_env, tmp_path_factory):
    moto.client("ecs").create_cluster(clusterName=CLUSTER)
    sim = sim_factory(hosts=3, extra=["--ecs-endpoint", moto.url, "--ecs-region", REGION])
    ec2_ids = {host: sim.state(host)["ec2"]["instance_id"] for host in sim.hosts}
    run = run_playbook(AGENT_PLAY, sim.inventory, tmp_path_factory.mktemp("agents"), env=aws_env,
                       extra_vars={"aws_region": REGION, "aws_endpoint": moto.url, "ec2_ids": ec2_ids})
    assert run.rc == 0, run
    return {"sim": sim, "ec2_ids": ec2_ids, "run": run}


@pytest.fixture
def ecs_tasks(moto, aws_env, tmp_path):
    """ecs_tasks([(module, args), ...], check=False, diff=False, env=None, aws=True) -> ([task results], ECS actions
    the run made): one ansible-playbook run on localhost, each task with ignore_errors."""
    def run(tasks, check=False, diff=False, env=None, aws=True):
        defaults = {"region": REGION, "endpoint_url": moto.url} if aws else {}
        play = [{"name": "ECS tasks", "hosts": "localhost", "connection": "local", "gather_facts": False,
                 "tasks": [{"name": "ECS %d" % n, "ecs_windows.task_iam." + module: dict(defaults, **args),
                            "ignore_errors": True} for n, (module, args) in enumerate(tasks)]}]
        moto.reset_recording()
        done = run_playbook(json.dumps(play) + "\n", "localhost,", tmp_path, check=check, diff=diff,
                            env=dict(aws_env, **(env or {})))
        assert done.rc == 0, done
        results = [dict(done.result("localhost", "ECS %d" % n), failed=done.status("localhost", "ECS %d" % n) == "failed")
                   for n in range(len(tasks))]
        return results, moto.recorded_actions()
    return run


@pytest.fixture
def ecs(ecs_tasks):
    """ecs(module, args, **options) -> (task result, ECS actions the run made)."""
    def run(module, args, **options):
        results, actions = ecs_tasks([(module, args)], **options)
        return results[0], actions
    return run


def moto_instance(moto, arn):
    [ci] = moto.client("ecs").describe_container_instances(cluster=CLUSTER, containerInstances=[arn])["containerInstances"]
    return ci


def test_info_finds_each_host_by_its_ec2_instance_id(fleet):
    run = fleet["run"]
    for host, ec2_id in fleet["ec2_ids"].items():
        agent = run.result(host, "Configure the agent")
        view = run.result(host, "Read the ECS view")
        assert view["missing"] == {"container_instances": [], "ec2_instance_ids": []} and len(view["instances"]) == 1
        instance = view["instances"][0]
        assert instance["ec2_instance_id"] == ec2_id and view["by_ec2_instance_id"][ec2_id] == instance
        assert instance["container_instance_arn"] == agent["container_instance_arn"]
        assert (instance["status"], instance["agent_connected"], instance["os_family"]) == (
            "ACTIVE", True, "WINDOWS_SERVER_2022_FULL")
        assert instance["attributes"]["ecs.os-type"] == "windows"
        assert instance["task_iam_role"] is (host != NO_ROLE)
        assert ("com.amazonaws.ecs.capability.task-iam-role" in instance["attributes"]) is (host != NO_ROLE)
        assert view["cluster"]["name"] == CLUSTER and view["cluster"]["status"] == "ACTIVE"


def test_info_reports_what_ecs_does_not_know(fleet, ecs):
    arn = fleet["run"].result("ecs-sim-001", "Configure the agent")["container_instance_arn"]
    unknown_id = "0123456789abcdef0123456789abcdef"
    result, actions = ecs("ecs_container_instance_info", {
        "cluster": CLUSTER, "container_instances": [arn, unknown_id],
        "ec2_instance_ids": [fleet["ec2_ids"]["ecs-sim-002"], "i-0fedcba9876543210"]})
    assert [i["ec2_instance_id"] for i in result["instances"]] == [fleet["ec2_ids"]["ecs-sim-001"],
                                                                   fleet["ec2_ids"]["ecs-sim-002"]]
    assert result["missing"] == {"container_instances": [unknown_id], "ec2_instance_ids": ["i-0fedcba9876543210"]}
    assert not mutating(actions) and "DescribeContainerInstances" in actions
    everything, _ = ecs("ecs_container_instance_info", {"cluster": CLUSTER})
    assert {i["ec2_instance_id"] for i in everything["instances"]} == set(fleet["ec2_ids"].values())


def test_drain_and_reactivate(fleet, moto, ecs):
    arn = fleet["run"].result("ecs-sim-002", "Configure the agent")["container_instance_arn"]
    by_arn = {"cluster": CLUSTER, "container_instance": arn}
    by_ec2 = {"cluster": CLUSTER, "ec2_instance_id": fleet["ec2_ids"]["ecs-sim-002"]}

    result, actions = ecs("ecs_container_instance", dict(by_arn, status="DRAINING"), check=True, diff=True)
    assert result["changed"] is True and result["changes"] == {"status": "DRAINING", "put": {}, "remove": []}
    assert result["diff"] == {"before": {"status": "ACTIVE", "attributes": {}}, "after": {"status": "DRAINING", "attributes": {}}}
    assert not mutating(actions) and moto_instance(moto, arn)["status"] == "ACTIVE"

    result, actions = ecs("ecs_container_instance", dict(by_arn, status="DRAINING"))
    assert result["changed"] is True and result["container_instance"]["status"] == "DRAINING"
    assert mutating(actions) == ["UpdateContainerInstancesState"] and moto_instance(moto, arn)["status"] == "DRAINING"

    result, actions = ecs("ecs_container_instance", dict(by_ec2, status="DRAINING"))
    assert result["changed"] is False and not mutating(actions)
    assert result["container_instance"]["container_instance_arn"] == arn

    result, actions = ecs("ecs_container_instance", dict(by_ec2, status="ACTIVE"), diff=True)
    assert result["changed"] is True and result["diff"]["after"]["status"] == "ACTIVE"
    assert mutating(actions) == ["UpdateContainerInstancesState"] and moto_instance(moto, arn)["status"] == "ACTIVE"
    result, actions = ecs("ecs_container_instance", dict(by_arn, status="ACTIVE"))
    assert result["changed"] is False and not mutating(actions)


def test_attributes_put_and_removed(fleet, moto, ecs):
    arn = fleet["run"].result("ecs-sim-001", "Configure the agent")["container_instance_arn"]
    target = {"cluster": CLUSTER, "container_instance": arn}
    marks = {"ecs_windows.task_iam.credentials": "broken", "ecs_windows.task_iam.quarantined": None}

    def custom():
        return {a["name"]: a.get("value") for a in moto_instance(moto, arn)["attributes"] if a["name"].startswith("ecs_windows")}

    result, actions = ecs("ecs_container_instance", dict(target, attributes=marks), check=True, diff=True)
    assert result["changed"] is True and result["diff"]["after"]["attributes"] == marks
    assert not mutating(actions) and custom() == {}

    result, actions = ecs("ecs_container_instance", dict(target, attributes=marks), diff=True)
    assert result["changed"] is True and mutating(actions) == ["PutAttributes"] and custom() == marks
    assert result["diff"] == {"before": {"status": "ACTIVE", "attributes": {}}, "after": {"status": "ACTIVE", "attributes": marks}}
    result, actions = ecs("ecs_container_instance", dict(target, attributes=marks))
    assert result["changed"] is False and not mutating(actions)

    removal = dict(target, remove_attributes=list(marks))
    result, actions = ecs("ecs_container_instance", removal, check=True)
    assert result["changed"] is True and result["changes"]["remove"] == list(marks) and not mutating(actions)
    assert custom() == marks
    result, actions = ecs("ecs_container_instance", removal)
    # moto 5.2.5 deletes a valued attribute only when the value is sent too: the documented call, then the repeat
    assert result["changed"] is True and mutating(actions) == ["DeleteAttributes", "DeleteAttributes"] and custom() == {}
    assert not any(n.startswith("ecs_windows") for n in result["container_instance"]["attributes"])
    assert "com.amazonaws.ecs.capability.task-iam-role" in result["container_instance"]["attributes"]
    result, actions = ecs("ecs_container_instance", removal)
    assert result["changed"] is False and not mutating(actions)


BAD_INPUT = [
    ("ecs_container_instance_info", {"cluster": "bad cluster!"}, "cluster 'bad cluster!' is not an ECS cluster name"),
    ("ecs_container_instance_info", {"cluster": CLUSTER, "container_instances": ["not-an-id"]},
     "container_instances: 'not-an-id' is not a container instance id"),
    ("ecs_container_instance_info", {"cluster": CLUSTER, "container_instances": [
        "arn:aws:ecs:eu-west-1:123456789012:container-instance/other/0123456789abcdef0123456789abcdef"]},
     "belongs to cluster other, not to cluster winfleet"),
    ("ecs_container_instance_info", {"cluster": CLUSTER, "ec2_instance_ids": ["i-xyz"]},
     "ec2_instance_ids: 'i-xyz' is not an EC2 instance id"),
    ("ecs_container_instance", {"cluster": CLUSTER, "status": "DRAINING"},
     "one of the following is required: container_instance, ec2_instance_id"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0",
                                "container_instance": "0123456789abcdef0123456789abcdef", "status": "ACTIVE"},
     "parameters are mutually exclusive: container_instance|ec2_instance_id"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0"},
     "one of the following is required: status, attributes, remove_attributes"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0", "status": "STOPPED"},
     "value of status must be one of: ACTIVE, DRAINING, got: STOPPED"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0",
                                "attributes": {"ecs.os-type": "linux"}}, "ecs.os-type is a built-in attribute"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0", "attributes": {"n": 5}},
     "the value of n must be a string or null, got int 5 (quote it in YAML)"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0",
                                "attributes": {"n": "trailing "}}, "cannot start or end with a space"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0",
                                "attributes": {"a b": "v"}}, "attribute name 'a b' must be 1 to 128 letters"),
    ("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": "i-0123456789abcdef0", "attributes": {"x": "1"},
                                "remove_attributes": ["x"]}, "attributes and remove_attributes both name x"),
]


def test_bad_input_fails_before_any_call(fleet, ecs_tasks):
    results, actions = ecs_tasks([(module, args) for module, args, _ in BAD_INPUT])
    for (module, args, message), result in zip(BAD_INPUT, results):
        assert result["failed"] is True and message in result["msg"], (module, args, result["msg"])
    assert actions == []  # not one AWS call for any of them


def test_no_region_fails_before_any_call(ecs, moto):
    result, actions = ecs("ecs_container_instance_info", {"cluster": CLUSTER, "endpoint_url": moto.url}, aws=False)
    assert result["failed"] is True and "region" in result["msg"] and actions == []


def test_what_ecs_does_not_have_fails_with_its_name(fleet, ecs):
    result, actions = ecs("ecs_container_instance_info", {"cluster": "nope"})
    assert result["failed"] and "cluster nope is MISSING in this region" in result["msg"] and actions == ["DescribeClusters"]
    result, actions = ecs("ecs_container_instance", {"cluster": CLUSTER, "status": "DRAINING",
                                                     "container_instance": "0123456789abcdef0123456789abcdef"})
    assert result["failed"] and "container instance 0123456789abcdef0123456789abcdef is not in cluster winfleet" in result["msg"]
    assert not mutating(actions)
    result, actions = ecs("ecs_container_instance", {"cluster": CLUSTER, "status": "DRAINING",
                                                     "ec2_instance_id": "i-0fedcba9876543210"})
    assert result["failed"] and "EC2 instance i-0fedcba9876543210 has no container instance in cluster winfleet" in result["msg"]
    assert not mutating(actions)


def test_endpoint_and_region_from_the_environment(fleet, ecs, moto):
    result, actions = ecs("ecs_container_instance_info", {"cluster": CLUSTER, "ec2_instance_ids": [fleet["ec2_ids"]["ecs-sim-001"]]},
                          env={"AWS_ENDPOINT_URL": moto.url, "AWS_REGION": REGION}, aws=False)
    assert not result.get("failed"), result
    assert result["instances"][0]["ec2_instance_id"] == fleet["ec2_ids"]["ecs-sim-001"] and "DescribeClusters" in actions


def test_reregistration_and_a_second_container_instance(fleet, ecs, moto):
    """Task IAM roles turned on later: the agent re-registers, same ARN, now with the capability. Moved to another
    cluster and back (force_reregister): a second container instance in the cluster, while the first stays
    registered (moto keeps both connected), so the state module does not guess which one an EC2 id means."""
    sim, host = fleet["sim"], NO_ROLE
    ec2_id = fleet["ec2_ids"][host]
    first = fleet["run"].result(host, "Configure the agent")["container_instance_arn"]
    moto.client("ecs").create_cluster(clusterName="winfleet-b")
    play = """
- hosts: ecs-sim-003
  gather_facts: false
  tasks:
    - name: Turn task IAM roles on
      ecs_windows.task_iam.agent: {cluster: winfleet, task_iam_role: true, init_retry_delay: 0}
    - name: Move away
      ecs_windows.task_iam.agent: {cluster: winfleet-b, force_reregister: true, init_retry_delay: 0}
    - name: Move back
      ecs_windows.task_iam.agent: {cluster: winfleet, force_reregister: true, init_retry_delay: 0}
"""
    again = run_playbook(play, sim.inventory, sim.state_dir / "again", env={})
    assert again.rc == 0, again
    assert again.result(host, "Turn task IAM roles on")["container_instance_arn"] == first
    second = again.result(host, "Move back")["container_instance_arn"]
    assert second != first
    result, _ = ecs("ecs_container_instance_info", {"cluster": CLUSTER, "ec2_instance_ids": [ec2_id]})
    assert {i["container_instance_arn"]: i["task_iam_role"] for i in result["instances"]} == {first: True, second: True}
    result, actions = ecs("ecs_container_instance", {"cluster": CLUSTER, "ec2_instance_id": ec2_id, "status": "DRAINING"})
    assert result["failed"] and "has 2 container instances in cluster winfleet" in result["msg"]
    assert "give container_instance instead" in result["msg"] and not mutating(actions)
