"""init_agent: Initialize-ECSAgent up to `attempts` times, retrying only the sporadic adapter error.

The simulator never sleeps: `retry_delay_s` is accepted and ignored.
"""

from __future__ import annotations

from .. import ecstools
from ..opscript import OpError


def initialize(state: dict, init: dict) -> dict:
    """The init_agent result; OpError(init_failed) when an attempt fails for good."""
    retried = []
    for attempt in range(1, init["attempts"] + 1):
        try:
            ecstools.initialize_agent(state, init)
        except ecstools.InitError as exc:
            if not exc.retryable or attempt == init["attempts"]:
                raise OpError("init_failed", "Initialize-ECSAgent failed (attempt %d of %d): %s"
                              % (attempt, init["attempts"], exc)) from None
            retried.append(str(exc))
            continue
        return {"attempts": attempt, "retried_errors": retried}
    raise AssertionError("unreachable")


def run(state: dict, args: dict) -> dict:
    return initialize(state, args)
