"""probe: read-only snapshot of the host (docs/dev/host-model.md, `probe`)."""

from __future__ import annotations

import hashlib
import json

from .. import endpoints, model

RECOVER_LOG = r"C:\ProgramData\Amazon\ECS\log\ecs_windows.task_iam-recover.log"
_SERVICES = ("AmazonECS", "docker", "W3SVC")
# The routes the collection manages; the probe reports only these of a container's table.
_MANAGED_ROUTES = ("0.0.0.0/0", "169.254.170.2/32", "169.254.169.254/32")


def _service(state: dict, name: str) -> dict | None:
    svc = state["services"].get(name)
    if svc is None:
        return None
    return {"status": svc["status"], "start_type": svc["start_type"], "failure_restart": svc["failure_restart"]}


def _ip_bindings(state: dict) -> list[dict]:
    found = []
    for addr in state["ip_addresses"]:
        if addr["ip_address"] == model.CREDENTIALS_IP:
            adapter = model.adapter_by_index(state, addr["interface_index"])
            found.append({"ip_address": addr["ip_address"], "prefix_length": addr["prefix_length"],
                          "interface_alias": adapter["name"], "interface_index": addr["interface_index"],
                          "address_state": addr["address_state"]})
    return found


def _proxy(state: dict) -> dict:
    apipa = next((a["name"] for a in state["adapters"] if a["kind"] == "apipa"), None)
    return {
        "ip_bindings": _ip_bindings(state),
        "portproxy": [{k: r[k] for k in ("listen_address", "listen_port", "connect_address", "connect_port")}
                      for r in state["portproxy"]],
        "firewall_rules": [dict(r) for r in state["firewall_rules"] if r["local_port"] == "51679"],
        "apipa_adapter": apipa,
    }


def _boot_recovery_last(state: dict) -> dict | None:
    data = model.read_file(state, RECOVER_LOG)
    if not data:
        return None
    lines = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return last if isinstance(last, dict) else None


def _container(container: dict, detail: str) -> dict:
    labels = container["labels"]
    routes = detail == "routes"
    return {
        "id": container["id"], "name": container["name"], "image": container["image"],
        "network_mode": container["network_mode"],
        "task_family": labels.get("com.amazonaws.ecs.task-definition-family"),
        "task_arn": labels.get("com.amazonaws.ecs.task-arn"),
        "shell": container["shell"] if routes else None,
        "gateway": container["gateway"] if routes else None,
        "routes": [dict(r) for r in container["routes"] if r["destination"] in _MANAGED_ROUTES] if routes else None,
    }


def run(state: dict, args: dict) -> dict:
    detail = args["container_detail"]
    files = {}
    for path in args["files"]:
        data = model.read_file(state, path)
        files[path] = None if data is None else hashlib.sha256(data).hexdigest()
    agent = state["agent"]
    return {
        "host": {"hostname": state["name"].upper(), "os_caption": state["os"]["caption"],
                 "os_version": state["os"]["version"], "boot_id": state["boot_id"], "boot_time": state["boot_time"]},
        "ecstools": {"present": state["ecstools"]["present"], "version": state["ecstools"]["version"]},
        "hyperv_powershell": state["hyperv_powershell"],
        "agent": {"installed": agent["installed_version"] is not None, "version": agent["installed_version"]},
        "services": {name: _service(state, name) for name in _SERVICES},
        "machine_env": dict(sorted(state["machine_env"].items(), key=lambda item: item[0].lower())),
        "registration": endpoints.registration(state),
        "endpoints": {"agent_tmds": endpoints.agent_tmds(state), "proxy": endpoints.proxy_endpoint(state)},
        "proxy": _proxy(state),
        "nat_adapters": [{"name": a["name"], "interface_index": a["interface_index"], "status": a["status"]}
                         for a in model.nat_adapters(state)],
        "port80_listeners": sorted(endpoints.port80_listeners(state), key=lambda lst: lst["local_address"]),
        "excluded_port_ranges": [dict(r) for r in state["excluded_port_ranges"]],
        "scheduled_tasks": [{k: t[k] for k in ("path", "name", "state", "enabled", "at_startup", "delay", "execute", "arguments")}
                            for t in sorted(state["scheduled_tasks"], key=lambda t: (t["path"].lower(), t["name"].lower()))],
        "files": files,
        "boot_recovery_last": _boot_recovery_last(state),
        "container_detail": detail,
        "containers": [] if detail == "none" else [_container(c, detail) for c in state["containers"]],
    }
