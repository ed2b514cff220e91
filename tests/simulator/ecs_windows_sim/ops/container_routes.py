"""container_routes: add/remove /32 routes inside running containers (docker exec, ActiveStore).

Per container: removals, then additions, stopping at its first failure; the error is the first line the
failed command printed (New-/Remove-NetRoute for PowerShell images, netsh for cmd-only images)."""

from __future__ import annotations

from . import _prelude

_EXISTS = {"powershell": "New-NetRoute : Instance MSFT_NetRoute already exists", "cmd": "The object already exists."}
_MISSING = {"powershell": "Remove-NetRoute : No matching MSFT_NetRoute objects found by CIM query for instances of "
                          "the ROOT/StandardCimv2/MSFT_NetRoute class on the  CIM server: SELECT * FROM MSFT_NetRoute",
            "cmd": "Element not found."}
NO_POWERSHELL = 'exec: "powershell": executable file not found in %PATH%'


def _find(state: dict, ident: str) -> dict | None:
    """docker inspect: a full id or a unique id prefix."""
    found = [c for c in state["containers"] if c["id"].startswith(ident)]
    return found[0] if len(found) == 1 else None


def _apply(container: dict, request: dict) -> dict:
    out = {"id": request["id"], "added": [], "removed": [], "error": None}
    shell = request["shell"]
    if shell == "powershell" and container["shell"] != "powershell":
        out["error"] = NO_POWERSHELL
        return out
    routes = container["routes"]
    for destination in request["remove"]:
        route = next((r for r in routes if r["destination"] == destination), None)
        if route is None:
            out["error"] = "%s: %s" % (destination, _MISSING[shell])
            return out
        routes.remove(route)
        out["removed"].append(destination)
    for route in request["add"]:
        if any(r["destination"] == route["destination"] for r in routes):
            out["error"] = "%s: %s" % (route["destination"], _EXISTS[shell])
            return out
        routes.append({"destination": route["destination"], "next_hop": route["next_hop"]})
        out["added"].append(route["destination"])
    return out


def _hangs(state: dict, container: dict) -> bool:
    """docker-hang: docker itself or this one container (by name) does not answer."""
    if state["pending_faults"].get("docker-hang", 0) <= 0:
        return False
    only = state.get("docker_hang_container")
    return only is None or only == container["name"]


def run(state: dict, args: dict) -> dict:
    for request in args["containers"]:  # every entry is checked before any container is touched
        _prelude.container_id(request["id"])
        for route in request["add"]:
            _prelude.ipv4_prefix(route["destination"], "add.destination")
            _prelude.ipv4(route["next_hop"], "add.next_hop")
        for destination in request["remove"]:
            _prelude.ipv4_prefix(destination, "remove")
    results = []
    for request in args["containers"]:
        container = _find(state, request["id"])
        if container is not None and _hangs(state, container):
            _prelude.sleep(args["timeout_s"])
            results.append({"id": request["id"], "added": [], "removed": [], "error": "docker inspect %s did not finish "
                            "within %d s and was stopped" % (request["id"], args["timeout_s"])})
        elif container is None:
            results.append({"id": request["id"], "added": [], "removed": [],
                            "error": "No such container: %s" % request["id"]})
        else:
            results.append(_apply(container, request))
    return {"containers": results}
