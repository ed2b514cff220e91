"""container_routes: add/remove /32 routes inside running containers (docker exec, ActiveStore)."""

from __future__ import annotations

_EXISTS = {"powershell": "Instance MSFT_NetRoute already exists", "cmd": "The object already exists."}
_MISSING = {"powershell": "No matching MSFT_NetRoute objects found by CIM query for instances of the "
                          "ROOT/StandardCimv2/MSFT_NetRoute class on the  CIM server",
            "cmd": "Element not found."}


def _apply(container: dict, request: dict) -> dict:
    out = {"id": request["id"], "added": [], "removed": [], "error": None}
    shell = request["shell"]
    if shell == "powershell" and container["shell"] != "powershell":
        out["error"] = 'exec: "powershell": executable file not found in %PATH%'
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


def run(state: dict, args: dict) -> dict:
    results = []
    for request in args["containers"]:
        container = next((c for c in state["containers"] if c["id"] == request["id"]), None)
        if container is None:
            results.append({"id": request["id"], "added": [], "removed": [],
                            "error": "No such container: %s" % request["id"]})
        else:
            results.append(_apply(container, request))
    return {"containers": results}
