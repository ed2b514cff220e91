# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task arguments are validated against the stub's DOCUMENTATION."""

from __future__ import annotations

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.modules.instance_info import DOCUMENTATION
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _args

ACTION = "ecs_windows.task_iam.instance_info"

NESTED_DOC = r"""
module: toy
short_description: toy
description: toy
options:
  cluster:
    description: c
    type: str
    required: true
    aliases: [name]
  token:
    description: t
    type: str
    no_log: true
  retries:
    description: r
    type: int
    default: 3
  init:
    description: i
    type: dict
    suboptions:
      attempts:
        description: a
        type: int
        default: 5
      enabled:
        description: e
        type: bool
  mode:
    description: m
    choices: [a, b]
"""


def test_instance_info_spec_comes_from_its_documentation():
    assert _args.argument_spec(DOCUMENTATION) == {
        "container_detail": {"type": "str", "choices": ["none", "list", "routes"], "default": "routes"},
        "files": {"type": "list", "elements": "str", "default": []},
        "cluster": {"type": "str"},
    }


def test_nested_spec_keeps_only_argument_spec_keys():
    spec = _args.argument_spec(NESTED_DOC)
    assert spec["cluster"] == {"type": "str", "required": True, "aliases": ["name"]}
    assert spec["token"] == {"type": "str", "no_log": True}
    assert spec["init"]["options"] == {"attempts": {"type": "int", "default": 5}, "enabled": {"type": "bool"}}
    assert spec["mode"] == {"type": "str", "choices": ["a", "b"]}


def test_defaults_are_applied():
    params, no_log = _args.validate(ACTION, DOCUMENTATION, {})
    assert params == {"container_detail": "routes", "files": [], "cluster": None}
    assert no_log == set()


def test_values_are_coerced():
    params, _no_log = _args.validate("toy", NESTED_DOC, {"name": "prod", "retries": "7", "init": {"enabled": "yes"}})
    assert params["cluster"] == "prod" and params["retries"] == 7
    assert params["init"] == {"attempts": 5, "enabled": True}


@pytest.mark.parametrize("args, expected", [
    ({"container_detail": "all"}, "value of container_detail must be one of: none, list, routes, got: all"),
    ({"files": {"a": 1}}, "argument 'files' is of type dict"),
    ({"container_detials": "none"}, "unsupported argument container_detials (supported: cluster, container_detail, files)"),
    ({"x": 1, "y": 2}, "unsupported arguments x, y"),
])
def test_errors_name_the_argument(args, expected):
    with pytest.raises(_args.ArgumentError) as error:
        _args.validate(ACTION, DOCUMENTATION, args)
    assert str(error.value).startswith("invalid arguments for %s: " % ACTION)
    assert expected in str(error.value)


def test_nested_errors_name_the_path():
    with pytest.raises(_args.ArgumentError) as error:
        _args.validate("toy", NESTED_DOC, {"cluster": "c", "init": {"attempts": "many", "bogus": 1}})
    message = str(error.value)
    assert "unsupported argument init.bogus" in message
    assert "argument 'attempts' is of type str found in 'init'" in message


def test_required_and_conditionals():
    with pytest.raises(_args.ArgumentError, match="missing required arguments: cluster"):
        _args.validate("toy", NESTED_DOC, {})
    with pytest.raises(_args.ArgumentError, match="mutually exclusive: token|mode"):
        _args.validate("toy", NESTED_DOC, {"cluster": "c", "token": "t", "mode": "a"}, mutually_exclusive=[["token", "mode"]])


def test_no_log_values_are_returned_even_on_failure():
    _params, no_log = _args.validate("toy", NESTED_DOC, {"cluster": "c", "token": "s3cret"})
    assert no_log == {"s3cret"}
    with pytest.raises(_args.ArgumentError) as error:
        _args.validate("toy", NESTED_DOC, {"cluster": "c", "token": "s3cret", "retries": "x"})
    assert error.value.no_log_values == {"s3cret"}
