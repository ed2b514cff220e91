# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task_definition module through the real ansible-playbook against a real moto server."""

from __future__ import annotations

import copy
import pathlib
import subprocess

import pytest

from aws_moto import ACCOUNT, BIN, MUTATING_PREFIXES, ansible_env

HERE = pathlib.Path(__file__).resolve().parent
PLAYBOOK = str(HERE / "task_definition_each.yml")
IMAGE_2025 = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025"
ROLE = "arn:aws:iam::%s:role/%%s" % ACCOUNT
BASE = {
    "runtime_platform": {"operating_system_family": "WINDOWS_SERVER_2025_CORE"},
    "task_role_arn": ROLE % "web-task",
    "execution_role_arn": ROLE % "exec-a",
    "cpu": "1024",
    "memory": "2048",
    "containers": [{"name": "web", "image": IMAGE_2025, "memory": 512, "essential": True,
                    "portMappings": [{"containerPort": 80, "hostPort": 8080}],
                    "environment": [{"name": "TOKEN", "value": "s3cr3t-value"}]}],
}


def mutating(actions):
    return [a for a in actions if a.startswith(MUTATING_PREFIXES)]


def item_results(run):
    """Each item's result as registered (2.21 leaves "failed" out of the items a callback sees)."""
    [record] = run.results("Item results")
    return record["ansible_facts"]["td_items"]


def run_each(aws_playbook, runs, **kwargs):
    run = aws_playbook({"runs": runs}, playbook=PLAYBOOK, **kwargs)
    assert run.stats["failures"] == 0 or any(r.get("failed") for r in item_results(run)), run.stderr[-2000:]
    return item_results(run)


def _args(family, **overrides):
    args = dict(copy.deepcopy(BASE), family=family)
    args.update(copy.deepcopy(overrides))
    return args


def test_a_2025_core_definition_is_registered_once(moto, aws_playbook):
    ecs = moto.client("ecs")
    moto.reset_recording()
    [first] = run_each(aws_playbook, [_args("td-2025")])
    assert first["changed"] is True and not first.get("failed"), first
    assert first["changes"] == ["no ACTIVE revision of family td-2025"]
    assert moto.recorded_actions() == ["ListTaskDefinitions", "RegisterTaskDefinition"]
    td = ecs.describe_task_definition(taskDefinition="td-2025")["taskDefinition"]
    assert td["runtimePlatform"] == {"operatingSystemFamily": "WINDOWS_SERVER_2025_CORE", "cpuArchitecture": "X86_64"}
    assert (td["taskRoleArn"], td["executionRoleArn"]) == (ROLE % "web-task", ROLE % "exec-a")
    assert (td["cpu"], td["memory"], td["requiresCompatibilities"]) == ("1024", "2048", ["EC2"])
    assert "networkMode" not in td or td["networkMode"] == "bridge"  # moto's answer for "no network mode" (Windows default)
    assert (first["task_definition_arn"], first["revision"]) == (td["taskDefinitionArn"], 1)
    assert first["task_definition"]["containerDefinitions"][0]["environment"] == [{"name": "TOKEN", "value": "********"}]

    moto.reset_recording()
    [second] = run_each(aws_playbook, [_args("td-2025")])
    assert second["changed"] is False and second["changes"] == [] and second["revision"] == 1
    assert moto.recorded_actions() == ["ListTaskDefinitions", "DescribeTaskDefinition"]
    assert len(ecs.list_task_definitions(familyPrefix="td-2025")["taskDefinitionArns"]) == 1


# family -> (argument overrides, the changes reported, a check of the new revision)
CHANGES = {
    "td-platform": (
        {"runtime_platform": {"operating_system_family": "WINDOWS_SERVER_2025_FULL"}},
        ['runtimePlatform {"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2025_CORE"} -> '
         '{"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2025_FULL"}'],
        lambda td: td["runtimePlatform"]["operatingSystemFamily"] == "WINDOWS_SERVER_2025_FULL",
    ),
    "td-size": (
        {"cpu": "2048", "memory": "4096"},
        ['cpu "1024" -> "2048"', 'memory "2048" -> "4096"'],
        lambda td: (td["cpu"], td["memory"]) == ("2048", "4096"),
    ),
    "td-mode": ({"network_mode": "awsvpc"}, ['networkMode "default" -> "awsvpc"'], lambda td: td["networkMode"] == "awsvpc"),
    "td-exec": (
        {"execution_role_arn": ROLE % "exec-b"},
        ['executionRoleArn "%s" -> "%s"' % (ROLE % "exec-a", ROLE % "exec-b")],
        lambda td: td["executionRoleArn"] == ROLE % "exec-b",
    ),
    "td-role": (
        {"task_role_arn": ROLE % "other-task"},
        ['taskRoleArn "%s" -> "%s"' % (ROLE % "web-task", ROLE % "other-task")],
        lambda td: td["taskRoleArn"] == ROLE % "other-task",
    ),
    "td-port": (
        {"containers": [dict(BASE["containers"][0], portMappings=[{"containerPort": 80, "hostPort": 8081}])]},
        ["containerDefinitions[web].portMappings"],
        lambda td: td["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8081,
    ),
    "td-image": (
        {"containers": [dict(BASE["containers"][0], image=IMAGE_2025 + "-amd64")]},
        ["containerDefinitions[web].image"],
        lambda td: td["containerDefinitions"][0]["image"].endswith("-amd64"),
    ),
    "td-env": (
        {"containers": [dict(BASE["containers"][0], environment=[{"name": "TOKEN", "value": "other-s3cr3t"}])]},
        ["containerDefinitions[web].environment"],
        lambda td: td["containerDefinitions"][0]["environment"][0]["value"] == "other-s3cr3t",
    ),
}


@pytest.fixture(scope="module")
def changed_runs(moto, aws_playbook):
    """Baseline revision 1 of each family (registered by the module), then one run per change: results and calls."""
    baseline = run_each(aws_playbook, [_args(family) for family in CHANGES])
    assert all(r["revision"] == 1 for r in baseline), baseline
    moto.reset_recording()
    results = run_each(aws_playbook, [_args(family, **CHANGES[family][0]) for family in CHANGES], diff=True)
    return dict(zip(CHANGES, results)), moto.recorded_actions()


@pytest.mark.parametrize("family", list(CHANGES))
def test_each_kind_of_change_registers_a_new_revision(moto, changed_runs, family):
    _overrides, changes, check = CHANGES[family]
    result = changed_runs[0][family]
    assert result["changed"] is True and result["changes"] == changes
    assert result["revision"] == 2 and result["task_definition_arn"].endswith(":task-definition/%s:2" % family)
    td = moto.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert td["revision"] == 2 and check(td)


def test_changes_make_only_ecs_calls_and_hide_environment_values(changed_runs):
    results, actions = changed_runs
    assert actions.count("RegisterTaskDefinition") == len(CHANGES)
    assert set(actions) == {"ListTaskDefinitions", "DescribeTaskDefinition", "RegisterTaskDefinition"}
    # What the module itself reports (the invocation echoes the arguments, as every module without no_log does).
    shown = [{k: r.get(k) for k in ("changes", "diff", "task_definition")} for r in results.values()]
    assert "s3cr3t" not in repr(shown) and "********" in repr(shown)


def test_diff_shows_the_change(changed_runs):
    diff = changed_runs[0]["td-size"]["diff"]
    assert (diff["before"]["cpu"], diff["after"]["cpu"]) == ("1024", "2048")
    assert (diff["before"]["memory"], diff["after"]["memory"]) == ("2048", "4096")
    assert diff["before_header"].endswith(":task-definition/td-size:1")
    assert diff["after_header"] == "a new revision of td-size"
    port = changed_runs[0]["td-port"]["diff"]
    assert port["before"]["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8080
    assert port["after"]["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8081


def test_check_mode_makes_no_mutating_call(moto, aws_playbook):
    run_each(aws_playbook, [_args("td-check")])
    moto.reset_recording()
    new, changed = run_each(aws_playbook, [_args("td-check-new"), _args("td-check", cpu="4096")], check=True, diff=True)
    actions = moto.recorded_actions()
    assert mutating(actions) == [] and actions, actions
    assert new["changed"] is True and new["changes"] == ["no ACTIVE revision of family td-check-new"]
    assert "task_definition_arn" not in new and new["diff"]["before"] == {}
    assert new["diff"]["after"]["runtimePlatform"]["operatingSystemFamily"] == "WINDOWS_SERVER_2025_CORE"
    assert changed["changed"] is True and changed["changes"] == ['cpu "1024" -> "4096"']
    ecs = moto.client("ecs")
    assert ecs.list_task_definitions(familyPrefix="td-check-new")["taskDefinitionArns"] == []
    assert ecs.describe_task_definition(taskDefinition="td-check")["taskDefinition"]["cpu"] == "1024"


def _refused(container_overrides, **args):
    return _args("td-refused", containers=[dict(BASE["containers"][0], **container_overrides)], **args)


def test_port_80_a_reserved_port_and_an_ltsc_mismatch_are_refused_before_any_call(moto, aws_playbook):
    runs = [
        _refused({"portMappings": [{"containerPort": 8080, "hostPort": 80}]}),
        _refused({"portMappings": [{"containerPort": 5986}]}, network_mode="awsvpc"),
        _refused({"image": "mcr.microsoft.com/windows/servercore:ltsc2022"}),
        _refused({}, cpu="1 vCPU", task_role_arn="web-task"),
    ]
    moto.reset_recording()
    results = run_each(aws_playbook, runs)
    assert moto.recorded_actions() == []
    # The recorder is live: a call made now is seen, so the empty list above means no call was made.
    moto.client("ecs").list_task_definitions(familyPrefix="td-refused")
    assert moto.recorded_actions() == ["ListTaskDefinitions"]
    assert all(r["failed"] and not r["changed"] for r in results)
    messages = [r["msg"] for r in results]
    assert messages[0] == (
        "containers: container web maps host port 80: host port 80 belongs to the task IAM role credential proxy "
        "(169.254.170.2:80) on Windows container instances; map another host port and put a load balancer on port 80")
    assert messages[1] == ("containers: container web maps host port 5986: host port 5986 (WinRM HTTPS) is reserved by "
                           "the ECS agent on Windows; map another host port")
    assert messages[2].startswith("containers: container web image mcr.microsoft.com/windows/servercore:ltsc2022 is built "
                                  "for Windows Server 2022 (ltsc2022) but runtime_platform.operating_system_family is "
                                  "WINDOWS_SERVER_2025_CORE")
    assert "use the image's ltsc2025 tag" in messages[2]
    assert messages[3] == ('task_role_arn "web-task" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>); '
                           'cpu "1 vCPU" must be a number of CPU units such as 1024')


def test_older_revisions_are_deregistered(moto, aws_playbook):
    ecs = moto.client("ecs")
    runs = [_args("td-keep", cpu=str(1024 * n)) for n in (1, 2, 3)]
    run_each(aws_playbook, runs)
    assert len(ecs.list_task_definitions(familyPrefix="td-keep")["taskDefinitionArns"]) == 3

    moto.reset_recording()
    [planned] = run_each(aws_playbook, [_args("td-keep", cpu="4096", keep_revisions=2)], check=True)
    assert mutating(moto.recorded_actions()) == []
    assert [a.rsplit(":", 1)[1] for a in planned["deregistered"]] == ["2", "1"]

    moto.reset_recording()
    [done] = run_each(aws_playbook, [_args("td-keep", cpu="4096", keep_revisions=2)])
    assert done["revision"] == 4 and [a.rsplit(":", 1)[1] for a in done["deregistered"]] == ["2", "1"]
    assert mutating(moto.recorded_actions()) == ["RegisterTaskDefinition", "DeregisterTaskDefinition", "DeregisterTaskDefinition"]
    active = ecs.list_task_definitions(familyPrefix="td-keep", status="ACTIVE")["taskDefinitionArns"]
    assert sorted(a.rsplit(":", 1)[1] for a in active) == ["3", "4"]

    moto.reset_recording()
    [again] = run_each(aws_playbook, [_args("td-keep", cpu="4096", keep_revisions=2)])
    assert again["changed"] is False and again["deregistered"] == [] and mutating(moto.recorded_actions()) == []

    # The latest ACTIVE revision is compared even when a newer one was deregistered.
    ecs.deregister_task_definition(taskDefinition="td-keep:4")
    [back] = run_each(aws_playbook, [_args("td-keep", cpu="3072", keep_revisions=1)])
    assert back["changed"] is False and back["changes"] == [] and back["revision"] == 3 and back["deregistered"] == []


def test_ansible_doc_renders_the_module(tmp_path):
    env = ansible_env(tmp_path)
    proc = subprocess.run([str(BIN / "ansible-doc"), "ecs_windows.task_iam.task_definition"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    for text in ("keep_revisions", "WINDOWS_SERVER_2025_CORE", "operating_system_family", "task_role_arn", "RETURN VALUES"):
        assert text in proc.stdout
