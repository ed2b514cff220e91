# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The variables of the collection's playbooks (task_iam_*) and of the container_instance role, checked before
anything is sent: one line naming the variable and the fix for a missing, misspelt or mistyped one.

PLAYBOOK_VARS is the one definition of the playbook variables (docs/playbooks.md documents them; a unit test holds
the two together). Values given as strings (-e name=value) are converted to their documented types with Ansible's
own conversions, as module arguments are.
"""

from __future__ import annotations

import difflib
import pathlib
from collections.abc import Mapping
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError
from jinja2 import Undefined
from ansible.module_utils.common.validation import (
    check_type_bool,
    check_type_dict,
    check_type_int,
    check_type_list,
    check_type_str,
)

PREFIX = "task_iam_"
ROLE_PREFIX = "container_instance_"
# Variables under the role's prefix that are not options: what the role registers.
ROLE_REGISTERED = ("container_instance_result",)
_ROLE_SPEC = (
    pathlib.Path(__file__).resolve().parents[2] / "roles" / "container_instance" / "meta" / "argument_specs.yml"
)
_HOST_PLAYBOOKS = ("configure", "verify", "recover", "rolling_reboot", "bootstrap_containers")
_ECS_PLAYBOOKS = ("configure", "verify", "recover", "rolling_reboot")

# name -> type, default, playbooks, bounds (min, max) or choices, and the line docs/playbooks.md gives it.
PLAYBOOK_VARS: dict[str, dict[str, Any]] = {
    "task_iam_target_hosts": {
        "type": "str",
        "default": "windows_ecs",
        "playbooks": _HOST_PLAYBOOKS,
        "description": "the inventory host pattern the playbook runs on",
    },
    "task_iam_batch_size": {
        "type": "batch",
        "default": {"configure": 0, "recover": 0, "rolling_reboot": 1},
        "playbooks": ("configure", "recover", "rolling_reboot"),
        "description": "hosts per batch (a play serial): a number, or a percentage such as 10%; 0 means all at once",
    },
    "task_iam_report_dir": {
        "type": "str",
        "default": ".",
        "playbooks": ("verify", "recover"),
        "description": "the directory on the controller that gets fleet-report.html, .md and .json",
    },
    "task_iam_fail_on_unhealthy": {
        "type": "bool",
        "default": True,
        "playbooks": ("verify", "recover"),
        "description": "fail every host that is not healthy after writing the report; false makes a report-only run",
    },
    "task_iam_ecs_region": {
        "type": "str",
        "default": None,
        "playbooks": _ECS_PLAYBOOKS,
        "description": "the AWS region of the ECS clusters; turns on the ECS view (without it nothing calls AWS)",
    },
    "task_iam_aws_profile": {
        "type": "str",
        "default": None,
        "playbooks": _ECS_PLAYBOOKS,
        "description": "the AWS profile for the ECS calls (default: AWS_PROFILE, or the usual credential chain)",
    },
    "task_iam_aws_endpoint_url": {
        "type": "str",
        "default": None,
        "playbooks": _ECS_PLAYBOOKS,
        "description": "the ECS endpoint URL (default: AWS_ENDPOINT_URL_ECS or AWS_ENDPOINT_URL, else the region's)",
    },
    "task_iam_quarantine": {
        "type": "str",
        "default": "none",
        "choices": ("none", "drain", "attribute"),
        "playbooks": ("verify",),
        "description": "take unhealthy hosts out of service in ECS: drain (DRAINING) or attribute "
        "(ecs_windows.task_iam.credentials=broken, for a placement constraint); needs task_iam_ecs_region",
    },
    "task_iam_quarantine_max_percent": {
        "type": "int",
        "default": 50,
        "bounds": (0, 100),
        "playbooks": ("verify",),
        "description": "the most a quarantine may take out of service, in percent of each cluster's active instances",
    },
    "task_iam_drain_timeout": {
        "type": "int",
        "default": 900,
        "bounds": (0, 86400),
        "playbooks": ("rolling_reboot",),
        "description": "seconds to wait for the tasks of a drained batch to leave; a host whose tasks stay is not "
        "rebooted and the wave stops",
    },
    "task_iam_reboot_timeout": {
        "type": "int",
        "default": 1800,
        "bounds": (60, 86400),
        "playbooks": ("rolling_reboot",),
        "description": "seconds ansible.windows.win_reboot waits for a host to come back (its reboot_timeout)",
    },
    "task_iam_boot_repair_timeout": {
        "type": "int",
        "default": 900,
        "bounds": (0, 86400),
        "playbooks": ("rolling_reboot",),
        "description": "seconds to wait, after the boot, for the boot-time repair of the credential proxy to finish",
    },
    "task_iam_poll_interval": {
        "type": "int",
        "default": 10,
        "bounds": (1, 300),
        "playbooks": ("rolling_reboot",),
        "description": "seconds between two looks while waiting (tasks leaving, boot-time repair); one progress line "
        "each",
    },
}

_CHECKS = {
    "str": check_type_str,
    "bool": check_type_bool,
    "int": check_type_int,
    "list": check_type_list,
    "dict": check_type_dict,
}
_TYPE_WORDS = {
    "str": "a string",
    "bool": "a boolean (true or false)",
    "int": "an integer",
    "list": "a list",
    "dict": "a dictionary",
    "raw": "a value",
    "path": "a path",
}


def _close(name: str, known: list) -> str | None:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return match[0] if match else None


def _convert(kind: str, value: Any) -> Any:
    """The value as `kind`, converted as Ansible converts module arguments; TypeError/ValueError when it cannot be."""
    if kind == "int" and isinstance(value, bool):
        raise TypeError("a boolean is not an integer")
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError("%s is not a string" % type(value).__name__)
        return value
    if kind == "batch":
        if isinstance(value, bool):
            raise TypeError("a boolean is not a batch size")
        text = str(value).strip()
        number = text[:-1] if text.endswith("%") else text
        if not number.isdigit():
            raise ValueError("not a number of hosts or a percentage")
        return value
    check = _CHECKS.get(kind)
    return check(value) if check else value


def _variables(variables: Any, name: str) -> Mapping:
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError(
            "%s expects a dict of the play's variables (built with the varnames and vars lookups), got %s"
            % (name, type(variables).__name__)
        )
    return variables


def runbook_options(variables: Any, playbook: str) -> dict | Undefined:
    """The task_iam_* options of `playbook` with their defaults, converted to their types, and `problem`: "" or one
    line naming the variable that is wrong and the fix."""
    if isinstance(variables, Undefined):
        return variables  # fails where it is used, as "... is undefined" (ansible-lint templates with no vars)
    variables = _variables(variables, "runbook_options")
    known = sorted(PLAYBOOK_VARS)
    mine = [name for name in known if playbook in PLAYBOOK_VARS[name]["playbooks"]]
    if not mine:
        raise AnsibleFilterError("runbook_options: unknown playbook %r" % playbook)
    options: dict[str, Any] = {"problem": ""}
    problems = []
    internal = PREFIX + "_"  # task_iam__*: the playbooks' own facts
    for name in sorted(
        k
        for k in variables
        if isinstance(k, str) and k.startswith(PREFIX) and k not in known and not k.startswith(internal)
    ):
        # Only a near miss is a slip: a user's own task_iam_something is left alone.
        guess = _close(name, known)
        if guess:
            problems.append(
                "%s is not a variable of the collection's playbooks: did you mean %s? (docs/playbooks.md)"
                % (name, guess)
            )
    for name in mine:
        spec = PLAYBOOK_VARS[name]
        default = spec["default"][playbook] if isinstance(spec["default"], dict) else spec["default"]
        short = name[len(PREFIX) :]
        if name not in variables or variables[name] is None:
            options[short] = default
            continue
        value = variables[name]
        try:
            value = _convert(spec["type"], value)
        except (TypeError, ValueError):
            problems.append(
                "%s=%r is not %s: %s"
                % (
                    name,
                    value,
                    _TYPE_WORDS.get(spec["type"], "a batch size (a number of hosts, or a percentage such as 10%)"),
                    _fix(name, spec),
                )
            )
            continue
        if "choices" in spec and value not in spec["choices"]:
            problems.append("%s=%r is not one of %s: %s" % (name, value, ", ".join(spec["choices"]), _fix(name, spec)))
            continue
        if "bounds" in spec and not spec["bounds"][0] <= value <= spec["bounds"][1]:
            problems.append("%s=%r is out of range: %s" % (name, value, _fix(name, spec)))
            continue
        options[short] = value
    if not problems and options.get("quarantine", "none") != "none" and not options.get("ecs_region"):
        problems.append(
            "task_iam_quarantine=%s needs the ECS view: set task_iam_ecs_region (e.g. -e "
            "task_iam_ecs_region=eu-west-1)" % options["quarantine"]
        )
    options["problem"] = "; ".join(problems)
    options["notice"] = _unprefixed_notice(variables, mine)
    # For the playbooks' conditions, which must be booleans: whether the ECS view is on.
    options["ecs"] = bool(options.get("ecs_region"))
    return options


def runbook_var_pattern(playbook: str) -> str:
    """The regular expression, for the varnames lookup, of the variables runbook_options reads for `playbook`: every
    task_iam_* name but the playbooks' internal task_iam__* facts, and the playbook's names without their prefix."""
    mine = [name[len(PREFIX) :] for name in sorted(PLAYBOOK_VARS) if playbook in PLAYBOOK_VARS[name]["playbooks"]]
    if not mine:
        raise AnsibleFilterError("runbook_var_pattern: unknown playbook %r" % playbook)
    return "^(%s(?!_).*|%s)$" % (PREFIX, "|".join(mine))


def _unprefixed_notice(variables: Mapping, mine: list) -> str:
    """A warning for a variable given without the task_iam_ prefix (-e quarantine=drain, or a name from before
    0.1.0): not an error, since an inventory may hold a variable of that name for its own use, but never silent."""
    given = [name for name in mine if variables.get(name[len(PREFIX) :]) is not None and name not in variables]
    if not given:
        return ""
    return "; ".join(
        "%s is set, but the collection's playbooks read %s: its value is not used (give -e %s=... instead, "
        "docs/playbooks.md)" % (name[len(PREFIX) :], name, name)
        for name in given
    )


def _fix(name: str, spec: dict) -> str:
    if "choices" in spec:
        allowed = "one of " + ", ".join(spec["choices"])
    elif "bounds" in spec:
        allowed = "an integer from %d to %d" % spec["bounds"]
    elif spec["type"] == "bool":
        allowed = "true or false"
    elif spec["type"] == "batch":
        allowed = "a number of hosts or a percentage, e.g. 2 or 10%"
    else:
        allowed = _TYPE_WORDS[spec["type"]]
    return "give %s (-e %s=...)" % (allowed, name)


def _role_spec() -> dict:
    try:
        spec = yaml.safe_load(_ROLE_SPEC.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleFilterError("cannot read the container_instance role's argument spec %s: %s" % (_ROLE_SPEC, exc))
    return spec["argument_specs"]["main"]["options"]


def container_instance_vars_problem(variables: Any) -> str | Undefined:
    """ "" when the container_instance role's variables are complete and of their documented types (strings from -e
    included), else one line naming the first wrong variable and the fix."""
    if isinstance(variables, Undefined):
        return variables
    variables = _variables(variables, "container_instance_vars_problem")
    options = _role_spec()
    known = sorted(options)
    for name in sorted(k for k in variables if isinstance(k, str) and k.startswith(ROLE_PREFIX)):
        if name in options or name in ROLE_REGISTERED:
            continue
        guess = _close(name, known)
        return (
            "%s is not an option of the container_instance role%s (ansible-doc -t role "
            "ecs_windows.task_iam.container_instance lists them)"
            % (name, ": did you mean %s?" % guess if guess else "")
        )
    for name in known:
        spec = options[name]
        value = variables.get(name)
        if value is None:
            if spec.get("required"):
                return (
                    "%s is not set: give the ECS cluster the instances register to, in the inventory (group_vars "
                    "of the hosts) or with -e %s=NAME" % (name, name)
                )
            continue
        kind = spec.get("type", "str")
        try:
            value = _convert(kind, value)
            if kind == "list" and spec.get("elements"):
                value = [_convert(spec["elements"], item) for item in value]
        except (TypeError, ValueError):
            return "%s=%s is not %s%s: %s" % (
                name,
                _short(value),
                _TYPE_WORDS.get(kind, kind),
                " of %ss" % spec["elements"] if kind == "list" and spec.get("elements") else "",
                _role_fix(name, spec),
            )
        choices = spec.get("choices")
        if choices and any(item not in choices for item in (value if kind == "list" else [value])):
            return "%s=%s is not allowed: %s" % (name, _short(value), _role_fix(name, spec))
    return ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _role_fix(name: str, spec: dict) -> str:
    kind = spec.get("type", "str")
    if spec.get("choices"):
        allowed = ", ".join(map(str, spec["choices"]))
        return "give %s %s (-e %s=...)" % ("a list of" if kind == "list" else "one of", allowed, name)
    examples = {
        "bool": "true or false",
        "int": "a whole number",
        "list": "a list, e.g. [a, b] or a,b",
        "dict": "a dictionary, e.g. {KEY: value}",
        "str": "a string",
    }
    return "give %s (-e %s=...), see ansible-doc -t role ecs_windows.task_iam.container_instance" % (
        examples.get(kind, kind),
        name,
    )


class FilterModule(object):
    def filters(self) -> dict:
        return {
            "runbook_options": runbook_options,
            "runbook_var_pattern": runbook_var_pattern,
            "container_instance_vars_problem": container_instance_vars_problem,
        }
