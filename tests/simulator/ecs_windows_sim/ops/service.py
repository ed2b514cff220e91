"""service: converge a Windows service's start type, failure actions and state (in that order); stops and starts
wait at most timeout_s (a service stuck in StopPending is a `timeout` naming it)."""

from __future__ import annotations

from .. import model
from ..opscript import OpError
from . import _service_wait

AGENT_LOG = r"C:\ProgramData\Amazon\ECS\log\ecs-agent.log"


def _restart(state: dict, name: str, timeout_s: int) -> None:
    """Stop (with the services that depend on it), start, start those dependents again; then the service must
    still run a moment later (service.ps1 Assert-EcsServiceStaysRunning)."""
    try:
        stopped = _service_wait.stop(state, name, timeout_s)
        _service_wait.start(state, name, timeout_s)
        for other in stopped:
            _service_wait.start(state, other, timeout_s)
    except model.AgentExited:
        raise OpError("host_state", "service %s is Stopped right after it was started: see its log (AmazonECS: %s)"
                      % (name, AGENT_LOG)) from None
    except model.ServiceError as exc:
        raise OpError("host_state", str(exc)) from None


def run(state: dict, args: dict) -> dict:
    name = args["name"]
    svc = state["services"].get(name)
    if svc is None:
        fix = " Initialize-ECSAgent creates it: run ecs_windows.task_iam.agent first." if name == model.AGENT_SERVICE else ""
        raise OpError("host_state", "Cannot find any service with service name '%s'.%s" % (name, fix))
    changed = False
    if args["start_type"] is not None and svc["start_type"] != args["start_type"]:
        svc["start_type"] = args["start_type"]
        changed = True
    if args["failure_restart"] is not None and svc["failure_restart"] != args["failure_restart"]:
        svc["failure_restart"] = args["failure_restart"]
        changed = True
    wanted = args["state"]
    if wanted == "stopped" and svc["status"] != "Stopped":
        _service_wait.stop(state, name, args["timeout_s"])
        changed = True
    elif wanted == "restarted" or (wanted == "running" and svc["status"] != "Running"):
        changed = True
        _restart(state, name, args["timeout_s"])
    return {"changed": changed, "status": svc["status"], "start_type": svc["start_type"]}
