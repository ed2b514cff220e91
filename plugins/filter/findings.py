# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that put a host module's result into words for the roles and playbooks (logic that stays out of Jinja)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def findings_message(result: dict, prefix: str = "the host is not healthy") -> str:
    """'<prefix>: [code] message. Fix: fix | ...' for the findings of a host module's result."""
    if not isinstance(result, dict):
        raise AnsibleFilterError(
            "findings_message expects the registered result of a host module, got %s" % type(result).__name__
        )
    if result.get("unreachable") or "findings" not in result:
        return "%s: %s" % (prefix, _one_line(result.get("msg")) or "the module returned no findings")
    parts = [
        "[%s] %s. Fix: %s" % (f.get("code"), _one_line(f.get("message")), _one_line(f.get("fix")))
        for f in result["findings"]
    ]
    return "%s: %s" % (prefix, " | ".join(parts) or "no finding")


def recover_outcome(probe: Any, repair: Any = None) -> str:
    """The one line the recover playbook prints per host, from the result of its credential_proxy task (`probe`; the
    optional `repair` is a second task's result, for callers that probe first)."""
    result = repair if isinstance(repair, dict) and not repair.get("skipped") else probe
    if not isinstance(result, dict):
        return "not checked: the host left the play before the repair"
    if result.get("unreachable"):
        if result.get("response_lost"):
            return (
                "repair sent, outcome unknown: the connection was lost after the repair was sent (%s); run verify to see "
                "the host's state" % _one_line(result.get("msg"))
            )
        return "unreachable: %s" % _one_line(result.get("msg"))
    if result.get("repaired"):
        return "repaired (cause: %s)" % result.get("cause")
    if result.get("failed"):
        return "not repaired: %s" % _one_line(result.get("msg"))
    others = list(result.get("findings") or [])
    if others:
        first = others[0]
        return "not repaired by recover: %s (fix: %s)" % (
            ", ".join(f["code"] for f in others),
            _one_line(first.get("fix")),
        )
    return "healthy, nothing to repair"


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"findings_message": findings_message, "recover_outcome": recover_outcome}
