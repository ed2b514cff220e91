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

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

# Option keys of DOCUMENTATION that are also argument_spec keys; the rest (description, version_added...) is prose.
_SPEC_KEYS = ("type", "elements", "choices", "default", "required", "aliases", "no_log", "apply_defaults")


class ArgumentError(ValueError):
    """Task arguments do not match the documentation. The message names the argument(s).

    `no_log_values` are the values of no_log options seen, to scrub from the failure.
    """

    def __init__(self, message, no_log_values=()):
        super().__init__(message)
        self.no_log_values = set(no_log_values)


def argument_spec(documentation):
    """argument_spec dict of a DOCUMENTATION YAML text (or already parsed dict)."""
    doc = yaml.safe_load(documentation) if isinstance(documentation, str) else documentation
    return _options_spec(doc.get("options") or {})


def _options_spec(options):
    spec = {}
    for name, option in options.items():
        entry = {key: option[key] for key in _SPEC_KEYS if key in option}
        entry.setdefault("type", "str")
        if "suboptions" in option:
            entry["options"] = _options_spec(option["suboptions"])
        spec[name] = entry
    return spec


def validate(action, documentation, args, **conditionals):
    """Validated task args (defaults applied, types coerced) and the set of no_log values.

    `conditionals` are ArgumentSpecValidator's mutually_exclusive, required_if, ... which
    DOCUMENTATION cannot express. Raises ArgumentError whose message names the argument.
    """
    spec = argument_spec(documentation)
    result = ArgumentSpecValidator(spec, **conditionals).validate(dict(args))
    messages = [error.msg for error in result.errors if not isinstance(error, UnsupportedError)]
    if result.unsupported_parameters:
        names = sorted(".".join(p) if isinstance(p, tuple) else p for p in result.unsupported_parameters)
        messages.insert(0, "unsupported argument%s %s (supported: %s)" % (
            "s" if len(names) > 1 else "", ", ".join(names), ", ".join(sorted(spec))))
    # ValidationResult has no public accessor for the no_log values it collected.
    no_log_values = set(result._no_log_values)
    if messages:
        raise ArgumentError("invalid arguments for %s: %s" % (action, "; ".join(messages)), no_log_values)
    return result.validated_parameters, no_log_values


def check_ranges(params, ranges):
    """Raise ValueError naming the first integer option outside its range; `ranges` maps name -> (low, high or None).
    DOCUMENTATION cannot express ranges; the op contract's schemas set them."""
    for name, (low, high) in ranges.items():
        value = params.get(name)
        if value is None or (low <= value and (high is None or value <= high)):
            continue
        raise ValueError("%s must be %s, got %d" % (name, "%d or more" % low if high is None else "%d to %d" % (low, high), value))
