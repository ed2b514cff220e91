"""reset_agent_data: Stop-Service AmazonECS; remove the agent's data directory (its saved registration)."""

from __future__ import annotations

from .. import model


def run(state: dict, args: dict) -> dict:
    if model.AGENT_SERVICE in state["services"]:
        model.stop_service(state, model.AGENT_SERVICE)
    removed = state["agent"]["saved_registration"] is not None
    state["agent"]["saved_registration"] = None
    return {"removed": removed}
