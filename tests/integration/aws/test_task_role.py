# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task_role role through the register_task playbook, against a real moto server."""

from __future__ import annotations

import copy
import pathlib

import pytest

from aws_moto import ACCOUNT, MUTATING_PREFIXES, REGION

HERE = pathlib.Path(__file__).resolve().parent
IMAGE = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"
EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
QUEUE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "arn:aws:sqs:eu-west-1:123456789012:jobs"}],
}
WEB = {
    "task_role_name": "web-task",
    "task_role_family": "web",
    "task_role_managed_policies": [S3_READ],
    "task_role_inline_policies": {"read-jobs": QUEUE_POLICY},
    "task_role_tags": {"team": "web"},
    "task_role_execution_role_name": "web-exec",
    "task_role_cpu": 1024,
    "task_role_memory": "2048",
    "task_role_containers": [
        {
            "name": "iis",
            "image": IMAGE,
            "memory": 1024,
            "essential": True,
            "portMappings": [{"containerPort": 80, "hostPort": 8080}],
            "environment": [{"name": "SITE", "value": "x'; Remove-Item C:\\ -Recurse; '"}],
        }
    ],
}


def mutating(actions):
    return [a for a in actions if a.startswith(MUTATING_PREFIXES)]


def expected_trust():
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": "arn:aws:ecs:%s:%s:*" % (REGION, ACCOUNT)},
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                },
            }
        ],
    }


def test_check_mode_then_create_then_no_change(moto, aws_playbook):
    iam, ecs = moto.client("iam"), moto.client("ecs")

    moto.reset_recording()
    check = aws_playbook(WEB, check=True)
    assert check.rc == 0, check.failure()
    assert check.stats["changed"] >= 1
    assert mutating(moto.recorded_actions()) == []
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == []

    moto.reset_recording()
    first = aws_playbook(WEB)
    assert first.rc == 0, first.failure()
    actions = moto.recorded_actions()
    for call in ("GetCallerIdentity", "CreateRole", "AttachRolePolicy", "PutRolePolicy", "ListTaskDefinitions", "RegisterTaskDefinition"):
        assert call in actions

    role = iam.get_role(RoleName="web-task")["Role"]
    assert role["AssumeRolePolicyDocument"] == expected_trust()
    assert {t["Key"]: t["Value"] for t in role.get("Tags", [])} == {"team": "web"}
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="web-task")["AttachedPolicies"]] == [S3_READ]
    assert iam.get_role_policy(RoleName="web-task", PolicyName="read-jobs")["PolicyDocument"] == QUEUE_POLICY
    execution = iam.get_role(RoleName="web-exec")["Role"]
    assert execution["AssumeRolePolicyDocument"] == expected_trust()
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="web-exec")["AttachedPolicies"]] == [EXEC_POLICY]
    assert iam.list_instance_profiles_for_role(RoleName="web-task")["InstanceProfiles"] == []
    assert "web-task" not in [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]

    td = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    assert td["revision"] == 1
    assert td["taskRoleArn"] == role["Arn"] == "arn:aws:iam::%s:role/web-task" % ACCOUNT
    assert td["executionRoleArn"] == execution["Arn"]
    assert td["runtimePlatform"] == {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"}
    assert td["requiresCompatibilities"] == ["EC2"]
    assert (td["cpu"], td["memory"]) == ("1024", "2048")
    assert td["containerDefinitions"][0]["portMappings"] == [{"containerPort": 80, "hostPort": 8080}]
    result = first.fact("task_role_result")
    assert result["task_definition_arn"] == td["taskDefinitionArn"] and result["revision"] == 1
    assert result["role_arn"] == role["Arn"] and result["execution_role_arn"] == execution["Arn"]

    moto.reset_recording()
    second = aws_playbook(WEB)
    assert second.rc == 0, second.failure()
    assert second.stats["changed"] == 0
    assert mutating(moto.recorded_actions()) == []
    assert second.fact("task_role_result")["changes"] == []
    assert second.fact("task_role_result")["revision"] == 1
    assert len(ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]) == 1


def _containers(mapping, name="web"):
    return [{"name": name, "image": IMAGE, "memory": 512, "portMappings": [mapping]}]


@pytest.mark.parametrize(
    "overrides, task, message",
    [
        (
            {"task_role_containers": _containers({"containerPort": 8080, "hostPort": 80})},
            "Check the inputs",
            "task_role_containers: container web maps host port 80: host port 80 belongs to the task IAM role credential proxy",
        ),
        (
            {"task_role_network_mode": "awsvpc", "task_role_containers": _containers({"containerPort": 3389})},
            "Check the inputs",
            "container web maps host port 3389: host port 3389 (Remote Desktop) is reserved by the ECS agent on Windows",
        ),
        (
            {"task_role_os_family": "WINDOWS_SERVER_2025_CORE"},
            "Check the inputs",
            "task_role_containers: container iis image mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022 is "
            "built for Windows Server 2022 (ltsc2022) but task_role_os_family is WINDOWS_SERVER_2025_CORE: ECS runs Windows "
            "containers process-isolated, which needs an image of the host's Windows release; use the image's ltsc2025 tag, "
            "or set task_role_os_family to WINDOWS_SERVER_2022_CORE or WINDOWS_SERVER_2022_FULL for Windows Server 2022 hosts",
        ),
        (
            {"task_role_family": "web; rm", "task_role_managed_policies": ["AmazonS3ReadOnlyAccess"], "task_role_cpu": "1 vCPU"},
            "Check the inputs",
            "managed policy AmazonS3ReadOnlyAccess is not a policy ARN (arn:aws:iam::aws:policy/<name>); "
            'task_role_family "web; rm" is not a task definition family: 1 to 255 letters, digits, hyphens and underscores; '
            'task_role_cpu "1 vCPU" must be a number of CPU units such as 1024',
        ),
    ],
)
def test_refused_before_any_aws_call(moto, aws_playbook, overrides, task, message):
    variables = dict(copy.deepcopy(WEB), task_role_name="refused-task", task_role_family="refused")
    variables.update(overrides)
    moto.reset_recording()
    run = aws_playbook(variables)
    assert run.rc != 0
    failed_task, msg = run.failure()
    assert failed_task.endswith(task)
    assert message in msg
    assert moto.recorded_actions() == []
    # The recorder is live: a call made now is seen, so the empty list above means no call was made.
    moto.client("ecs").list_task_definitions(familyPrefix="refused")
    assert moto.recorded_actions() == ["ListTaskDefinitions"]


# Each change test has its own family with a baseline revision (the request the task_definition module sends for
# BASE_VARS), and the role runs with one change: it must report exactly that change and register revision 2.
# All the role runs share one ansible-playbook process (apply_task_role_each.yml) to keep the suite fast.
BASE_VARS = {
    "task_role_name": "change-task",
    "task_role_manage_iam": False,
    "task_role_account_id": ACCOUNT,
    "task_role_os_family": "WINDOWS_SERVER_2022_CORE",
    "task_role_cpu": "1024",
    "task_role_memory": "2048",
    "task_role_network_mode": "default",
    "task_role_execution_role_arn": "arn:aws:iam::%s:role/exec-a" % ACCOUNT,
    "task_role_containers": _containers({"containerPort": 8080, "hostPort": 8080}),
}
CHANGES = {
    "change-platform": (
        {"task_role_os_family": "WINDOWS_SERVER_2022_FULL"},
        ['runtimePlatform {"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2022_CORE"} -> '
         '{"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2022_FULL"}'],
        lambda td: td["runtimePlatform"]["operatingSystemFamily"] == "WINDOWS_SERVER_2022_FULL",
    ),
    "change-size": (
        {"task_role_cpu": "2048", "task_role_memory": "4096"},
        ['cpu "1024" -> "2048"', 'memory "2048" -> "4096"'],
        lambda td: (td["cpu"], td["memory"]) == ("2048", "4096"),
    ),
    "change-mode": (
        {"task_role_network_mode": "awsvpc"},
        ['networkMode "default" -> "awsvpc"'],
        lambda td: td["networkMode"] == "awsvpc",
    ),
    "change-exec": (
        {"task_role_execution_role_arn": "arn:aws:iam::%s:role/exec-b" % ACCOUNT},
        ['executionRoleArn "arn:aws:iam::%s:role/exec-a" -> "arn:aws:iam::%s:role/exec-b"' % (ACCOUNT, ACCOUNT)],
        lambda td: td["executionRoleArn"].endswith(":role/exec-b"),
    ),
    "change-port": (
        {"task_role_containers": _containers({"containerPort": 8080, "hostPort": 8081})},
        ["containerDefinitions[web].portMappings"],
        lambda td: td["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8081,
    ),
    "change-role": (
        {"task_role_name": "other-task"},
        ['taskRoleArn "arn:aws:iam::%s:role/change-task" -> "arn:aws:iam::%s:role/other-task"' % (ACCOUNT, ACCOUNT)],
        lambda td: td["taskRoleArn"].endswith(":role/other-task"),
    ),
    "change-image": (
        {"task_role_containers": [dict(_containers({"containerPort": 8080, "hostPort": 8080})[0], image=IMAGE + "-amd64")]},
        ["containerDefinitions[web].image"],
        lambda td: td["containerDefinitions"][0]["image"] == IMAGE + "-amd64",
    ),
}


@pytest.fixture(scope="module")
def changed_runs(moto, aws_playbook):
    """family -> task_role_result, after baseline revisions and one role run per change."""
    ecs = moto.client("ecs")
    for family in CHANGES:
        ecs.register_task_definition(
            family=family,
            taskRoleArn="arn:aws:iam::%s:role/change-task" % ACCOUNT,
            executionRoleArn=BASE_VARS["task_role_execution_role_arn"],
            containerDefinitions=copy.deepcopy(BASE_VARS["task_role_containers"]),
            volumes=[],
            requiresCompatibilities=["EC2"],
            runtimePlatform={"operatingSystemFamily": BASE_VARS["task_role_os_family"], "cpuArchitecture": "X86_64"},
            cpu=BASE_VARS["task_role_cpu"],
            memory=BASE_VARS["task_role_memory"],
        )
    runs = [dict(BASE_VARS, task_role_family=family, **CHANGES[family][0]) for family in CHANGES]
    moto.reset_recording()
    run = aws_playbook({"runs": runs}, playbook=str(HERE / "apply_task_role_each.yml"))
    assert run.rc == 0, run.failure()
    results = run.facts("task_role_result")
    assert len(results) == len(runs)
    return dict(zip(CHANGES, results)), moto.recorded_actions()


@pytest.mark.parametrize("family", list(CHANGES))
def test_a_change_registers_a_new_revision(moto, changed_runs, family):
    _overrides, changes, check = CHANGES[family]
    result = changed_runs[0][family]
    assert result["changes"] == changes
    assert result["revision"] == 2
    td = moto.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert td["revision"] == 2 and check(td)


def test_without_manage_iam_no_iam_call_is_made(changed_runs):
    actions = changed_runs[1]
    assert set(actions) == {"ListTaskDefinitions", "DescribeTaskDefinition", "RegisterTaskDefinition"}
    assert actions.count("RegisterTaskDefinition") == len(CHANGES)


def test_a_2025_core_task_definition_through_the_role(moto, aws_playbook):
    image = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025"
    variables = dict(BASE_VARS, task_role_family="web-2025", task_role_os_family="WINDOWS_SERVER_2025_CORE",
                     task_role_containers=[{"name": "iis", "image": image, "memory": 512,
                                            "portMappings": [{"containerPort": 80, "hostPort": 8080}]}])
    first = aws_playbook(variables)
    assert first.rc == 0, first.failure()
    td = moto.client("ecs").describe_task_definition(taskDefinition="web-2025")["taskDefinition"]
    assert td["runtimePlatform"] == {"operatingSystemFamily": "WINDOWS_SERVER_2025_CORE", "cpuArchitecture": "X86_64"}
    assert first.fact("task_role_result")["revision"] == 1
    moto.reset_recording()
    second = aws_playbook(dict(variables, task_role_keep_revisions=1))
    assert second.rc == 0, second.failure()
    assert second.stats["changed"] == 0 and mutating(moto.recorded_actions()) == []
    assert second.fact("task_role_result")["changes"] == [] and second.fact("task_role_result")["deregistered"] == []


def test_register_task_needs_no_community_aws(moto, tmp_path):
    """Only this collection and amazon.aws on the collection path (not the ansible package's site-packages)."""
    import json
    import subprocess
    import sysconfig

    from aws_moto import BIN, ROOT, Run, ansible_env

    collections = tmp_path / "collections" / "ansible_collections"
    (collections / "ecs_windows").mkdir(parents=True)
    (collections / "ecs_windows" / "task_iam").symlink_to(ROOT)
    site = pathlib.Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"
    # amazon.aws for the role; ansible.posix only for the json callback these tests read (2.19 redirects it there).
    for namespace, name in (("amazon", "aws"), ("ansible", "posix")):
        (collections / namespace).mkdir()
        (collections / namespace / name).symlink_to(site / namespace / name)
    env = dict(ansible_env(tmp_path), ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    variables = dict(BASE_VARS, task_role_family="no-community", task_role_region=REGION,
                     task_role_aws_endpoint_url=moto.url)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    listed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list"], env=env, capture_output=True, text=True)
    assert "community.aws" not in listed.stdout and "amazon.aws" in listed.stdout, listed.stdout
    proc = subprocess.run([str(BIN / "ansible-playbook"), "ecs_windows.task_iam.register_task", "-e", "@vars.json"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    run = Run(proc)
    assert run.rc == 0, (run.failure(), proc.stderr[-2000:])
    assert run.fact("task_role_result")["revision"] == 1
