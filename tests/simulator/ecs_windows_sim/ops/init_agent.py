"""init_agent: one Initialize-ECSAgent run in a child powershell.exe, stopped after timeout_s.

The init-hang fault makes the run never return (the child is stopped at timeout_s, really waited); the sporadic
adapter error is `retryable`; every other failure is `init_failed`.
"""

from __future__ import annotations

import time

from .. import ecstools
from ..opscript import OpError
from . import _prelude


def initialize(state: dict, settings: dict, timeout_s: int) -> dict:
    """The init_agent result; OpError(retryable | init_failed | timeout) when the run fails."""
    started = time.monotonic()
    faults = state["pending_faults"]
    if faults.get("init-hang", 0) > 0:
        faults["init-hang"] -= 1
        _prelude.sleep(timeout_s)
        raise OpError("timeout", "Initialize-ECSAgent did not finish within %d s and was stopped" % timeout_s)
    try:
        ecstools.initialize_agent(state, settings)
    except ecstools.InitError as exc:
        raise OpError("retryable" if exc.retryable else "init_failed", "Initialize-ECSAgent failed after %.1f s: %s"
                      % (time.monotonic() - started, exc)) from None
    return {"duration_s": round(time.monotonic() - started, 1), "output": ["[INFO]:Agent initialized (ecs-windows-sim)"]}


def run(state: dict, args: dict) -> dict:
    return initialize(state, args["settings"], args["timeout_s"])
