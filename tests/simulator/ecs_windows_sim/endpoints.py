"""Derived behaviour: what the agent and the network answer, computed from the state, never stored.

Rules: docs/dev/host-model.md "Derived behaviour". Every function is pure (reads the state and the clock only).
"""

from __future__ import annotations

from . import model

INTROSPECTION_PORT = 51678
TMDS_PORT = 51679
PROXY_PORT = 80
REFUSED = "Unable to connect to the remote server"
# .NET Framework appends the endpoint to a connect SocketException message (no period between).
UNREACHABLE = "A socket operation was attempted to an unreachable network %s:%d" % (model.CREDENTIALS_IP, PROXY_PORT)
CLOSED = "The underlying connection was closed: An unexpected error occurred on a receive."


def _answer(status: int | None, code: str | None, error: str | None, ok: bool = False) -> dict:
    return {"ok": ok, "status": status, "code": code, "error": error}


def agent_running(state: dict) -> bool:
    return model.service_running(state, model.AGENT_SERVICE)


def introspection_listening(state: dict) -> bool:
    return agent_running(state) and not model.port_excluded(state, INTROSPECTION_PORT)


def tmds_listening(state: dict) -> bool:
    """The agent binds 127.0.0.1:51679 unless 51679 lies in an excluded port range (host-facts.md section 6.3)."""
    return agent_running(state) and not model.port_excluded(state, TMDS_PORT)


def agent_version_string(state: dict) -> str:
    return "Amazon ECS Agent - v%s (%s)" % (state["agent"]["installed_version"], model.AGENT_COMMIT)


def registration(state: dict) -> dict:
    """GET http://localhost:51678/v1/metadata, as the probe reports it."""
    if not introspection_listening(state):
        return {"reachable": False, "cluster": None, "container_instance_arn": None, "version": None, "error": REFUSED}
    saved = state["agent"]["saved_registration"]
    return {
        "reachable": True,
        "cluster": model.agent_config(state).get("ECS_CLUSTER") or "default",
        "container_instance_arn": saved["container_instance_arn"] if model.agent_registered(state) else None,
        "version": agent_version_string(state),
        "error": None,
    }


def agent_tmds(state: dict) -> dict:
    """GET http://127.0.0.1:51679/v1/credentials (no id): 400 from a listening agent."""
    if not tmds_listening(state):
        return _answer(None, None, REFUSED)
    return _answer(400, "NoIdInRequest", None, ok=True)


def proxy_endpoint(state: dict) -> dict:
    """GET http://169.254.170.2/v2/credentials/: the first matching rule of the host model decides."""
    ip = model.CREDENTIALS_IP
    if not model.address_bound(state, ip):
        return _answer(None, None, UNREACHABLE)
    if model.port_held_by_other(state, ip, PROXY_PORT):
        return _answer(404, None, None)
    rule = model.find_portproxy(state, ip, PROXY_PORT)
    if rule is None:
        return _answer(None, None, REFUSED)
    if not rule["live"]:
        return _answer(None, None, CLOSED)
    if (rule["connect_address"], rule["connect_port"]) != ("127.0.0.1", TMDS_PORT) or not tmds_listening(state):
        return _answer(None, None, CLOSED)
    return _answer(400, "NoIdInRequest", None, ok=True)


def port80_listeners(state: dict) -> list[dict]:
    """Get-NetTCPConnection -LocalPort 80 -State Listen: other listeners plus every portproxy rule on 80
    (a dead rule still holds the port: netstat shows the ghost)."""
    found = [dict(lst) for lst in model.other_listeners(state) if lst["local_port"] == PROXY_PORT]
    for rule in state["portproxy"]:
        if rule["listen_port"] == PROXY_PORT:
            found.append({"local_address": rule["listen_address"], "local_port": PROXY_PORT,
                          "pid": 2144, "process": "svchost", "service": "iphlpsvc"})
    return found
