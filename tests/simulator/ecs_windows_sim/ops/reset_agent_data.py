"""reset_agent_data: stop AmazonECS (bounded wait); remove the agent's data directory (its saved registration)."""

from __future__ import annotations

from .. import model
from . import _service_wait


def run(state: dict, args: dict) -> dict:
    if model.AGENT_SERVICE in state["services"]:
        _service_wait.stop(state, model.AGENT_SERVICE, args["stop_timeout_s"])
    removed = state["agent"]["saved_registration"] is not None
    state["agent"]["saved_registration"] = None
    return {"removed": removed}
