# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the planners return (Plan) and the one root error of the collection's host modules (EcsError), which
carries the result fields a failure reports.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from typing import Any, NoReturn


class EcsError(Exception):
    """A module run that ends in failure; `result` holds the extra result keys (facts, findings, cause, ...)."""

    def __init__(self, message: str, **result: Any) -> None:
        super().__init__(message)
        self.result = result


class Refusal(EcsError):
    """The host is in a state the module will not change; `problems` are findings ({code, message, fix}) naming it
    and the fix. Raised by planners before anything is sent."""

    def __init__(self, what: str, problems: list[dict], **result: Any) -> None:
        message = "%s: %s" % (what, "; ".join("%s. Fix: %s" % (p["message"], p["fix"]) for p in problems))
        super().__init__(message, **result)
        self.problems = problems


def refuse(what: str, problems: list[dict]) -> NoReturn:
    raise Refusal(what, problems)


@dataclasses.dataclass
class Wait:
    """Something the controller waits for after the apply batch, in short rounds with a progress line: the agent's
    registration with `cluster`, for at most `timeout_s` since the batch ended."""

    cluster: str
    timeout_s: int


@dataclasses.dataclass
class Plan:
    """What apply will do: human-readable `changes`, the op `calls` of one apply batch (without the verifying probe),
    the diff of the managed view (`before`, `after`, keyed by area), the waits after the batch, and `detail`: what
    the planner knows that report() needs (cause, reason, per-container entries, ...)."""

    changes: list[str] = dataclasses.field(default_factory=list)
    calls: list[tuple[str, dict]] = dataclasses.field(default_factory=list)
    before: dict = dataclasses.field(default_factory=dict)
    after: dict = dataclasses.field(default_factory=dict)
    waits: list[Wait] = dataclasses.field(default_factory=list)
    detail: dict = dataclasses.field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def then(self, other: "Plan", area: str | None = None) -> "Plan":
        """This plan followed by `other` (its calls run after these); `area` nests other's diff under that key."""
        before = dict(self.before, **({area: other.before} if area else other.before))
        after = dict(self.after, **({area: other.after} if area else other.after))
        return Plan(
            self.changes + other.changes,
            self.calls + other.calls,
            before,
            after,
            self.waits + other.waits,
            dict(self.detail, **other.detail),
        )


def step(changes: Iterable[str] = (), calls: Iterable[tuple[str, dict]] = (), **detail: Any) -> Plan:
    """A plan of one decision: its changes and calls (no diff of its own)."""
    return Plan(list(changes), list(calls), detail=detail)


def copied(value: Any) -> Any:
    return copy.deepcopy(value)
