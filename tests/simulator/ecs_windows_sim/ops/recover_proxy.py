"""recover_proxy: boot-time self-healing without Ansible (host-model.md, `recover_proxy`).

Probe 169.254.170.2; if broken remove the portproxy rule, the 169.254.170.2 bindings and any APIPA vNIC,
Initialize-ECSAgent again, wait for registration, re-probe. Appends one JSON line to `log_path`.
"""

from __future__ import annotations

import json

from .. import endpoints, model
from ..opscript import OpError
from . import _prelude, init_agent, remove_proxy, wait_registered


def _repair(state: dict, args: dict) -> tuple[list, str | None]:
    ip = model.CREDENTIALS_IP
    try:
        removed = remove_proxy.remove(
            state,
            portproxy=[{"listen_address": ip, "listen_port": 80}] if model.find_portproxy(state, ip, 80) else [],
            ip_bindings=[{"ip_address": a["ip_address"], "interface_index": a["interface_index"]}
                         for a in state["ip_addresses"] if a["ip_address"] == ip],
            apipa_adapter=next((a["name"] for a in state["adapters"] if "apipa" in a["name"].lower()), None),
            firewall_rules=[],
        )
    except OpError as exc:
        return [], exc.message
    try:
        init_agent.initialize(state, args["init"])
    except OpError as exc:
        return removed, exc.message
    wait = wait_registered.wait(state, args["init"]["cluster"], args["registration_timeout_s"])
    if not wait["registered"]:
        return removed, "the agent did not register with cluster '%s' within %d s (it reports cluster %s)" % (
            args["init"]["cluster"], args["registration_timeout_s"], json.dumps(wait["cluster"]))
    return removed, None


def run(state: dict, args: dict) -> dict:
    _prelude.windows_path(args["log_path"], "log_path")
    before = endpoints.proxy_endpoint(state)
    removed, error = [], None
    if before["ok"]:
        action, after = "none", before
    else:
        removed, error = _repair(state, args)
        after = endpoints.proxy_endpoint(state)
        if error is None and not after["ok"]:
            error = "169.254.170.2 still fails after the repair: %s" % (
                after["error"] or "HTTP %s" % after["status"])
        action = "repaired" if error is None else "failed"
    result = {"action": action, "before": before, "after": after, "removed": removed, "error": error}
    line = json.dumps({"time": model.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "boot_id": state["boot_id"], **result},
                      separators=(",", ":"))
    old = model.read_file(state, args["log_path"]) or b""
    model.write_file(state, args["log_path"], old + line.encode("utf-8") + b"\r\n", make_parents=True)
    return result
