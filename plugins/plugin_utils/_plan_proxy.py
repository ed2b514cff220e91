# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential proxy (169.254.170.2:80 -> 127.0.0.1:51679): diagnosis from probe facts, and the pure planner of
ecs_windows.task_iam.credential_proxy (facts + validated args -> plan). The agent planner reuses the diagnosis.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _args, _findings, _script

PROXY_IP = "169.254.170.2"
PROXY_PORT = 80
TMDS_ADDRESS = "127.0.0.1"
TMDS_PORT = 51679
FIREWALL_DISPLAY_NAME = "Allow Inbound Port 51679"

ECSTOOLS_REBOOT_TASK_PATH = "\\"
ECSTOOLS_REBOOT_TASK_NAME = "Initialize-ECSHostReboot"
BOOT_TASK_PATH, BOOT_TASK_NAME = _findings.BOOT_TASK_PATH, _findings.BOOT_TASK_NAME
BOOT_SCRIPT_PATH = "C:\\ProgramData\\Amazon\\ECS\\ecs_windows.task_iam\\recover-credential-proxy.ps1"
BOOT_LOG_PATH = "C:\\ProgramData\\Amazon\\ECS\\log\\ecs_windows.task_iam-recover.log"
# recover_proxy runs from Ansible log elsewhere, so the boot log (instance_info's boot_recovery) stays about boots.
RUN_LOG_PATH = "C:\\ProgramData\\Amazon\\ECS\\log\\ecs_windows.task_iam-credential_proxy.log"
BOOT_TASK_EXECUTE = "PowerShell.exe"
BOOT_TASK_ARGUMENTS = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s"' % BOOT_SCRIPT_PATH
BOOT_TASK_DESCRIPTION = (
    "ecs_windows.task_iam: after a reboot, delete the stale ECS credential proxy (169.254.170.2:80) and "
    "re-initialise the ECS agent with its current settings."
)
WAIT_ECSTOOLS_TASK_S = 300

# Machine environment written by Initialize-ECSAgent, per init_agent argument (REF 1.2, issue #3022).
ENV_CLUSTER = "ECS_CLUSTER"
INIT_FLAG_ENV = {
    "enable_task_iam_role": "ECS_ENABLE_TASK_IAM_ROLE",
    "enable_task_eni": "ECS_ENABLE_TASK_ENI",
    "awsvpc_block_imds": "ECS_AWSVPC_BLOCK_IMDS",
}
INIT_LIST_ENV = {
    "logging_drivers": "ECS_AVAILABLE_LOGGING_DRIVERS",
    "awsvpc_additional_local_routes": "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES",
}

HEALTHY = "healthy"

# Integer options and their bounds, those of the op contract (init_agent attempts/retry_delay_s, wait_registered timeout_s).
INIT_RANGES = {"init_attempts": (1, 10), "init_retry_delay": (0, 300)}
TIMEOUT_RANGE = (0, 3600)


class Refusal(Exception):
    """The host is in a state the planner will not change; `problems` are findings ({code, message, fix})."""

    def __init__(self, message, problems):
        super().__init__(message)
        self.problems = problems


def env_true(value):
    """A boolean agent setting is on: "true" in any case, as instance_info judges it (the agent's ParseBool also takes
    1 and t, which the agent module rewrites to true); unset is false."""
    return isinstance(value, str) and value.strip().lower() == "true"


def env_list(value):
    """A JSON list setting such as ECS_AVAILABLE_LOGGING_DRIVERS, or None when unset or not a JSON list of strings."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return None


def init_args_from_env(machine_env, attempts, retry_delay_s):
    """init_agent arguments that re-create the instance's current configuration from its Machine environment,
    or None when no cluster is configured (the agent was never initialised)."""
    cluster = machine_env.get(ENV_CLUSTER)
    if not cluster:
        return None
    args = {"cluster": cluster, "version": None, "attempts": attempts, "retry_delay_s": retry_delay_s}
    for arg, name in INIT_FLAG_ENV.items():
        args[arg] = env_true(machine_env.get(name))
    for arg, name in INIT_LIST_ENV.items():
        args[arg] = env_list(machine_env.get(name))
    return args


def init_switches(init):
    """The Initialize-ECSAgent command line an init_agent call amounts to, for messages."""
    words = ["Initialize-ECSAgent", "-Cluster", init["cluster"]]
    if init["enable_task_iam_role"]:
        words.append("-EnableTaskIAMRole")
    if init["version"]:
        words += ["-Version", init["version"]]
    if init["logging_drivers"] is not None:
        words += ["-LoggingDrivers", "'%s'" % json.dumps(init["logging_drivers"], separators=(",", ":"))]
    if init["enable_task_eni"]:
        words.append("-EnableTaskENI")
    if init["awsvpc_block_imds"]:
        words.append("-AwsvpcBlockIMDS")
    if init["awsvpc_additional_local_routes"] is not None:
        words += ["-AwsvpcAdditionalLocalRoutes", "'%s'" % json.dumps(init["awsvpc_additional_local_routes"], separators=(",", ":"))]
    return " ".join(words)


# ---------------------------------------------------------------------------------------------------------------
# The proxy's pieces, as the probe reports them


def proxy_pieces(facts):
    """Exactly the host objects identified as the credential proxy's; nothing else is ever removed."""
    proxy = facts["proxy"]
    return {
        "portproxy": [r for r in proxy["portproxy"] if r["listen_address"] == PROXY_IP and r["listen_port"] == PROXY_PORT],
        "ip_bindings": [b for b in proxy["ip_bindings"] if b["ip_address"] == PROXY_IP],
        "apipa_adapter": proxy["apipa_adapter"],
        "firewall_rules": [
            f for f in proxy["firewall_rules"]
            if f["display_name"] == FIREWALL_DISPLAY_NAME and f["local_port"] == str(TMDS_PORT) and f["direction"] == "Inbound"
        ],
    }


def describe_rule(rule):
    return "portproxy %s:%s -> %s:%s" % (rule["listen_address"], rule["listen_port"], rule["connect_address"], rule["connect_port"])


def describe_binding(binding):
    return "IP %s/%s on '%s' (ifIndex %s, %s)" % (
        binding["ip_address"], binding["prefix_length"], binding["interface_alias"], binding["interface_index"], binding["address_state"])


def describe_pieces(pieces):
    out = [describe_rule(r) for r in pieces["portproxy"]]
    out += [describe_binding(b) for b in pieces["ip_bindings"]]
    if pieces["apipa_adapter"]:
        out.append("vNIC '%s'" % pieces["apipa_adapter"])
    out += ["firewall rule '%s'" % f["display_name"] for f in pieces["firewall_rules"]]
    return out


def remove_args(pieces, firewall=False):
    """remove_proxy arguments for the identified pieces (the firewall rule only on teardown: it survives reboots and
    Initialize-ECSAgent reuses it); None when there is nothing to remove."""
    args = {
        "portproxy": [{"listen_address": r["listen_address"], "listen_port": r["listen_port"]} for r in pieces["portproxy"]],
        "ip_bindings": [{"ip_address": b["ip_address"], "interface_index": b["interface_index"]} for b in pieces["ip_bindings"]],
        "apipa_adapter": pieces["apipa_adapter"],
        "firewall_rules": [f["name"] for f in pieces["firewall_rules"]] if firewall else [],
    }
    if args["portproxy"] or args["ip_bindings"] or args["apipa_adapter"] or args["firewall_rules"]:
        return args
    return None


def removed_view(pieces, args):
    """What removing `args` leaves of `pieces` (for the diff)."""
    if args is None:
        return pieces
    return {
        "portproxy": [],
        "ip_bindings": [],
        "apipa_adapter": None,
        "firewall_rules": [] if args["firewall_rules"] else pieces["firewall_rules"],
    }


# ---------------------------------------------------------------------------------------------------------------
# Diagnosis


# Findings (as instance_info reports them) that stop a repair: the agent module fixes the first group, nothing
# this collection runs fixes the second; each carries its exact remedy.
PREREQUISITE_CODES = ("ecstools_missing", "agent_not_initialized", "task_iam_disabled")
BLOCKER_CODES = ("port80_in_use", "agent_port_excluded", "duplicate_nat_adapters")


def prerequisites(facts):
    """What the agent module must set up before the proxy can be repaired (credential_proxy refuses these)."""
    problems = [f for f in _findings.findings(facts) if f["code"] in PREREQUISITE_CODES]
    service = facts["services"]["AmazonECS"]
    if service is not None and service["start_type"] == "Disabled":
        problems += [f for f in _findings.findings(facts) if f["code"] == "agent_not_running"]
    if service is not None and not facts["machine_env"].get(ENV_CLUSTER):
        problems.append({"code": "agent_not_initialized",
                         "message": "Machine environment ECS_CLUSTER is not set, so the agent's settings are unknown",
                         "fix": "run ecs_windows.task_iam.agent with the cluster first"})
    return problems


def blockers(facts):
    """Host state that re-initialising the agent cannot fix."""
    return [f for f in _findings.findings(facts) if f["code"] in BLOCKER_CODES]


def diagnose(facts):
    """Why 169.254.170.2:80 does (not) answer like the agent: {cause, reason, remove (remove_proxy args or None)}.

    Reachability is the truth (REF fact 6): a healthy endpoint is healthy whatever the pieces look like. The causes:
    stale_after_reboot (rule without the 169.254.170.2 binding: the binding does not survive a reboot, the rule does),
    missing (no rule), dead_rule (rule and binding present, agent up, yet the endpoint fails: the ghost rule of
    REF pitfall 9, or a rule pointing elsewhere), agent_down (pieces present, agent not answering on 51679).
    Repairs of the first three remove every identified piece before re-initialising (REF 2 recovery order);
    agent_down starts the agent first.
    """
    endpoint = facts["endpoints"]["proxy"]
    pieces = proxy_pieces(facts)
    if endpoint["ok"]:
        return {"cause": HEALTHY, "reason": "169.254.170.2:80 answers like the agent (400 NoIdInRequest)", "remove": None}
    if endpoint["error"] is None:
        return {"cause": "port80_in_use", "remove": None, "reason": "169.254.170.2:80 answers HTTP %s%s, not like the agent: "
                "another listener holds port 80" % (endpoint["status"], " %s" % endpoint["code"] if endpoint["code"] else "")}
    seen = "169.254.170.2:80 fails (%s)" % endpoint["error"]
    service = facts["services"]["AmazonECS"]
    rules, bindings = pieces["portproxy"], pieces["ip_bindings"]
    if rules and not bindings:
        cause, reason = "stale_after_reboot", "%s: the portproxy rule survived but 169.254.170.2 is bound to no adapter" % seen
    elif not rules:
        cause, reason = "missing", "%s: there is no portproxy rule for 169.254.170.2:80" % seen
    elif service is not None and service["status"] != "Running":
        return {"cause": "agent_down", "reason": "%s: the AmazonECS service is %s" % (seen, service["status"]), "remove": None}
    elif not facts["endpoints"]["agent_tmds"]["ok"]:
        return {"cause": "agent_down", "reason": "%s: the agent does not answer on 127.0.0.1:51679 (%s)"
                % (seen, facts["endpoints"]["agent_tmds"]["error"]), "remove": None}
    else:
        wrong = [r for r in rules if (r["connect_address"], r["connect_port"]) != (TMDS_ADDRESS, TMDS_PORT)]
        if wrong:
            reason = "%s: %s does not lead to the agent's 127.0.0.1:51679" % (seen, describe_rule(wrong[0]))
        else:
            reason = "%s although the rule, the binding and the agent are up: the rule is dead (created before the address was ready)" % seen
        cause = "dead_rule"
    return {"cause": cause, "reason": reason, "remove": remove_args(pieces)}


def start_agent_calls(service, init, registration_timeout_s):
    """Start (or restart) the agent, wait for it, then let recover_proxy repair the proxy only if the endpoint still
    fails (a rule can be dead behind a stopped agent; the probe cannot tell until the agent answers)."""
    state = "running" if service["status"] != "Running" else "restarted"
    return [
        ("service", {"name": "AmazonECS", "start_type": None, "state": state, "failure_restart": None}),
        ("wait_registered", {"cluster": init["cluster"], "timeout_s": registration_timeout_s, "interval_s": 2}),
        ("recover_proxy", {"init": init, "registration_timeout_s": registration_timeout_s, "log_path": RUN_LOG_PATH}),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Boot recovery task


def boot_script(init, registration_timeout_s):
    """The op-contract script the startup task runs: wait for ECSTools' own reboot task, then recover_proxy."""
    return _script.build_script([
        ("wait_task_idle", {"task_path": ECSTOOLS_REBOOT_TASK_PATH, "task_name": ECSTOOLS_REBOOT_TASK_NAME,
                            "timeout_s": WAIT_ECSTOOLS_TASK_S}),
        ("recover_proxy", {"init": init, "registration_timeout_s": registration_timeout_s, "log_path": BOOT_LOG_PATH}),
    ])


def script_sha256(script):
    """sha256 of the script file as boot_task writes it (UTF-8 with BOM), as probe reports it."""
    return hashlib.sha256(b"\xef\xbb\xbf" + script.encode("utf-8")).hexdigest()


def boot_view(facts):
    """The startup task as installed: what the diff shows and what is compared."""
    task = _findings.find_boot_task(facts)
    sha = facts["files"].get(BOOT_SCRIPT_PATH)
    if task is None and sha is None:
        return None
    view = {"task": None, "script_sha256": sha}
    if task is not None:
        view["task"] = {k: task[k] for k in ("enabled", "at_startup", "delay", "execute", "arguments")}
    return view


def desired_boot_view(script, delay):
    return {
        "task": {"enabled": True, "at_startup": True, "delay": delay, "execute": BOOT_TASK_EXECUTE, "arguments": BOOT_TASK_ARGUMENTS},
        "script_sha256": script_sha256(script),
    }


def boot_task_args(state, script=None, delay="PT0S"):
    return {"state": state, "task_path": BOOT_TASK_PATH, "task_name": BOOT_TASK_NAME, "script_path": BOOT_SCRIPT_PATH,
            "script": script, "delay": delay, "description": BOOT_TASK_DESCRIPTION}


_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def duration_s(text):
    """Seconds of an ISO 8601 duration as Task Scheduler stores a delay (it may write PT90S as PT1M30S); None if unreadable."""
    match = _DURATION.fullmatch(text or "")
    if not match or not text.strip("PT"):
        return None
    days, hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _same_task(have, want):
    if have is None or have["task"] is None or have["script_sha256"] != want["script_sha256"]:
        return False
    task = have["task"]
    return (task["enabled"] and task["at_startup"] and duration_s(task["delay"]) == duration_s(want["task"]["delay"])
            and task["execute"].lower() == BOOT_TASK_EXECUTE.lower() and task["arguments"] == BOOT_TASK_ARGUMENTS)


# ---------------------------------------------------------------------------------------------------------------
# The credential_proxy planner


def check_args(args):
    """Cross-argument rules the DOCUMENTATION cannot express; raises ValueError naming the argument."""
    if args["state"] == "absent" and args["on_boot"]:
        raise ValueError("on_boot: true cannot be combined with state: absent (absent removes the startup task); drop on_boot")
    _args.check_ranges(args, dict(INIT_RANGES, registration_timeout=TIMEOUT_RANGE, boot_delay=(0, None)))
    return args


def _endpoint_view(facts, cause):
    endpoint = facts["endpoints"]["proxy"]
    if endpoint["ok"]:
        return "healthy"
    return "broken (%s): %s" % (cause, endpoint["error"] or "HTTP %s %s" % (endpoint["status"], endpoint["code"]))


def _pieces_view(pieces):
    return {
        "portproxy": [describe_rule(r) for r in pieces["portproxy"]],
        "ip_bindings": [describe_binding(b) for b in pieces["ip_bindings"]],
        "apipa_adapter": pieces["apipa_adapter"],
        "firewall_rules": [f["display_name"] for f in pieces["firewall_rules"]],
    }


def _reinitialised_view(pieces):
    """What Initialize-ECSAgent is expected to leave (verified by the final probe, not trusted)."""
    return {
        "portproxy": ["portproxy %s:%d -> %s:%d (re-created)" % (PROXY_IP, PROXY_PORT, TMDS_ADDRESS, TMDS_PORT)],
        "ip_bindings": ["IP %s/32 (re-created)" % PROXY_IP],
        "apipa_adapter": None,
        "firewall_rules": [f["display_name"] for f in pieces["firewall_rules"]] or [FIREWALL_DISPLAY_NAME + " (created)"],
    }


def refuse(what, problems):
    raise Refusal("%s: %s" % (what, "; ".join("%s. Fix: %s" % (p["message"], p["fix"]) for p in problems)), problems)


def plan(facts, args):
    """facts (probe result) + validated credential_proxy args -> plan dict: cause, reason, changes, calls (one apply
    batch, without the verifying probe), diff, init. Raises Refusal for what re-initialising cannot fix."""
    pieces = proxy_pieces(facts)
    diag = diagnose(facts)
    out = {"cause": diag["cause"], "reason": diag["reason"], "changes": [], "calls": [], "init": None}
    before = {"endpoint": _endpoint_view(facts, diag["cause"]), "pieces": _pieces_view(pieces), "boot_task": boot_view(facts)}
    after = dict(before)
    out["diff"] = {"before": before, "after": after}

    if args["state"] == "absent":
        removal = remove_args(pieces, firewall=True)
        if removal:
            out["calls"].append(("remove_proxy", removal))
            out["changes"].append("remove the credential proxy: %s" % ", ".join(describe_pieces(pieces)))
            after["pieces"] = _pieces_view(removed_view(pieces, removal))
            after["endpoint"] = "absent"
        if before["boot_task"] is not None:
            out["calls"].append(("boot_task", boot_task_args("absent")))
            out["changes"].append("remove the startup task %s%s and its script" % (BOOT_TASK_PATH, BOOT_TASK_NAME))
            after["boot_task"] = None
        return out

    needs_repair = diag["cause"] != HEALTHY
    if needs_repair or args["on_boot"]:
        problems = prerequisites(facts)
        if problems:
            refuse(("the credential proxy cannot be repaired yet (%s)" % diag["reason"]) if needs_repair else
                   "the boot recovery task needs the agent's settings", problems)
    if needs_repair and (blockers(facts) or diag["cause"] == "port80_in_use"):
        refuse("the credential proxy is broken (%s) and re-initialising the agent cannot fix it" % diag["reason"], blockers(facts) or [{
            "code": "port80_in_use", "message": "the probe lists no such listener",
            "fix": "find it with 'netstat -ano -p tcp' and 'netsh http show servicestate', stop it, then rerun"}])
    init = init_args_from_env(facts["machine_env"], args["init_attempts"], args["init_retry_delay"]) if (needs_repair or args["on_boot"]) else None
    out["init"] = init

    if args["on_boot"]:
        delay = "PT%dS" % args["boot_delay"]
        script = boot_script(init, args["registration_timeout"])
        want = desired_boot_view(script, delay)
        if not _same_task(before["boot_task"], want):
            out["calls"].append(("boot_task", boot_task_args("present", script, delay)))
            why = "not installed" if before["boot_task"] is None else "its script or action differs from the current agent settings"
            out["changes"].append("install the startup task %s%s running %s (%s)" % (BOOT_TASK_PATH, BOOT_TASK_NAME, BOOT_SCRIPT_PATH, why))
            after["boot_task"] = want
    elif args["on_boot"] is False and before["boot_task"] is not None:
        out["calls"].append(("boot_task", boot_task_args("absent")))
        out["changes"].append("remove the startup task %s%s (on_boot is false)" % (BOOT_TASK_PATH, BOOT_TASK_NAME))
        after["boot_task"] = None

    if diag["cause"] == "agent_down":
        out["calls"] += start_agent_calls(facts["services"]["AmazonECS"], init, args["registration_timeout"])
        out["changes"].append("start the ECS agent, then repair the proxy only if it still fails: %s" % diag["reason"])
        after["endpoint"] = "healthy"
    elif needs_repair:
        if diag["remove"]:
            out["calls"].append(("remove_proxy", diag["remove"]))
            out["changes"].append("remove the broken proxy pieces (%s): %s" % (diag["cause"], ", ".join(describe_pieces(
                dict(pieces, firewall_rules=[])))))
        after["pieces"] = _reinitialised_view(pieces)
        out["calls"].append(("init_agent", init))
        out["calls"].append(("wait_registered", {"cluster": init["cluster"], "timeout_s": args["registration_timeout"], "interval_s": 2}))
        out["changes"].append("re-initialise the agent with its current settings (%s): %s" % (init_switches(init), diag["reason"]))
        after["endpoint"] = "healthy"
    return out
