"""remove_proxy: delete exactly the listed credential-proxy pieces, in the safe order:
portproxy rules, IP bindings, the legacy APIPA vNIC, firewall rules. Missing items are skipped."""

from __future__ import annotations

from .. import model
from ..opscript import OpError


def remove(state: dict, portproxy: list, ip_bindings: list, apipa_adapter: str | None, firewall_rules: list) -> list:
    """The `removed` list; OpError(host_state) before anything changes if asked to remove a non-APIPA adapter."""
    adapter = model.adapter_by_name(state, apipa_adapter) if apipa_adapter is not None else None
    if adapter is not None and adapter["kind"] != "apipa":
        raise OpError("host_state", "Refusing to remove adapter '%s': only a legacy APIPA vNIC is removed, "
                      "this one is a %s adapter." % (adapter["name"], adapter["kind"]))
    removed = []
    for rule in portproxy:
        if model.delete_portproxy(state, rule["listen_address"], rule["listen_port"]):
            removed.append("portproxy %s:%d" % (rule["listen_address"], rule["listen_port"]))
    for binding in ip_bindings:
        before = len(state["ip_addresses"])
        state["ip_addresses"] = [a for a in state["ip_addresses"] if not (
            a["ip_address"] == binding["ip_address"] and a["interface_index"] == binding["interface_index"])]
        if len(state["ip_addresses"]) != before:
            removed.append("ip %s on interface %d" % (binding["ip_address"], binding["interface_index"]))
    if adapter is not None:
        index = adapter["interface_index"]
        state["adapters"].remove(adapter)
        state["ip_addresses"] = [a for a in state["ip_addresses"] if a["interface_index"] != index]
        removed.append("adapter %s" % adapter["name"])
    for name in firewall_rules:
        rule = next((r for r in state["firewall_rules"] if r["name"] == name), None)
        if rule is not None:
            state["firewall_rules"].remove(rule)
            removed.append("firewall rule %s" % name)
    return removed


def run(state: dict, args: dict) -> dict:
    return {"removed": remove(state, args["portproxy"], args["ip_bindings"], args["apipa_adapter"],
                              args["firewall_rules"])}
