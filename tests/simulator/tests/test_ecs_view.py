# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`serve --ecs-endpoint` against a real moto server: one EC2 instance per host, the agent's registration
(first start, re-registration after a reboot, a new registration after its data is reset), the attributes it
registers, a missing cluster, and what the host reports (introspection ARN, IMDS instance id)."""

from __future__ import annotations

import subprocess
import time

import pytest
from moto_server import REGION, MotoServer
from sim_scripts import init_args, winrm_ops, winrm_probe, winrm_result

from conftest import SIM_COMMAND
from ecs_windows_sim import imds

TASK_IAM_ROLE = "com.amazonaws.ecs.capability.task-iam-role"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sim(module_sim_factory, moto):
    moto.client("ecs").create_cluster(clusterName="wincluster")
    return module_sim_factory(hosts=4, scheme="http", extra=["--ecs-endpoint", moto.url, "--ecs-region", REGION])


def ec2_id(sim, host):
    return sim.ctl("state", host)["ec2"]["instance_id"]


def attributes(ci):
    return {a["name"]: a.get("value") for a in ci["attributes"]}


def test_every_host_is_an_ec2_instance_of_the_endpoint(sim, moto):
    reservations = moto.client("ec2").describe_instances()["Reservations"]
    by_name = {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i for r in reservations for i in r["Instances"]}
    for host in sim.hosts:
        state = sim.ctl("state", host)
        instance = by_name[host]
        assert state["ec2"]["instance_id"] == instance["InstanceId"]
        assert state["ec2"]["region"] == REGION and state["ec2"]["private_ip"] == instance["PrivateIpAddress"]
        # the host's IMDS model answers the same id (IMDSv2: token first)
        _, token = imds.answer(state, "PUT", imds.TOKEN_PATH, {imds.TTL_HEADER: "60"}, time.time())
        assert imds.answer(state, "GET", "/latest/meta-data/instance-id", {imds.TOKEN_HEADER: token}, time.time()) == \
            (200, instance["InstanceId"])
        assert state["agent"]["saved_registration"] is None  # nothing registers before the agent starts


def test_the_agent_registers_with_the_windows_attributes(sim, moto):
    host = sim.hosts[0]
    moto.reset_recording()
    winrm_result(sim, host, "init_agent", init_args("wincluster"))
    actions = moto.recorded_actions()
    assert actions.count("RegisterContainerInstance") == 1, actions
    [ci] = moto.container_instances("wincluster", ec2_id(sim, host))
    registration = winrm_probe(sim, host, detail="none")["registration"]
    assert registration["container_instance_arn"] == ci["containerInstanceArn"] and registration["cluster"] == "wincluster"
    attrs = attributes(ci)
    assert TASK_IAM_ROLE in attrs and attrs["ecs.os-type"] == "windows"
    assert attrs["ecs.os-family"] == "WINDOWS_SERVER_2022_FULL"
    assert ci["status"] == "ACTIVE" and ci["agentConnected"] is True


def test_without_task_iam_roles_the_capability_is_not_registered(sim, moto):
    host = sim.hosts[1]
    winrm_result(sim, host, "init_agent", init_args("wincluster", enable_task_iam_role=False))
    [ci] = moto.container_instances("wincluster", ec2_id(sim, host))
    assert TASK_IAM_ROLE not in attributes(ci) and attributes(ci)["ecs.os-type"] == "windows"

    # turning task IAM roles on and restarting the agent re-registers it with the capability, same ARN
    winrm_ops(sim, host, ("set_machine_env", {"set": {"ECS_ENABLE_TASK_IAM_ROLE": "true"}, "remove": []}),
              ("service", {"name": "AmazonECS", "start_type": None, "state": "restarted", "failure_restart": None, "timeout_s": 60}))
    [again] = moto.container_instances("wincluster", ec2_id(sim, host))
    assert again["containerInstanceArn"] == ci["containerInstanceArn"] and TASK_IAM_ROLE in attributes(again)


def test_a_reboot_reregisters_the_same_container_instance(sim, moto):
    host = sim.hosts[0]
    [before] = moto.container_instances("wincluster", ec2_id(sim, host))
    moto.reset_recording()
    sim.ctl("reboot", host, "--downtime", "0.3")
    deadline = time.monotonic() + 30
    while sim.counters(host)["status"] != "up":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    actions = moto.recorded_actions()
    assert "RegisterContainerInstance" not in actions and "DescribeContainerInstances" in actions, actions
    [after] = moto.container_instances("wincluster", ec2_id(sim, host))
    assert after["containerInstanceArn"] == before["containerInstanceArn"]
    assert attributes(after) == attributes(before)
    assert winrm_probe(sim, host, detail="none")["registration"]["container_instance_arn"] == before["containerInstanceArn"]


def test_resetting_the_agent_data_registers_a_new_container_instance(sim, moto):
    host = sim.hosts[0]
    [old] = moto.container_instances("wincluster", ec2_id(sim, host))
    winrm_result(sim, host, "reset_agent_data", {"stop_timeout_s": 30})
    winrm_result(sim, host, "init_agent", init_args("wincluster"))
    arns = {ci["containerInstanceArn"] for ci in moto.container_instances("wincluster", ec2_id(sim, host))}
    new = winrm_probe(sim, host, detail="none")["registration"]["container_instance_arn"]
    assert arns == {old["containerInstanceArn"], new} and new != old["containerInstanceArn"]


def test_a_missing_cluster_stops_the_agent_as_the_real_one_exits(sim, moto):
    host = sim.hosts[2]
    document = winrm_ops(sim, host, ("init_agent", dict(init_args("no-such-cluster"), attempts=1)))
    assert document["error"]["category"] == "init_failed"
    assert "ClusterNotFoundException: Cluster not found." in document["error"]["message"]
    state = sim.ctl("state", host)
    assert state["services"]["AmazonECS"]["status"] == "Stopped"
    assert state["agent"]["saved_registration"] is None and "ClusterNotFound" in state["agent"]["registration_error"]
    assert winrm_probe(sim, host, detail="none")["registration"]["reachable"] is False
    assert moto.client("ecs").describe_clusters(clusters=["no-such-cluster"])["failures"]  # not created

    # the host is consistent: once the cluster exists, the same call registers it
    moto.client("ecs").create_cluster(clusterName="no-such-cluster")
    winrm_result(sim, host, "init_agent", init_args("no-such-cluster"))
    [ci] = moto.container_instances("no-such-cluster", ec2_id(sim, host))
    assert sim.ctl("state", host)["agent"]["registration_error"] is None
    assert winrm_probe(sim, host, detail="none")["registration"]["container_instance_arn"] == ci["containerInstanceArn"]


def test_without_ecs_cluster_the_agent_creates_and_joins_default(sim, moto):
    host = sim.hosts[3]
    winrm_result(sim, host, "init_agent", init_args("wincluster"))
    winrm_ops(sim, host, ("reset_agent_data", {"stop_timeout_s": 30}), ("set_machine_env", {"set": {}, "remove": ["ECS_CLUSTER"]}),
              ("service", {"name": "AmazonECS", "start_type": None, "state": "running", "failure_restart": None, "timeout_s": 60}))
    [ci] = moto.container_instances("default", ec2_id(sim, host))
    assert winrm_probe(sim, host, detail="none")["registration"] == {
        "reachable": True, "cluster": "default", "container_instance_arn": ci["containerInstanceArn"],
        "version": "Amazon ECS Agent - v1.105.1 (8dfceca6)", "error": None}


def serve_fails(tmp_path, *extra):
    done = subprocess.run(SIM_COMMAND + ["serve", "--state-dir", str(tmp_path), "--hosts", "1"] + list(extra),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "ready" not in done.stdout
    return done.stderr


def test_serve_refuses_an_endpoint_it_cannot_use(tmp_path):
    assert "not a loopback address" in serve_fails(tmp_path / "a", "--ecs-endpoint", "https://ecs.eu-west-1.amazonaws.com")
    assert "--ecs-region needs --ecs-endpoint" in serve_fails(tmp_path / "b", "--ecs-region", "eu-west-1")
    message = serve_fails(tmp_path / "c", "--ecs-endpoint", "http://127.0.0.1:9")  # nothing listens on port 9
    assert "cannot create the EC2 instance of ecs-sim-001 through http://127.0.0.1:9" in message
