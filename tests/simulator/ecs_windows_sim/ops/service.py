"""service: converge a Windows service's start type, failure actions and state (in that order)."""

from __future__ import annotations

from .. import model
from ..opscript import OpError


def _unexpected(exc: model.ServiceError, line: str) -> OpError:
    """service.ps1 does not catch Start-/Restart-Service errors: Invoke-EcsBatch reports them as `internal`."""
    return OpError("internal", "unexpected error in op 'service': %s (at: %s)" % (exc, line))


def run(state: dict, args: dict) -> dict:
    name = args["name"]
    svc = state["services"].get(name)
    if svc is None:
        fix = ": Initialize-ECSAgent creates it (run ecs_windows.task_iam.agent first)" if name == model.AGENT_SERVICE else ""
        raise OpError("host_state", "service %s does not exist on this host%s" % (name, fix))
    changed = False
    if args["start_type"] is not None and svc["start_type"] != args["start_type"]:
        svc["start_type"] = args["start_type"]
        changed = True
    if args["failure_restart"] is not None and svc["failure_restart"] != args["failure_restart"]:
        svc["failure_restart"] = args["failure_restart"]
        changed = True
    wanted = args["state"]
    if wanted == "running" and svc["status"] != "Running":
        changed = True
        try:
            model.start_service(state, name)
        except model.ServiceError as exc:
            raise _unexpected(exc, "Start-Service -Name $name") from None
    elif wanted == "stopped" and svc["status"] != "Stopped":
        model.stop_service(state, name)
        changed = True
    elif wanted == "restarted":
        changed = True
        if svc["status"] == "Running":
            model.stop_service(state, name)
        try:
            model.start_service(state, name)
        except model.ServiceError as exc:
            raise _unexpected(exc, "Restart-Service -Name $name -Force") from None
    return {"changed": changed, "status": svc["status"], "start_type": svc["start_type"]}
