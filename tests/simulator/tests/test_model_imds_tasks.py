# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the ECS view: the host's IMDS answers, the agent's /v1/tasks and its credential audit log,
and the attributes a Windows agent registers (no network)."""

from __future__ import annotations

import datetime
import json

import pytest
from sim_scripts import init_args, new_host, result

from ecs_windows_sim import agent_tasks, ecs_api, imds, model

NOW = 1_900_000_000.0
EC2 = {"instance_id": "i-0a1b2c3d4e5f60718", "region": "eu-west-1", "account_id": "123456789012",
       "availability_zone": "eu-west-1b", "instance_type": "m5.large", "image_id": "ami-0123456789abcdef0",
       "private_ip": "10.0.7.9", "http_tokens": "required", "endpoint": "http://127.0.0.1:1"}


# --- IMDS ---------------------------------------------------------------------------------------

def token(state, ttl="21600", now=NOW):
    status, body = imds.answer(state, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl}, now)
    assert status == 200 and body
    return body


def test_imds_answers_the_instance_id_with_an_imdsv2_token(tmp_path):
    host = new_host(tmp_path)
    host.state["ec2"] = dict(EC2)
    state = host.state
    headers = {"X-aws-ec2-metadata-token": token(state)}
    assert imds.answer(state, "GET", "/latest/meta-data/instance-id", headers, NOW + 1) == (200, EC2["instance_id"])
    assert imds.answer(state, "GET", "/latest/meta-data/placement/region", headers, NOW + 1) == (200, "eu-west-1")
    status, body = imds.answer(state, "GET", "/latest/dynamic/instance-identity/document", headers, NOW + 1)
    document = json.loads(body)
    assert status == 200 and document["instanceId"] == EC2["instance_id"] and document["accountId"] == "123456789012"
    assert imds.answer(state, "GET", "/latest/meta-data/no-such-thing", headers, NOW + 1)[0] == 404


def test_imds_token_rules(tmp_path):
    host = new_host(tmp_path)
    state = host.state
    # IMDSv1 (no token) is refused when tokens are required, the default here
    assert imds.answer(state, "GET", "/latest/meta-data/instance-id", {}, NOW) == (401, "")
    for ttl in ("0", "21601", "", "abc"):
        assert imds.answer(state, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl}, NOW)[0] == 400
    assert imds.answer(state, "GET", "/latest/api/token", {}, NOW)[0] == 405
    short = token(state, ttl="5")
    assert imds.answer(state, "GET", "/latest/meta-data/instance-id", {"x-aws-ec2-metadata-token": short}, NOW + 4)[0] == 200
    assert imds.answer(state, "GET", "/latest/meta-data/instance-id", {"x-aws-ec2-metadata-token": short}, NOW + 5)[0] == 401
    assert imds.answer(state, "GET", "/latest/meta-data/instance-id", {"x-aws-ec2-metadata-token": "forged"}, NOW)[0] == 401
    good = token(state)
    host.reboot()
    assert imds.answer(host.state, "GET", "/latest/meta-data/instance-id", {"x-aws-ec2-metadata-token": good}, NOW)[0] == 401
    state = dict(host.state, ec2=dict(EC2, http_tokens="optional"))
    assert imds.answer(state, "GET", "/latest/meta-data/instance-id", {}, NOW) == (200, EC2["instance_id"])


def test_imds_without_an_ecs_endpoint_derives_a_stable_instance_id(tmp_path):
    one, two = new_host(tmp_path / "a"), new_host(tmp_path / "b", name="ecs-sim-002")
    assert "ec2" not in one.state
    assert imds.instance_id(one.state) == imds.instance_id(new_host(tmp_path / "c").state)
    assert imds.instance_id(one.state) != imds.instance_id(two.state)
    assert imds.instance_id(one.state).startswith("i-0") and len(imds.instance_id(one.state)) == 19


# --- the attributes a Windows agent registers ----------------------------------------------------

def test_registration_attributes_follow_the_agent_config(tmp_path):
    host = new_host(tmp_path, init_agent="prod")
    config = model.agent_config(host.state)
    names = ecs_api.attribute_map(ecs_api.registration_attributes(host.state, config))
    assert ecs_api.TASK_IAM_ROLE in names and names[ecs_api.TASK_IAM_ROLE] is None
    assert names["ecs.os-type"] == "windows" and names["ecs.os-family"] == "WINDOWS_SERVER_2022_FULL"
    assert "com.amazonaws.ecs.capability.logging-driver.awslogs" in names
    assert "com.amazonaws.ecs.capability.docker-remote-api.1.26" not in names
    assert "ecs.capability.task-eni" not in names
    for value in ("false", "", "yes"):  # Go's ParseBool: "yes" is not a boolean, the default (off) applies
        off = dict(config, ECS_ENABLE_TASK_IAM_ROLE=value)
        assert ecs_api.TASK_IAM_ROLE not in ecs_api.attribute_map(ecs_api.registration_attributes(host.state, off))
    eni = dict(config, ECS_ENABLE_TASK_ENI="true", ECS_AWSVPC_BLOCK_IMDS="True", ECS_AVAILABLE_LOGGING_DRIVERS='["awslogs"]')
    names = ecs_api.attribute_map(ecs_api.registration_attributes(host.state, eni))
    assert {"ecs.capability.task-eni", "ecs.capability.task-eni-block-instance-metadata"} <= set(names)
    assert [n for n in names if ".logging-driver." in n] == ["com.amazonaws.ecs.capability.logging-driver.awslogs"]
    host.state["os"].update(version="10.0.17763", installation_type="Server Core")
    assert ecs_api.attribute_map(ecs_api.registration_attributes(host.state, config))["ecs.os-family"] == \
        "WINDOWS_SERVER_2019_CORE"
    ports = next(r for r in ecs_api.total_resources(host.state, config) if r["name"] == "PORTS")["stringSetValue"]
    assert "80" in ports and "51679" in ports


def test_attribute_changes_replace_only_the_agent_set():
    current = {"ecs.os-type": "windows", ecs_api.TASK_IAM_ROLE: None, "custom": "x", "ecs.ami-id": "ami-1"}
    put, delete = ecs_api.attribute_changes(current, [{"name": "ecs.os-type", "value": "windows"},
                                                      {"name": "ecs.capability.task-eni"}])
    assert put == [{"name": "ecs.capability.task-eni"}]
    assert delete == [ecs_api.TASK_IAM_ROLE]  # custom and ECS' own (ecs.ami-id) attributes stay


@pytest.mark.parametrize("url", ["http://10.0.0.1:5000", "https://ecs.eu-west-1.amazonaws.com", "ftp://127.0.0.1", "x"])
def test_only_a_loopback_endpoint_is_accepted(url):
    with pytest.raises(ValueError):
        ecs_api.check_endpoint(url)
    assert ecs_api.check_endpoint("http://localhost:5000/") == "http://localhost:5000"


# --- /v1/tasks and the audit log ----------------------------------------------------------------

def add_credential_routes(host):
    def add(state):
        for c in state["containers"]:
            hop = c["gateway"] if c["network_mode"] == "nat" else "0.0.0.0"
            if not any(r["destination"] == "169.254.170.2/32" for r in c["routes"]):
                c["routes"].append({"destination": "169.254.170.2/32", "next_hop": hop})
    host._change(add)


def test_tasks_response_lists_the_running_tasks(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2, containers_awsvpc=1)
    answer = agent_tasks.tasks_response(host.state)
    assert answer["reachable"] is True and answer["error"] is None
    tasks = answer["body"]["Tasks"]
    assert [t["Arn"] for t in tasks] == [c["labels"]["com.amazonaws.ecs.task-arn"] for c in host.state["containers"]]
    assert {(t["Family"], t["Version"], t["KnownStatus"], t["DesiredStatus"]) for t in tasks} == {("web", "1", "RUNNING", "RUNNING")}
    first = tasks[0]["Containers"][0]
    assert first["DockerId"] == host.state["containers"][0]["id"] and first["Name"] == "web" and "Networks" not in first
    assert tasks[2]["Containers"][0]["Networks"] == [{"NetworkMode": "awsvpc",
                                                      "IPv4Addresses": [host.state["containers"][2]["ip_address"]]}]
    host.apply_setting("agent", "stopped")
    assert agent_tasks.tasks_response(host.state) == {"reachable": False, "error": "Unable to connect to the remote server",
                                                      "body": None}


def test_audit_log_records_what_reaches_the_agent(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=2)
    # nat containers without their 169.254.170.2/32 route never reach the agent: nothing is logged at start
    assert agent_tasks.audit_log_lines(host.state) == []
    add_credential_routes(host)
    host.apply_setting("task-credentials", "ok")
    lines = [agent_tasks.parse_audit_line(line) for line in agent_tasks.audit_log_lines(host.state)]
    arns = [c["labels"]["com.amazonaws.ecs.task-arn"] for c in host.state["containers"]]
    reg = host.state["agent"]["saved_registration"]
    assert [(e["status"], e["task_arn"], e["event"]) for e in lines] == [(200, arn, "GetCredentials") for arn in arns]
    assert {(e["path"], e["version"], e["cluster"], e["container_instance_arn"]) for e in lines} == {
        ("/v2/credentials", 2, "prod", reg["container_instance_arn"])}
    assert all(e["source"].startswith("127.0.0.1:") for e in lines)

    task_id = arns[1].rsplit("/", 1)[1]
    host.apply_setting("task-credentials", task_id[:10] + ":fail")  # one task, by a prefix of its id
    last = agent_tasks.parse_audit_line(agent_tasks.audit_log_lines(host.state)[-1])
    assert (last["status"], last["task_arn"], last["event"]) == (400, None, "GetCredentialsInvalidRoleType")
    assert len(agent_tasks.audit_log_lines(host.state)) == 3

    host.apply_setting("task-credentials", "none")
    assert len(agent_tasks.audit_log_lines(host.state)) == 3
    with pytest.raises(ValueError, match="no running task"):
        host.apply_setting("task-credentials", "0000:ok")
    with pytest.raises(ValueError, match="ok\\|fail\\|none"):
        host.apply_setting("task-credentials", "maybe")


def test_a_broken_proxy_leaves_no_audit_line(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1, containers_awsvpc=1)
    add_credential_routes(host)
    when = datetime.datetime(2026, 12, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
    assert len(agent_tasks.credential_round(host.state, when)) == 2
    host.apply_setting("iis", "on")  # IIS answers 169.254.170.2:80: the request never reaches the agent
    assert agent_tasks.credential_round(host.state, when) == []
    host.apply_setting("iis", "off")
    result(host, "remove_proxy", {"portproxy": [{"listen_address": "169.254.170.2", "listen_port": 80}],
                                  "ip_bindings": [], "apipa_adapter": None, "firewall_rules": []})
    assert agent_tasks.credential_round(host.state, when) == []


def test_audit_line_format_is_the_agents():
    when = datetime.datetime(2026, 12, 1, 8, 0, 5, tzinfo=datetime.timezone.utc)
    line = agent_tasks.audit_line(when, 200, "arn:aws:ecs:eu-west-1:1:task/c/t", "GetCredentials", "c",
                                  "arn:aws:ecs:eu-west-1:1:container-instance/c/i", "127.0.0.1:50000", "ua x")
    assert line == ('2026-12-01T08:00:05Z 200 127.0.0.1:50000 "/v2/credentials" "ua x" arn:aws:ecs:eu-west-1:1:task/c/t '
                    'GetCredentials 2 c arn:aws:ecs:eu-west-1:1:container-instance/c/i')
    assert agent_tasks.parse_audit_line(line)["user_agent"] == "ua x"
    assert agent_tasks.parse_audit_line("garbage") is None


def test_init_args_helper_still_registers_without_an_endpoint(tmp_path):
    host = new_host(tmp_path)
    result(host, "init_agent", init_args("prod"))
    assert host.state["agent"]["saved_registration"]["container_instance_arn"].startswith(
        "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/")
