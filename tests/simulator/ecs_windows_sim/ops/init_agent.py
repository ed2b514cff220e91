"""init_agent: one Initialize-ECSAgent run in a child powershell.exe, stopped after timeout_s.

The init-hang fault makes the run stop answering half-way (after the Machine environment and the credential proxy,
before the agent's service: ecstools.initialize_agent) until the child is stopped at timeout_s, really waited; the sporadic
adapter error is run again up to `attempts` times and is `retryable` when the last attempt fails; every other failure is
`init_failed`.
"""

from __future__ import annotations

import time

from .. import ecstools
from ..opscript import OpError
from . import _prelude


def _once(state: dict, settings: dict, timeout_s: int) -> None:
    started = time.monotonic()
    faults = state["pending_faults"]
    try:
        ecstools.initialize_agent(state, settings, hang=faults.get("init-hang", 0) > 0)
    except ecstools.Hung:
        faults["init-hang"] -= 1
        _prelude.sleep(timeout_s)
        raise OpError("timeout", "Initialize-ECSAgent did not finish within %d s and was stopped" % timeout_s) from None
    except ecstools.InitError as exc:
        raise OpError("retryable" if exc.retryable else "init_failed", "Initialize-ECSAgent failed after %.1f s: %s"
                      % (time.monotonic() - started, exc)) from None


def initialize(state: dict, settings: dict, timeout_s: int, attempts: int, retry_delay_s: int) -> dict:
    """The init_agent result: up to `attempts` runs while the adapter error is retryable; OpError(retryable |
    init_failed | timeout) when the runs fail."""
    retried = []
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        try:
            _once(state, settings, timeout_s)
        except OpError as exc:
            if exc.category != "retryable":
                raise
            if attempt == attempts:
                raise OpError("retryable", "%s (attempt %d of %d)" % (exc.message, attempt, attempts)) from None
            retried.append(exc.message)
            _prelude.sleep(min(retry_delay_s * 2 ** (attempt - 1), 300))
            continue
        return {"duration_s": round(time.monotonic() - started, 1), "output": ["[INFO]:Agent initialized (ecs-windows-sim)"],
                "attempts": attempt, "retried_errors": retried}
    raise AssertionError("unreachable")


def run(state: dict, args: dict) -> dict:
    return initialize(state, args["settings"], args["timeout_s"], args["attempts"], args["retry_delay_s"])
