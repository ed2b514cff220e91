# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a task definition request before any AWS call (module_utils/_taskdef_checks.py)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.module_utils._taskdef_checks import definition_problems

GOOD = {
    "family": "web",
    "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
    "executionRoleArn": "arn:aws-us-gov:iam::123456789012:role/ecs/web-exec",
    "cpu": "1024",
    "memory": 2048,
    "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2025_CORE", "cpuArchitecture": "X86_64"},
    "containerDefinitions": [
        {"name": "iis", "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025",
         "portMappings": [{"containerPort": 80, "hostPort": 8080}]},
        {"name": "sidecar", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sidecar@sha256:" + "a" * 64},
    ],
}


def _with(**fields):
    request = copy.deepcopy(GOOD)
    request.update(fields)
    return request


def _containers(*containers):
    return _with(containerDefinitions=list(containers))


def test_a_good_request_has_no_problem():
    assert definition_problems(GOOD) == []


@pytest.mark.parametrize(
    "request_, problem",
    [
        (_with(family="web; rm"), 'family "web; rm" is not a task definition family'),
        (_with(family=None), "family null is not a task definition family"),
        (_with(cpu="1 vCPU"), 'cpu "1 vCPU" must be a number of CPU units such as 1024'),
        (_with(memory=True), "memory true must be a number of MiB"),
        (_with(taskRoleArn="web-task"), 'task_role_arn "web-task" is not an IAM role ARN'),
        (_with(executionRoleArn="arn:aws:iam::123:role/x"), "execution_role_arn "),
        (_with(runtimePlatform={"operatingSystemFamily": "LINUX"}),
         'runtime_platform.operating_system_family "LINUX" is not a Windows operating system family'),
        (_containers(), "containers is empty: give at least one container"),
        (_with(containerDefinitions={"name": "x"}), "containers must be a list of container definitions"),
        (_containers("iis"), "containers[0] must be a dictionary"),
        (_containers({"image": "x:1"}), "containers[0] has no name"),
        (_containers({"name": "a b", "image": "x:1"}), 'containers[0].name "a b" is not a container name'),
        (_containers({"name": "a"}), "containers[0] (a) has no image"),
        (_containers({"name": "a", "image": 3}), "containers[0].image must be an image reference"),
        (_containers({"name": "a", "image": "x:1"}, {"name": "a", "image": "y:1"}),
         "containers: container names must be unique, a appear more than once"),
        (_containers({"name": "a", "image": "x:1", "portMappings": "80:80"}), "containers: a: portMappings must be a list"),
    ],
)
def test_each_problem_names_the_argument(request_, problem):
    problems = definition_problems(request_)
    assert any(p.startswith(problem) for p in problems), problems


def test_host_port_80_and_reserved_ports():
    mappings = [{"containerPort": 8080, "hostPort": 80}, {"containerPort": 3389, "hostPort": 3389}]
    request = _containers({"name": "web", "image": "x:1", "portMappings": mappings})
    assert definition_problems(request) == [
        "containers: container web maps host port 80: host port 80 belongs to the task IAM role credential proxy "
        "(169.254.170.2:80) on Windows container instances; map another host port and put a load balancer on port 80",
        "containers: container web maps host port 3389: host port 3389 (Remote Desktop) is reserved by the ECS agent "
        "on Windows; map another host port",
    ]
    awsvpc = dict(request, networkMode="awsvpc")
    awsvpc["containerDefinitions"] = [{"name": "web", "image": "x:1", "portMappings": [{"containerPort": 5985}]}]
    assert definition_problems(awsvpc)[0].startswith("containers: container web maps host port 5985")


def test_an_image_of_another_release_is_refused_with_the_fix():
    request = _containers({"name": "iis", "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"})
    assert definition_problems(request) == [
        "containers: container iis image mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022 is built "
        "for Windows Server 2022 (ltsc2022) but runtime_platform.operating_system_family is WINDOWS_SERVER_2025_CORE: "
        "ECS runs Windows containers process-isolated, which needs an image of the host's Windows release; use the "
        "image's ltsc2025 tag, or set runtime_platform.operating_system_family to WINDOWS_SERVER_2022_CORE or "
        "WINDOWS_SERVER_2022_FULL for Windows Server 2022 hosts"
    ]


def test_the_callers_argument_names_are_used():
    names = {"family": "task_role_family", "containerDefinitions": "task_role_containers",
             "operatingSystemFamily": "task_role_os_family"}
    request = _with(family="x y")
    request["containerDefinitions"] = [{"name": "iis", "image": "x:ltsc2019", "portMappings": [{"hostPort": 80}]}]
    problems = definition_problems(request, names)
    assert problems[0].startswith('task_role_family "x y" is not')
    assert problems[1].startswith("task_role_containers: container iis image x:ltsc2019 is built for Windows Server 2019")
    assert "set task_role_os_family to WINDOWS_SERVER_2019_CORE or WINDOWS_SERVER_2019_FULL" in problems[1]
    # ports are checked once the containers are well-formed: here the image problem comes first, alone
    assert len(problems) == 2
