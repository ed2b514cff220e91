# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task_role role's input checks (filter task_role_problems)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from jinja2 import Undefined

from ansible_collections.ecs_windows.task_iam.plugins.filter.task_role_problems import task_role_problems

GOOD = {
    "task_role_name": "web-task",
    "task_role_path": "/ecs/",
    "task_role_region": "eu-west-1",
    "task_role_account_id": "123456789012",
    "task_role_execution_role_arn": None,
    "task_role_execution_role_name": "web-exec",
    "task_role_managed_policies": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
    "task_role_execution_role_managed_policies": ["arn:aws-cn:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"],
    "task_role_inline_policies": {"read-jobs": {"Version": "2012-10-17", "Statement": []}},
    "task_role_family": "web",
    "task_role_containers": [{"name": "iis", "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2019",
                              "portMappings": [{"containerPort": 80, "hostPort": 8080}]}],
    "task_role_os_family": "WINDOWS_SERVER_2019_FULL",
    "task_role_network_mode": "default",
    "task_role_cpu": 1024,
    "task_role_memory": None,
}


def test_good_variables_have_no_problem():
    assert task_role_problems(GOOD) == []


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"task_role_name": "web task"}, 'task_role_name "web task" is not an IAM role name'),
        ({"task_role_path": "ecs"}, 'task_role_path "ecs" must be / or start and end with /'),
        ({"task_role_region": ""}, 'task_role_region "" is not an AWS region such as eu-west-1: set task_role_region or AWS_REGION'),
        ({"task_role_account_id": 1234}, "task_role_account_id 1234 must be a 12-digit AWS account ID"),
        ({"task_role_execution_role_arn": "arn:aws:iam::123456789012:role/x"},
         "task_role_execution_role_arn and task_role_execution_role_name are mutually exclusive"),
        ({"task_role_execution_role_name": None, "task_role_execution_role_arn": "exec"},
         'task_role_execution_role_arn "exec" is not an IAM role ARN'),
        ({"task_role_execution_role_name": "bad name"}, 'task_role_execution_role_name "bad name" is not an IAM role name'),
        ({"task_role_managed_policies": ["AmazonS3ReadOnlyAccess"]},
         "managed policy AmazonS3ReadOnlyAccess is not a policy ARN (arn:aws:iam::aws:policy/<name>)"),
        ({"task_role_execution_role_managed_policies": ["x"]}, "managed policy x is not a policy ARN"),
        ({"task_role_inline_policies": {"bad name": {}}}, "task_role_inline_policies: bad name is not a policy name"),
        ({"task_role_inline_policies": {"p": "json text"}},
         "task_role_inline_policies: the policy p must be a policy document (a dictionary)"),
        ({"task_role_inline_policies": ["p"]}, "task_role_inline_policies must be a dictionary"),
        ({"task_role_family": "web; rm"}, 'task_role_family "web; rm" is not a task definition family'),
        ({"task_role_cpu": "1 vCPU"}, 'task_role_cpu "1 vCPU" must be a number of CPU units such as 1024'),
        ({"task_role_memory": "2 GB"}, 'task_role_memory "2 GB" must be a number of MiB such as 2048'),
        ({"task_role_containers": []}, "task_role_containers is empty: give at least one container"),
        ({"task_role_containers": [{"name": "a", "image": "x:1", "portMappings": [{"containerPort": 1, "hostPort": 80}]}]},
         "task_role_containers: container a maps host port 80: host port 80 belongs to the task IAM role credential proxy"),
        ({"task_role_os_family": "WINDOWS_SERVER_2025_FULL"},
         "task_role_containers: container iis image mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2019 is "
         "built for Windows Server 2019 (ltsc2019) but task_role_os_family is WINDOWS_SERVER_2025_FULL"),
    ],
)
def test_each_problem_names_the_variable(overrides, problem):
    problems = task_role_problems(dict(GOOD, **overrides))
    assert any(p.startswith(problem) for p in problems), problems


def test_the_execution_policies_count_only_with_an_execution_role_name():
    assert task_role_problems(dict(GOOD, task_role_execution_role_name=None, task_role_execution_role_managed_policies=["x"])) == []


def test_every_problem_at_once():
    problems = task_role_problems(dict(GOOD, task_role_name="", task_role_family="", task_role_cpu="x"))
    assert [p.split(" ", 1)[0] for p in problems] == ["task_role_name", "task_role_family", "task_role_cpu"]


def test_undefined_propagates_and_bad_input_fails():
    missing = Undefined(name="task_role_containers")
    assert task_role_problems(dict(GOOD, task_role_containers=missing)) is missing
    with pytest.raises(AnsibleFilterError, match="expects the role's variables as a dictionary, got list"):
        task_role_problems([])
