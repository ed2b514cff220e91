# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbook variables (task_iam_*) and the container_instance role's variables: defaults, conversions of strings
given with -e, and one short line for a missing, misspelt or mistyped one. docs/playbooks.md and the playbooks'
headers document every variable. (Through ansible-playbook: tests/integration/test_roles_playbooks.py.)"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.ecs_windows.task_iam.plugins.filter import playbook_vars as pv

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_defaults_per_playbook():
    verify = pv.runbook_options({}, "verify")
    assert verify == {"problem": "", "target_hosts": "windows_ecs", "report_dir": ".", "fail_on_unhealthy": True,
                      "ecs_region": None, "aws_profile": None, "aws_endpoint_url": None, "quarantine": "none",
                      "quarantine_max_percent": 50, "ecs": False, "notice": ""}
    assert pv.runbook_options({}, "rolling_reboot")["batch_size"] == 1
    assert pv.runbook_options({}, "recover")["batch_size"] == 0
    assert "quarantine" not in pv.runbook_options({}, "recover")
    with pytest.raises(AnsibleFilterError):
        pv.runbook_options({}, "nope")


def test_strings_from_the_command_line_are_converted():
    variables = {"task_iam_fail_on_unhealthy": "false", "task_iam_quarantine_max_percent": "30",
                 "task_iam_quarantine": "drain", "task_iam_ecs_region": "eu-west-1"}
    options = pv.runbook_options(variables, "verify")
    assert options["problem"] == ""
    assert (options["fail_on_unhealthy"], options["quarantine_max_percent"], options["ecs"]) == (False, 30, True)
    assert pv.runbook_options({"task_iam_batch_size": "10%"}, "configure")["problem"] == ""


@pytest.mark.parametrize("variables, words", [
    ({"task_iam_batch_sise": 2}, "task_iam_batch_sise is not a variable of the collection's playbooks: did you mean "
                                 "task_iam_batch_size?"),
    ({"task_iam_quarantine": "drian", "task_iam_ecs_region": "r"}, "task_iam_quarantine='drian' is not one of none, "
                                                                   "drain, attribute"),
    ({"task_iam_quarantine_max_percent": 150}, "task_iam_quarantine_max_percent=150 is out of range: give an integer "
                                               "from 0 to 100"),
    ({"task_iam_quarantine_max_percent": True}, "task_iam_quarantine_max_percent=True is not an integer"),
    ({"task_iam_fail_on_unhealthy": "maybe"}, "task_iam_fail_on_unhealthy='maybe' is not a boolean"),
    ({"task_iam_quarantine": "drain"}, "task_iam_quarantine=drain needs the ECS view: set task_iam_ecs_region"),
])
def test_one_line_names_the_variable_and_the_fix(variables, words):
    problem = pv.runbook_options(variables, "verify")["problem"]
    assert problem.startswith(words), problem
    assert "\n" not in problem and len(problem) < 200


def test_a_variable_without_its_prefix_is_not_used_and_says_so():
    options = pv.runbook_options({"quarantine": "drain", "ecs_region": "eu-west-1", "batch_size": 3}, "verify")
    assert (options["problem"], options["quarantine"], options["ecs"]) == ("", "none", False)
    assert options["notice"] == (
        "ecs_region is set, but the collection's playbooks read task_iam_ecs_region: its value is not used (give -e "
        "task_iam_ecs_region=... instead, docs/playbooks.md); quarantine is set, but the collection's playbooks read "
        "task_iam_quarantine: its value is not used (give -e task_iam_quarantine=... instead, docs/playbooks.md)"
    )
    assert pv.runbook_options({"quarantine": "drain", "task_iam_quarantine": "none"}, "verify")["notice"] == ""


def test_a_users_own_task_iam_variable_and_the_internal_facts_are_left_alone():
    variables = {"task_iam_role_arn_of_my_app": "x", "task_iam__opts": {}, "task_iam__results": {}}
    assert pv.runbook_options(variables, "verify")["problem"] == ""


@pytest.mark.parametrize("variables, words", [
    ({}, "container_instance_cluster is not set: give the ECS cluster"),
    ({"container_instance_cluster": "c", "container_instance_clustr": "c"},
     "container_instance_clustr is not an option of the container_instance role: did you mean "
     "container_instance_cluster?"),
    ({"container_instance_cluster": "c", "container_instance_on_boot": "sometimes"},
     "container_instance_on_boot='sometimes' is not a boolean (true or false): give true or false"),
    ({"container_instance_cluster": "c", "container_instance_boot_delay": "soon"},
     "container_instance_boot_delay='soon' is not an integer"),
    ({"container_instance_cluster": "c", "container_instance_imds": "maybe"},
     "container_instance_imds='maybe' is not allowed: give one of allow, block"),
    ({"container_instance_cluster": "c", "container_instance_container_names": {"not": "a list"}},
     "container_instance_container_names={'not': 'a list'} is not a list of strs"),
])
def test_role_variables(variables, words):
    problem = pv.container_instance_vars_problem(variables)
    assert problem.startswith(words), problem
    assert "\n" not in problem and len(problem) < 240


def test_role_variables_as_strings_from_the_command_line_pass():
    assert pv.container_instance_vars_problem({
        "container_instance_cluster": "c", "container_instance_on_boot": "false",
        "container_instance_boot_delay": "5", "container_instance_logging_drivers": "json-file,awslogs",
        "container_instance_container_routes": "no", "container_instance_result": {"changed": True}}) == ""


def test_every_playbook_variable_is_documented_and_used():
    page = (ROOT / "docs" / "playbooks.md").read_text()
    documented = set(re.findall(r"^\| `(task_iam_[a-z_]+)` \|", page, re.MULTILINE))
    assert documented == set(pv.PLAYBOOK_VARS)
    for name, spec in pv.PLAYBOOK_VARS.items():
        row = re.search(r"^\| `%s` \| ([^|]+) \|" % name, page, re.MULTILINE).group(1)
        assert [p.strip() for p in row.split(",")] == list(spec["playbooks"]), name
        for playbook in spec["playbooks"]:
            text = (ROOT / "playbooks" / ("%s.yml" % playbook)).read_text()
            header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
            assert "docs/playbooks.md" in header, playbook
            if name not in ("task_iam_aws_profile", "task_iam_aws_endpoint_url", "task_iam_target_hosts"):
                assert name in text, (name, playbook)


def test_the_role_spec_is_the_one_the_filter_reads():
    spec = yaml.safe_load((ROOT / "roles" / "container_instance" / "meta" / "argument_specs.yml").read_text())
    assert sorted(spec["argument_specs"]["main"]["options"]) == sorted(pv._role_spec())


def test_an_undefined_input_propagates_instead_of_failing_here():
    # ansible-lint templates the playbooks without variables: the filters let the Undefined fail where it is used.
    from jinja2 import Undefined

    missing = Undefined(name="vars")
    assert pv.runbook_options(missing, "verify") is missing
    assert pv.container_instance_vars_problem(missing) is missing


def test_the_var_pattern_names_what_runbook_options_reads():
    # The playbooks read their variables with the varnames lookup (ansible-core 2.21 deprecates `vars`): the pattern
    # must catch every task_iam_ name (near misses included), the unprefixed names, and not the internal facts.
    pattern = re.compile(pv.runbook_var_pattern("verify"))
    for name in ("task_iam_report_dir", "task_iam_quarantin", "task_iam_own_thing", "quarantine", "report_dir"):
        assert pattern.search(name), name
    for name in ("task_iam__opts", "task_iam__playbook", "batch_size", "my_quarantine", "quarantine_x", "ansible_host"):
        assert not pattern.search(name), name
    assert re.compile(pv.runbook_var_pattern("configure")).search("batch_size")
    with pytest.raises(AnsibleFilterError):
        pv.runbook_var_pattern("nope")
