# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate task arguments against the module stub's DOCUMENTATION, before anything is sent.

The stubs in plugins/modules are documentation only, so nothing else checks that the arguments an
action plugin accepts are the ones its documentation promises: this makes the DOCUMENTATION the spec
(as ansible.utils' validate action does with its own docs).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

# ansible-core before 2.18 words type errors with the class repr ("<class 'str'>"); later ones with the name.
_CLASS_REPR = re.compile(r"<class '([A-Za-z_][A-Za-z0-9_.]*)'>")

# Option keys of DOCUMENTATION that are also argument_spec keys; the rest (description, version_added...) is prose.
_SPEC_KEYS = ("type", "elements", "choices", "default", "required", "aliases", "no_log", "apply_defaults")


class ArgumentError(ValueError):
    """Task arguments do not match the documentation. The message names the argument(s).

    `no_log_values` are the values of no_log options seen, to scrub from the failure.
    """

    def __init__(self, message: str, no_log_values: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.no_log_values = set(no_log_values)


_OWN_FRAGMENTS = "ecs_windows.task_iam."


def _fragment_options(name: str) -> dict:
    """The options of one of the collection's doc fragments (`ecs_windows.task_iam.<module>[.<section>]`)."""
    module, _sep, section = name[len(_OWN_FRAGMENTS) :].partition(".")
    fragments = importlib.import_module("ansible_collections.ecs_windows.task_iam.plugins.doc_fragments.%s" % module)
    text = getattr(fragments.ModuleDocFragment, section.upper() if section else "DOCUMENTATION")
    return yaml.safe_load(text).get("options") or {}


def argument_spec(documentation: str | dict) -> dict:
    """argument_spec dict of a DOCUMENTATION YAML text (or already parsed dict), with the options of the collection's
    own doc fragments it extends (as ansible-doc shows them)."""
    doc = yaml.safe_load(documentation) if isinstance(documentation, str) else documentation
    options = {}
    for name in doc.get("extends_documentation_fragment") or []:
        if name.startswith(_OWN_FRAGMENTS):
            options.update(_fragment_options(name))
    options.update(doc.get("options") or {})
    return _options_spec(options)


def _options_spec(options: dict) -> dict:
    spec = {}
    for name, option in options.items():
        entry = {key: option[key] for key in _SPEC_KEYS if key in option}
        entry.setdefault("type", "str")
        if "suboptions" in option:
            entry["options"] = _options_spec(option["suboptions"])
        spec[name] = entry
    return spec


# The bounds of every integer option of the host modules (DOCUMENTATION cannot express ranges; each option's
# description states its bounds: tests/unit/test_args.py holds the two together).
RANGES = {
    "registration_timeout": (0, 3600),
    "init_attempts": (1, 10),
    "init_retry_delay": (0, 300),
    "init_timeout": (30, 3600),
    "boot_delay": (0, 3600),
    "lock_timeout": (0, 3600),
}


def validate(
    action: str, documentation: str | dict, args: Mapping[str, Any], **conditionals: Any
) -> tuple[dict, set[str]]:
    """Validated task args (defaults applied, types coerced, integers within RANGES) and the set of no_log values.

    `conditionals` are ArgumentSpecValidator's mutually_exclusive, required_if, ... which
    DOCUMENTATION cannot express. Raises ArgumentError whose message names the argument.
    """
    spec = argument_spec(documentation)
    # Python's bool is an int, so ArgumentSpecValidator takes `true` for an integer option: refused here.
    booleans = [
        "%s must be an integer, got a boolean (%s)" % (name, str(args[name]).lower())
        for name, entry in spec.items()
        if entry["type"] == "int" and isinstance(args.get(name), bool)
    ]
    result = ArgumentSpecValidator(spec, **conditionals).validate(dict(args))
    messages = booleans + [
        _CLASS_REPR.sub(r"\1", error.msg) for error in result.errors if not isinstance(error, UnsupportedError)
    ]
    if not messages:
        try:
            check_ranges(result.validated_parameters, {name: RANGES[name] for name in spec if name in RANGES})
        except ValueError as exc:
            messages.append(str(exc))
    if result.unsupported_parameters:
        names = sorted(".".join(p) if isinstance(p, tuple) else p for p in result.unsupported_parameters)
        messages.insert(
            0,
            "unsupported argument%s %s (supported: %s)"
            % ("s" if len(names) > 1 else "", ", ".join(names), ", ".join(sorted(spec))),
        )
    # ValidationResult has no public accessor for the no_log values it collected.
    no_log_values = set(result._no_log_values)
    if messages:
        raise ArgumentError("invalid arguments for %s: %s" % (action, "; ".join(messages)), no_log_values)
    return result.validated_parameters, no_log_values


def check_ranges(params: Mapping[str, Any], ranges: Mapping[str, tuple[int, int]]) -> None:
    """Raise ValueError naming the first integer option outside its range; `ranges` maps name -> (low, high)."""
    for name, (low, high) in ranges.items():
        value = params.get(name)
        if value is None or low <= value <= high:
            continue
        raise ValueError("%s must be %d to %d, got %d" % (name, low, high, value))
