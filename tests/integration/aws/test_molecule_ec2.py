# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The molecule `ec2` scenario's create and destroy through the real molecule against the moto server, as far as
moto goes: moto launches instances but has no Windows behind them, so create stops at the Administrator password
(moto's GetPasswordData answers empty), and it does not resolve `resolve:ssm:` image IDs (it keeps the text)."""

from __future__ import annotations

import base64
import datetime
import pathlib
import re
import subprocess

import pytest

from aws_moto import BIN, REGION, ROOT, ansible_env

NAME = "molecule-ecs-windows-ec2"
CLUSTER = "molecule-windows"


@pytest.fixture(scope="module")
def scenario(moto, tmp_path_factory):
    home = tmp_path_factory.mktemp("molecule-ec2")
    ec2, ecs = moto.client("ec2"), moto.client("ecs")
    subnet = ec2.describe_subnets()["Subnets"][0]
    key_file = home / "molecule.pem"
    key_file.write_text(ec2.create_key_pair(KeyName="molecule")["KeyMaterial"])
    key_file.chmod(0o600)
    iam = moto.client("iam")
    iam.create_role(RoleName="ecsInstanceRole", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="ecsInstanceRole")
    iam.add_role_to_instance_profile(InstanceProfileName="ecsInstanceRole", RoleName="ecsInstanceRole")
    # An existing cluster of the user's: create must leave its capacity providers and strategy alone.
    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    env = dict(
        ansible_env(home),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        AWS_URL=moto.url,
        AWS_DEFAULT_REGION=REGION,  # no AWS_REGION: the scenario falls back to AWS_DEFAULT_REGION
        MOLECULE_EPHEMERAL_DIRECTORY=str(home / "ephemeral"),
        MOLECULE_EC2_SUBNET_ID=subnet["SubnetId"],
        MOLECULE_EC2_KEY_NAME="molecule",
        MOLECULE_EC2_KEY_FILE=str(key_file),
        MOLECULE_WINRM_CIDR="203.0.113.7/32",
        MOLECULE_EC2_WINDOWS="2025-Core",
        MOLECULE_EC2_PASSWORD_TIMEOUT="5",
        NO_COLOR="1",
        ANSIBLE_NOCOLOR="true",
        COLUMNS="1000",
    )

    def molecule(*args):
        return subprocess.run([str(BIN / "molecule"), *args, "-s", "ec2"], env=env, cwd=str(ROOT), capture_output=True,
                              text=True, timeout=600)

    moto.reset_recording()
    first = molecule("create")
    state = {"subnet": subnet, "first": first, "second": molecule("create")}
    state["create_actions"] = moto.recorded_actions()
    # What create left, read before destroy removes it.
    state["template"] = ec2.describe_launch_template_versions(LaunchTemplateName=NAME)["LaunchTemplateVersions"]
    state["groups"] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [NAME]}])["SecurityGroups"]
    state["instances"] = _instances(moto)
    state["cluster"] = ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
    moto.reset_recording()
    state["destroy"] = molecule("destroy")
    state["destroy_actions"] = moto.recorded_actions()
    return state


def _instances(moto, states=("pending", "running")):
    reservations = moto.client("ec2").describe_instances(Filters=[
        {"Name": "tag:molecule", "Values": [NAME]}, {"Name": "instance-state-name", "Values": list(states)}])
    return [i for r in reservations["Reservations"] for i in r["Instances"]]


def test_create_launches_the_variant_and_stops_at_the_password_with_its_reason(moto, scenario):
    first = scenario["first"]
    assert first.returncode != 0
    output = first.stdout + first.stderr
    # moto has no Windows: the password is the first thing it cannot give, and the reason is shown (no blanket no_log).
    assert "TASK [Fail with the reason when a password could not be read]" in output, output[-3000:]
    assert re.search(r"No Administrator password for i-[0-9a-f]+: ", output), output[-3000:]
    assert "TASK [Wait for WinRM HTTPS]" not in output


def test_create_made_the_launch_template_instance_and_group(scenario):
    [version] = scenario["template"]
    data = version["LaunchTemplateData"]
    assert data["ImageId"] == "resolve:ssm:/aws/service/ami-windows-latest/Windows_Server-2025-English-Core-ECS_Optimized/image_id"
    assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    user_data = base64.b64decode(data["UserData"]).decode("ascii")
    assert ("Initialize-ECSAgent -Cluster '%s' -EnableTaskIAMRole -LoggingDrivers '[\"json-file\",\"awslogs\"]'" % CLUSTER
            in user_data)
    [group] = scenario["groups"]
    assert group["VpcId"] == scenario["subnet"]["VpcId"]
    assert [(p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] == [
        (5986, 5986, ["203.0.113.7/32"])]


def test_instances_carry_an_expiry_and_a_second_create_launches_no_more(scenario):
    assert scenario["second"].returncode != 0  # the same password stop
    [instance] = scenario["instances"]  # exact_count: still one
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags["Name"] == NAME and tags["molecule"] == NAME
    expires = datetime.datetime.strptime(tags["molecule-expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    hours = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 3600
    assert 3.5 < hours <= 4.01
    assert instance["SubnetId"] == scenario["subnet"]["SubnetId"]


def test_create_keeps_the_clusters_capacity_providers(scenario):
    [cluster] = scenario["cluster"]
    assert cluster["capacityProviders"] == ["FARGATE"]
    assert [(s["capacityProvider"], s["weight"]) for s in cluster["defaultCapacityProviderStrategy"]] == [("FARGATE", 1)]


def test_destroy_removes_what_create_made_and_keeps_the_cluster(moto, scenario):
    destroy = scenario["destroy"]
    assert destroy.returncode == 0, (destroy.stdout + destroy.stderr)[-3000:]
    ec2 = moto.client("ec2")
    assert _instances(moto) == []
    assert _instances(moto, ("terminated",))
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [NAME]}])["SecurityGroups"] == []
    assert ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [NAME]}])["LaunchTemplates"] == []
    assert moto.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"][0]["status"] == "ACTIVE"
    assert "DeleteCluster" not in scenario["destroy_actions"]


def test_the_readme_lists_every_call_the_scenario_makes(scenario):
    readme = (ROOT / "extensions" / "molecule" / "ec2" / "README.md").read_text()
    listed = set(re.findall(r"`(?:ec2|ecs|iam|ssm|sts):([A-Za-z]+)`", readme))
    made = set(scenario["create_actions"]) | set(scenario["destroy_actions"])
    assert made and made <= listed, " ".join(sorted(made - listed))


def test_destroy_without_the_subnet_says_what_to_set(tmp_path):
    env = dict(ansible_env(tmp_path), MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "e"), MOLECULE_SCENARIO_NAME="ec2",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    env.pop("MOLECULE_EC2_SUBNET_ID", None)
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / "extensions" / "molecule" / "ec2" / "destroy.yml")],
                          env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert proc.returncode != 0
    assert "Set MOLECULE_EC2_SUBNET_ID to the subnet create.yml used" in proc.stdout
