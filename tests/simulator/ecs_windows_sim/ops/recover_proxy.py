"""recover_proxy: boot-time self-healing without Ansible (host-model.md, `recover_proxy`).

Logs a started line; probes 169.254.170.2; if broken removes the portproxy rule, the 169.254.170.2 bindings and
any APIPA vNIC, runs Initialize-ECSAgent again with the settings of the Machine environment as it is now (retrying
the adapter error), waits for registration, re-probes. Appends the outcome to `log_path`.
"""

from __future__ import annotations

import json
import time

from .. import endpoints, model
from ..opscript import OpError
from . import _prelude, init_agent, remove_proxy, wait_registered


def _repair(state: dict, args: dict, settings: dict) -> tuple[list, str | None]:
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
        init_agent.initialize(state, settings, args["init_timeout_s"], args["attempts"], args["retry_delay_s"])
    except OpError as exc:
        return removed, exc.message
    deadline = time.monotonic() + args["registration_timeout_s"]
    while True:
        wait = wait_registered.wait(state, settings["cluster"], int(max(0, min(60, deadline - time.monotonic()))), 5)
        if wait["registered"]:
            return removed, None
        if time.monotonic() >= deadline:
            return removed, "the agent did not register with cluster '%s' within %d s (it reports cluster %s)" % (
                settings["cluster"], args["registration_timeout_s"], json.dumps(wait["cluster"]))


def _log(state: dict, path: str, entry: dict) -> None:
    line = json.dumps(entry, separators=(",", ":"))
    old = model.read_file(state, path) or b""
    model.write_file(state, path, old + line.encode("utf-8") + b"\r\n", make_parents=True)


def run(state: dict, args: dict) -> dict:
    _prelude.windows_path(args["log_path"], "log_path")
    # Get-EcsBootId reads LastBootUpTime as the probe does (it wobbles with boot-time-jitter).
    stamp = {"time": model.now(state).strftime("%Y-%m-%dT%H:%M:%SZ"), "boot_id": model.reported_boot(state)[0]}
    _log(state, args["log_path"], dict(stamp, action="started", pid=4321))
    before = endpoints.proxy_endpoint(state)
    removed, error, settings = [], None, None
    if before["ok"]:
        action, after = "none", before
    else:
        settings = _prelude.agent_settings(state)
        if settings is None:
            error = ("Machine environment ECS_CLUSTER is not set: the agent was never initialised, so there are no "
                     "settings to re-create the proxy with")
        else:
            removed, error = _repair(state, args, settings)
        after = endpoints.proxy_endpoint(state)
        if error is None and not after["ok"]:
            error = "169.254.170.2 still fails after the repair: %s" % (after["error"] or "HTTP %s" % after["status"])
        action = "repaired" if error is None else "failed"
    result = {"action": action, "before": before, "after": after, "removed": removed, "settings": settings, "error": error}
    entry = {"time": model.now(state).strftime("%Y-%m-%dT%H:%M:%SZ"), "boot_id": state["boot_id"], "action": action,
             "before": before, "after": after, "removed": removed, "error": error}
    _log(state, args["log_path"], entry)
    return result
