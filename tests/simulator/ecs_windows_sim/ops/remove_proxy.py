"""remove_proxy: delete exactly the listed credential-proxy pieces, in the safe order:
portproxy rules, IP bindings, the legacy APIPA vNIC, firewall rules. Missing items are skipped."""

from __future__ import annotations

import re

from .. import model
from ..opscript import OpError
from . import _prelude


def _check(portproxy: list, ip_bindings: list, apipa_adapter: str | None, firewall_rules: list) -> None:
    """Everything is validated before anything is deleted (remove_proxy.ps1)."""
    for item in portproxy:
        _prelude.ipv4(item["listen_address"], "portproxy.listen_address")
        if not 1 <= item["listen_port"] <= 65535:
            raise OpError("invalid_argument", "portproxy.listen_port must be 1-65535, got '%s'" % item["listen_port"])
    for item in ip_bindings:
        address = _prelude.ipv4(item["ip_address"], "ip_bindings.ip_address")
        if address != model.CREDENTIALS_IP:
            raise OpError("invalid_argument", "remove_proxy only removes the credential proxy address %s, not %s"
                          % (model.CREDENTIALS_IP, address))
    if apipa_adapter and "apipa" not in apipa_adapter.lower():
        raise OpError("host_state", "refusing to remove adapter '%s': remove_proxy only removes the legacy APIPA vNIC"
                      % apipa_adapter)
    for name in firewall_rules:
        if not name or re.search(r"[*?\[\]]", name):
            raise OpError("invalid_argument", "firewall rule name must be a non-empty name without wildcards, got '%s'" % name)


def remove(state: dict, portproxy: list, ip_bindings: list, apipa_adapter: str | None, firewall_rules: list) -> list:
    """The `removed` list; OpError where remove_proxy.ps1 raises (pieces removed before it stay removed)."""
    _check(portproxy, ip_bindings, apipa_adapter, firewall_rules)
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
    adapter = model.adapter_by_name(state, apipa_adapter) if apipa_adapter else None
    if adapter is not None:
        if not state["hyperv_powershell"]:
            raise OpError("host_state", "adapter '%s' is a Hyper-V vNIC, but the Hyper-V PowerShell module is not "
                          "installed: Install-WindowsFeature Hyper-V-PowerShell" % apipa_adapter)
        index = adapter["interface_index"]
        state["adapters"].remove(adapter)
        state["ip_addresses"] = [a for a in state["ip_addresses"] if a["interface_index"] != index]
        removed.append("adapter %s" % adapter["name"])
    for name in firewall_rules:
        # Only a rule identified as the proxy's (local port 51679) is removed; any other name is skipped.
        rule = next((r for r in state["firewall_rules"]
                     if r["name"].lower() == name.lower() and "51679" in r["local_port"].split(",")), None)
        if rule is None:
            continue
        state["firewall_rules"].remove(rule)
        removed.append("firewall rule %s" % name)
    return removed


def run(state: dict, args: dict) -> dict:
    return {"removed": remove(state, args["portproxy"], args["ip_bindings"], args["apipa_adapter"],
                              args["firewall_rules"])}
