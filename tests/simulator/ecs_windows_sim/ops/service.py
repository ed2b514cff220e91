"""service: converge a Windows service's start type, failure actions and state."""

from __future__ import annotations

from .. import model
from ..opscript import OpError


def run(state: dict, args: dict) -> dict:
    name = args["name"]
    svc = state["services"].get(name)
    if svc is None:
        raise OpError("host_state", "Cannot find any service with service name '%s'." % name)
    changed = False
    if args["start_type"] is not None and svc["start_type"] != args["start_type"]:
        svc["start_type"] = args["start_type"]
        changed = True
    if args["failure_restart"] is not None and svc["failure_restart"] != args["failure_restart"]:
        svc["failure_restart"] = args["failure_restart"]
        changed = True
    wanted = args["state"]
    try:
        if wanted == "stopped" and svc["status"] != "Stopped":
            model.stop_service(state, name)
            changed = True
        elif wanted == "restarted" or (wanted == "running" and svc["status"] != "Running"):
            if svc["status"] == "Running":
                model.stop_service(state, name)
            changed = True
            model.start_service(state, name)
    except model.ServiceError as exc:
        raise OpError("host_state", str(exc)) from None
    return {"changed": changed, "status": svc["status"], "start_type": svc["start_type"]}
