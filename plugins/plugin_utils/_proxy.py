# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential proxy (169.254.170.2:80 -> 127.0.0.1:51679) as the probe sees it: its pieces and the one diagnosis
of why it does (not) work, used by the findings and by every planner alike.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _host

HEALTHY = "healthy"
# Why 169.254.170.2:80 does not answer like the agent (host-facts.md "Reboots" and "Known pitfalls"):
STALE = "stale_after_reboot"  # the rule survived a reboot, the 169.254.170.2 binding did not
MISSING = "missing"  # no rule
DEAD_RULE = "dead_rule"  # rule, binding and agent up, yet no answer: the ghost rule (or a rule pointing elsewhere)
AGENT_DOWN = "agent_down"  # the agent does not answer on 51679 (or its service is not running)
PORT80_IN_USE = "port80_in_use"  # something else answers on port 80


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    cause: str
    reason: str
    remove: dict | None  # remove_proxy arguments for the pieces a repair deletes first (None: nothing to delete)

    @property
    def healthy(self) -> bool:
        return self.cause == HEALTHY


def _is_proxy_rule(rule: dict) -> bool:
    return rule["listen_address"] == _host.PROXY_IP and rule["listen_port"] == _host.PROXY_PORT


def port_filter_holds(local_port: str, port: int) -> bool:
    """Whether a firewall port filter ('51679', '51000-52000', or a comma-separated list of them) holds `port`."""
    for entry in (local_port or "").split(","):
        low, _sep, high = entry.strip().partition("-")
        high = high or low
        if low.isdigit() and high.isdigit() and int(low) <= port <= int(high):
            return True
    return False


def pieces(facts: dict) -> dict:
    """Exactly the host objects identified as the credential proxy's; nothing else is ever removed."""
    proxy = facts["proxy"]
    return {
        "portproxy": [r for r in proxy["portproxy"] if _is_proxy_rule(r)],
        "ip_bindings": [b for b in proxy["ip_bindings"] if b["ip_address"] == _host.PROXY_IP],
        "apipa_adapter": proxy["apipa_adapter"],
        "firewall_rules": [
            f
            for f in proxy["firewall_rules"]
            if f["display_name"] == _host.FIREWALL_DISPLAY_NAME
            and port_filter_holds(f["local_port"], _host.TMDS_PORT)
            and f["direction"] == "Inbound"
        ],
    }


def describe_rule(rule: dict) -> str:
    return "portproxy %s:%s -> %s:%s" % (
        rule["listen_address"],
        rule["listen_port"],
        rule["connect_address"],
        rule["connect_port"],
    )


def describe_binding(binding: dict) -> str:
    return "IP %s/%s on '%s' (ifIndex %s, %s)" % (
        binding["ip_address"],
        binding["prefix_length"],
        binding["interface_alias"],
        binding["interface_index"],
        binding["address_state"],
    )


def describe(found: dict) -> list[str]:
    out = [describe_rule(r) for r in found["portproxy"]]
    out += [describe_binding(b) for b in found["ip_bindings"]]
    if found["apipa_adapter"]:
        out.append("vNIC '%s'" % found["apipa_adapter"])
    out += ["firewall rule '%s'" % f["display_name"] for f in found["firewall_rules"]]
    return out


def remove_args(found: dict, firewall: bool = False) -> dict | None:
    """remove_proxy arguments for the identified pieces (the firewall rule only on teardown: it survives reboots and
    Initialize-ECSAgent reuses it); None when there is nothing to remove."""
    args = {
        "portproxy": [
            {"listen_address": r["listen_address"], "listen_port": r["listen_port"]} for r in found["portproxy"]
        ],
        "ip_bindings": [
            {"ip_address": b["ip_address"], "interface_index": b["interface_index"]} for b in found["ip_bindings"]
        ],
        "apipa_adapter": found["apipa_adapter"],
        "firewall_rules": [f["name"] for f in found["firewall_rules"]] if firewall else [],
    }
    if args["portproxy"] or args["ip_bindings"] or args["apipa_adapter"] or args["firewall_rules"]:
        return args
    return None


def answer_text(endpoint: dict) -> str:
    if endpoint["ok"]:
        return "answers HTTP %s %s" % (endpoint["status"], endpoint["code"])
    if endpoint["error"]:
        return "fails: %s" % endpoint["error"]
    return "answers HTTP %s %s" % (endpoint["status"], endpoint["code"] or "(not the agent)")


def diagnose(facts: dict) -> Diagnosis:
    """Why 169.254.170.2:80 does (not) answer like the agent. Reachability is the truth (host-facts.md "Health
    checks"): a healthy endpoint is healthy whatever the pieces look like. Repairs of stale_after_reboot, missing
    and dead_rule delete every identified piece before re-initialising (the recovery order of host-facts.md
    "Reboots"); agent_down starts the agent first."""
    endpoint = facts["endpoints"]["proxy"]
    found = pieces(facts)
    if endpoint["ok"]:
        return Diagnosis(
            HEALTHY, "%s:%d answers like the agent (400 NoIdInRequest)" % (_host.PROXY_IP, _host.PROXY_PORT), None
        )
    if endpoint["error"] is None:
        return Diagnosis(
            PORT80_IN_USE,
            "%s:%d answers HTTP %s%s, not like the agent: another listener holds port 80"
            % (
                _host.PROXY_IP,
                _host.PROXY_PORT,
                endpoint["status"],
                " %s" % endpoint["code"] if endpoint["code"] else "",
            ),
            None,
        )
    seen = "%s:%d fails (%s)" % (_host.PROXY_IP, _host.PROXY_PORT, endpoint["error"])
    service = facts["services"][_host.AGENT_SERVICE]
    rules, bindings = found["portproxy"], found["ip_bindings"]
    if rules and not bindings:
        return Diagnosis(
            STALE,
            "%s: the portproxy rule survived but %s is bound to no adapter" % (seen, _host.PROXY_IP),
            remove_args(found),
        )
    if not rules:
        return Diagnosis(
            MISSING,
            "%s: there is no portproxy rule for %s:%d" % (seen, _host.PROXY_IP, _host.PROXY_PORT),
            remove_args(found),
        )
    if service is not None and service["status"] != "Running":
        return Diagnosis(AGENT_DOWN, "%s: the AmazonECS service is %s" % (seen, service["status"]), None)
    if not facts["endpoints"]["agent_tmds"]["ok"]:
        return Diagnosis(
            AGENT_DOWN,
            "%s: the agent does not answer on %s:%d (%s)"
            % (seen, _host.TMDS_ADDRESS, _host.TMDS_PORT, facts["endpoints"]["agent_tmds"]["error"]),
            None,
        )
    wrong = [r for r in rules if (r["connect_address"], r["connect_port"]) != (_host.TMDS_ADDRESS, _host.TMDS_PORT)]
    if wrong:
        reason = "%s: %s does not lead to the agent's %s:%d" % (
            seen,
            describe_rule(wrong[0]),
            _host.TMDS_ADDRESS,
            _host.TMDS_PORT,
        )
    else:
        reason = (
            "%s although the rule, the binding and the agent are up: the rule is dead (created before the address was ready)"
            % seen
        )
    return Diagnosis(DEAD_RULE, reason, remove_args(found))


# --- port 80 and the agent's ports -------------------------------------------------------------------------------

_WILDCARDS = ("0.0.0.0", "::", "[::]", "*")


def is_portproxy_listener(item: dict) -> bool:
    # probe joins the services of a shared svchost with commas (small instances group services: "BITS,...,iphlpsvc").
    return item["local_address"] == _host.PROXY_IP and "iphlpsvc" in (item["service"] or "").split(",")


def port80_others(facts: dict) -> list[dict]:
    """Listeners on port 80 other than the credential proxy's own portproxy rule, that take 169.254.170.2:80 too."""
    return [
        item
        for item in facts["port80_listeners"]
        if (item["local_address"] in _WILDCARDS or item["local_address"] == _host.PROXY_IP)
        and not is_portproxy_listener(item)
    ]


def excluded_agent_ports(facts: dict) -> list[tuple[int, dict]]:
    """(port, range) of the agent's ports inside a dynamic (winnat/HNS) exclusion; an administered range (marked *
    by netsh, added with `netsh int ipv4 add excludedportrange`) reserves them for the agent: the documented fix."""
    return [
        (port, r)
        for port in _host.AGENT_PORTS
        for r in facts["excluded_port_ranges"]
        if r["start"] <= port <= r["end"] and not r["administered"]
    ]
