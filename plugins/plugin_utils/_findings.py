# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the facts of a `probe` into coded findings: what is wrong with task IAM roles on a host, and the fix.

Pure functions of the probe result (the `probe` schema in powershell/contract.json). A host is healthy
exactly when `findings(facts)` is empty. Messages name the host state that was seen, fixes the exact
remedy. Messages never quote Machine environment values (HTTP_PROXY may hold credentials).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import re

PROXY_IP = "169.254.170.2"
IMDS_IP = "169.254.169.254"
TMDS_PORT = 51679
INTROSPECTION_PORT = 51678
DOCKER_PIPE = "\\\\.\\pipe\\docker_engine"
NO_PROXY_REQUIRED = (IMDS_IP, PROXY_IP, DOCKER_PIPE)
# The startup task credential_proxy (on_boot) installs.
BOOT_TASK_PATH = "\\ecs_windows.task_iam\\"
BOOT_TASK_NAME = "Recover-ECSCredentialProxy"
_WILDCARDS = ("0.0.0.0", "::", "[::]", "*")

# Every code findings() can report, in the order it reports them.
CODES = (
    "ecstools_missing",
    "agent_not_initialized",
    "agent_not_running",
    "agent_not_registered",
    "task_iam_disabled",
    "proxy_missing",
    "proxy_stale_after_reboot",
    "proxy_dead_rule",
    "port80_in_use",
    "agent_port_excluded",
    "duplicate_nat_adapters",
    "no_proxy_missing",
    "container_routes_missing",
    "boot_recovery_failed",
)


def _finding(code, message, fix):
    return {"code": code, "message": message, "fix": fix}


def _cluster(facts):
    return facts["machine_env"].get("ECS_CLUSTER") or "<cluster>"


def _agent_task(facts, extra=""):
    return "ecs_windows.task_iam.agent with cluster: %s%s" % (_cluster(facts), extra)


def _service(facts):
    return facts["services"].get("AmazonECS")


def _initialized(facts):
    return _service(facts) is not None


def _running(facts):
    service = _service(facts)
    return service is not None and service["status"] == "Running"


def _task_iam_enabled(facts):
    return facts["machine_env"].get("ECS_ENABLE_TASK_IAM_ROLE", "").strip().lower() == "true"


def _proxy_rules(facts):
    return [r for r in facts["proxy"]["portproxy"] if r["listen_address"] == PROXY_IP and r["listen_port"] == 80]


def _proxy_bindings(facts):
    return [b for b in facts["proxy"]["ip_bindings"] if b["ip_address"] == PROXY_IP]


def _endpoint_text(endpoint):
    if endpoint["ok"]:
        return "answers HTTP %s %s" % (endpoint["status"], endpoint["code"])
    if endpoint["error"]:
        return "fails: %s" % endpoint["error"]
    return "answers HTTP %s %s" % (endpoint["status"], endpoint["code"] or "(not the agent)")


def _rule_text(rule):
    return "%s:%s -> %s:%s" % (rule["listen_address"], rule["listen_port"], rule["connect_address"], rule["connect_port"])


def _ecstools_missing(facts):
    if facts["ecstools"]["present"]:
        return None
    fix = ("run ecs_windows.task_iam.agent with install_ecstools: true and ecstools_region: <region> "
           "(installs ECSTools from the regional amazon-ecs-agent bucket), or launch the instance from an ECS-optimized Windows AMI")
    if not facts["hyperv_powershell"]:
        fix += "; this host also lacks the Hyper-V PowerShell module that ECSTools needs: Install-WindowsFeature -Name Hyper-V-PowerShell"
    return _finding("ecstools_missing", "the ECSTools PowerShell module is not installed (Import-Module ECSTools fails), "
                    "so Initialize-ECSAgent cannot set up or repair the agent and its credential proxy", fix)


def _agent_not_initialized(facts):
    if _initialized(facts):
        return None
    return _finding("agent_not_initialized", "the AmazonECS service does not exist: the ECS agent was never initialized on this host",
                    "run %s (Initialize-ECSAgent -Cluster <cluster> -EnableTaskIAMRole)" % _agent_task(facts))


def _agent_not_running(facts):
    service = _service(facts)
    if service is None or service["status"] == "Running":
        return None
    return _finding("agent_not_running", "the AmazonECS service is %s (start type %s)" % (service["status"], service["start_type"]),
                    "run %s (starts AmazonECS with start type Automatic), or on the host: "
                    "Set-Service -Name AmazonECS -StartupType Automatic; Start-Service -Name AmazonECS" % _agent_task(facts))


def _agent_not_registered(facts):
    if not _running(facts):
        return None
    registration = facts["registration"]
    if registration["reachable"] and registration["container_instance_arn"]:
        return None
    if registration["reachable"]:
        seen = "the agent runs but http://localhost:51678/v1/metadata has no ContainerInstanceArn (cluster %s)" % registration["cluster"]
    else:
        seen = "the agent runs but http://localhost:51678/v1/metadata fails: %s" % (registration["error"] or "no answer")
    return _finding("agent_not_registered", seen,
                    "make sure cluster %s exists and the instance role allows ecs:RegisterContainerInstance, then run %s "
                    "(waits for registration); C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log says why it does not register"
                    % (_cluster(facts), _agent_task(facts)))


def _task_iam_disabled(facts):
    if not _initialized(facts) or _task_iam_enabled(facts):
        return None
    value = facts["machine_env"].get("ECS_ENABLE_TASK_IAM_ROLE")
    return _finding("task_iam_disabled",
                    "Machine environment ECS_ENABLE_TASK_IAM_ROLE is %s: the agent does not offer task IAM roles "
                    "(no com.amazonaws.ecs.capability.task-iam-role)" % ("not set" if value is None else repr(value)),
                    "run %s and task_iam_role: true (Initialize-ECSAgent -EnableTaskIAMRole)" % _agent_task(facts))


def _proxy_expected(facts):
    return _initialized(facts) and _task_iam_enabled(facts)


def _proxy_missing(facts):
    if not _proxy_expected(facts) or _proxy_rules(facts) or facts["endpoints"]["proxy"]["ok"]:
        return None
    return _finding("proxy_missing", "no portproxy rule listens on %s:80 and http://%s/v2/credentials/ %s"
                    % (PROXY_IP, PROXY_IP, _endpoint_text(facts["endpoints"]["proxy"])),
                    "run ecs_windows.task_iam.credential_proxy (re-initializes the agent, which creates the proxy)")


def _proxy_stale_after_reboot(facts):
    rules = _proxy_rules(facts)
    if not _proxy_expected(facts) or not rules or _proxy_bindings(facts) or facts["endpoints"]["proxy"]["ok"]:
        return None
    return _finding("proxy_stale_after_reboot",
                    "the portproxy rule %s survives but no adapter has %s since the boot at %s; http://%s/v2/credentials/ %s"
                    % (_rule_text(rules[0]), PROXY_IP, facts["host"]["boot_time"], PROXY_IP, _endpoint_text(facts["endpoints"]["proxy"])),
                    "run ecs_windows.task_iam.credential_proxy (deletes the stale rule, re-initializes the agent and verifies); "
                    "with on_boot: true the host repairs itself after every reboot")


def _is_portproxy_listener(item):
    # probe joins the services of a shared svchost with commas (small instances group services: "BITS,...,iphlpsvc").
    return item["local_address"] == PROXY_IP and "iphlpsvc" in (item["service"] or "").split(",")


def _port80_others(facts):
    return [item for item in facts["port80_listeners"]
            if (item["local_address"] in _WILDCARDS or item["local_address"] == PROXY_IP) and not _is_portproxy_listener(item)]


def _proxy_dead_rule(facts):
    rules = _proxy_rules(facts)
    endpoint = facts["endpoints"]["proxy"]
    if (not _proxy_expected(facts) or not rules or not _proxy_bindings(facts) or endpoint["ok"]
            or not facts["endpoints"]["agent_tmds"]["ok"] or _port80_others(facts)):
        return None
    return _finding("proxy_dead_rule",
                    "%s is bound and the agent answers on 127.0.0.1:%d, but the portproxy rule %s holds port 80 without "
                    "forwarding: http://%s/v2/credentials/ %s" % (PROXY_IP, TMDS_PORT, _rule_text(rules[0]), PROXY_IP, _endpoint_text(endpoint)),
                    "run ecs_windows.task_iam.credential_proxy (deletes the rule before re-initializing the agent; "
                    "re-initializing on top of it keeps the dead rule)")


def _http_sys_service(facts, item):
    # http.sys listens as System (pid 4), so netstat names no service; on a host running IIS it is IIS's.
    w3svc = facts["services"].get("W3SVC")
    if item["service"] is None and item["pid"] == 4 and w3svc is not None and w3svc["status"] == "Running":
        return dict(item, service="W3SVC")
    return item


def _port80_in_use(facts):
    others = [_http_sys_service(facts, item) for item in _port80_others(facts)]
    if not others:
        return None
    seen = ", ".join("%s:%s by %s (pid %s%s)" % (item["local_address"], item["local_port"], item["process"], item["pid"],
                                                 ", service %s" % item["service"] if item["service"] else "") for item in others)
    services = sorted({item["service"] for item in others if item["service"]})
    fixes = []
    for service in services:
        if service == "W3SVC":
            fixes.append("stop IIS: ansible.windows.win_service with name: W3SVC, state: stopped, start_mode: disabled "
                         "(or bind its sites to the host's own IP address instead of *:80)")
        else:
            fixes.append("ansible.windows.win_service with name: %s, state: stopped, start_mode: disabled" % service)
    for item in others:
        if not item["service"]:
            fixes.append("stop %s (pid %s) or make it listen on the host's own IP address instead of %s:80"
                         % (item["process"], item["pid"], item["local_address"]))
    return _finding("port80_in_use", "port 80 is held by %s; the credential proxy needs %s:80" % (seen, PROXY_IP),
                    "; ".join(fixes) + "; then run ecs_windows.task_iam.credential_proxy")


def _port_blocked(facts, port):
    if not any(r["start"] <= port <= r["end"] for r in facts["excluded_port_ranges"]):
        return False
    if not _running(facts):
        return True
    if port == TMDS_PORT:
        return not facts["endpoints"]["agent_tmds"]["ok"]
    return not facts["registration"]["reachable"]


def _agent_port_excluded(facts):
    ports = [port for port in (INTROSPECTION_PORT, TMDS_PORT) if _port_blocked(facts, port)]
    if not ports:
        return None
    ranges = ", ".join("%s-%s" % (r["start"], r["end"]) for r in facts["excluded_port_ranges"]
                       if any(r["start"] <= p <= r["end"] for p in ports))
    return _finding("agent_port_excluded",
                    "TCP port%s %s of the ECS agent %s inside the excluded port range %s (taken by winnat/HNS), so the agent cannot listen there"
                    % ("s" if len(ports) > 1 else "", " and ".join(str(p) for p in ports), "are" if len(ports) > 1 else "is", ranges),
                    "on the host as Administrator: net stop winnat; Stop-Service -Name hns; "
                    "netsh int ipv4 add excludedportrange protocol=tcp startport=51678 numberofports=2; "
                    "Start-Service -Name hns; net start winnat; Restart-Service -Name AmazonECS "
                    "(reserves 51678-51679 for the agent before winnat picks its ranges); then run ecs_windows.task_iam.credential_proxy")


def _duplicate_nat_adapters(facts):
    adapters = [a for a in facts["nat_adapters"] if a["name"].startswith("vEthernet (nat)")]
    if len(adapters) < 2:
        return None
    keep = next((a for a in adapters if a["name"] == "vEthernet (nat)" and a["status"] == "Up"), None)
    keep = keep or next((a for a in adapters if a["status"] == "Up"), adapters[0])
    renames = ["Rename-NetAdapter -Name '%s' -NewName 'stale-nat-%d'" % (a["name"].replace("'", "''"), a["interface_index"])
               for a in adapters if a is not keep]
    if keep["name"] != "vEthernet (nat)":
        renames.append("Rename-NetAdapter -Name '%s' -NewName 'vEthernet (nat)'" % keep["name"].replace("'", "''"))
    return _finding("duplicate_nat_adapters",
                    "%d adapters are named vEthernet (nat)*: %s; Initialize-ECSAgent -EnableTaskIAMRole fails on them"
                    % (len(adapters), ", ".join("%s (index %s, %s)" % (a["name"], a["interface_index"], a["status"]) for a in adapters)),
                    "keep Docker's nat adapter (%s, index %s) as the only vEthernet (nat)*: %s; then run %s"
                    % (keep["name"], keep["interface_index"], "; ".join(renames), _agent_task(facts)))


def _no_proxy_missing(facts):
    env = {name.upper(): value for name, value in facts["machine_env"].items()}
    proxies = [name for name in ("HTTP_PROXY", "HTTPS_PROXY") if env.get(name)]
    if not proxies:
        return None
    present = [entry.strip() for entry in env.get("NO_PROXY", "").split(",") if entry.strip()]
    lacking = [entry for entry in NO_PROXY_REQUIRED if entry not in present]
    if not lacking:
        return None
    wanted = ",".join(present + lacking)
    return _finding("no_proxy_missing",
                    "Machine environment %s is set but NO_PROXY lacks %s, so the agent sends metadata, credential and Docker "
                    "requests through the proxy" % (" and ".join(proxies), ", ".join(lacking)),
                    "run %s, http_proxy: <your proxy URL> (keeps NO_PROXY complete), or on the host: "
                    "[Environment]::SetEnvironmentVariable('NO_PROXY', '%s', 'Machine'); Restart-Service -Name AmazonECS"
                    % (_agent_task(facts), wanted.replace("'", "''")))


def _missing_route(container):
    if container["network_mode"] != "nat" or container["routes"] is None:
        return False
    return not any(route["destination"] == PROXY_IP + "/32" and (container["gateway"] is None or route["next_hop"] == container["gateway"])
                   for route in container["routes"])


def _container_routes_missing(facts):
    missing = [c for c in facts["containers"] if _missing_route(c)]
    if not missing:
        return None
    names = [c["name"] for c in missing]
    return _finding("container_routes_missing",
                    "%d nat-mode container%s no route to %s/32 via %s gateway: %s" % (
                        len(missing), " has" if len(missing) == 1 else "s have", PROXY_IP,
                        "its" if len(missing) == 1 else "their", ", ".join("%s (%s)" % (c["name"], c["id"][:12]) for c in missing)),
                    "run ecs_windows.task_iam.container_routes with names: [%s], or run the AWS container bootstrap script "
                    "in the image's entrypoint (filter ecs_windows.task_iam.bootstrap_script)" % ", ".join("'%s'" % n for n in names))


def _boot_recovery_failed(facts):
    # Only while the proxy is still broken: once repaired (e.g. by credential_proxy) the failed boot run is history.
    last = facts["boot_recovery_last"]
    if (not last or last.get("action") != "failed" or last.get("boot_id") != facts["host"]["boot_id"]
            or facts["endpoints"]["proxy"]["ok"]):
        return None
    return _finding("boot_recovery_failed",
                    "the boot-time credential proxy recovery of this boot (%s) failed: %s" % (last.get("time"), last.get("error") or "no error text"),
                    "fix the cause above, then run ecs_windows.task_iam.credential_proxy; the recovery log is "
                    "C:\\ProgramData\\Amazon\\ECS\\log\\ecs_windows.task_iam-recover.log")


_CHECKS = (
    _ecstools_missing,
    _agent_not_initialized,
    _agent_not_running,
    _agent_not_registered,
    _task_iam_disabled,
    _proxy_missing,
    _proxy_stale_after_reboot,
    _proxy_dead_rule,
    _port80_in_use,
    _agent_port_excluded,
    _duplicate_nat_adapters,
    _no_proxy_missing,
    _container_routes_missing,
    _boot_recovery_failed,
)


def findings(facts):
    """List of {code, message, fix} for the probe result `facts`; empty means healthy."""
    found = []
    for check in _CHECKS:
        item = check(facts)
        if item:
            found.append(item)
    return found


def find_boot_task(facts):
    """The collection's startup task among the probed tasks, or None (Task Scheduler names are case-insensitive)."""
    for task in facts["scheduled_tasks"]:
        if task["path"].lower() == BOOT_TASK_PATH.lower() and task["name"].lower() == BOOT_TASK_NAME.lower():
            return task
    return None


def boot_recovery(facts):
    """Whether the collection's boot-time recovery task is installed, and its last logged run."""
    task = find_boot_task(facts)
    return {
        "installed": task is not None,
        "enabled": bool(task and task["enabled"]),
        "last": facts["boot_recovery_last"],
    }


_SECRET_ENV = re.compile(r"AUTH|PASSWORD|SECRET|TOKEN|CREDENTIAL", re.IGNORECASE)
# scheme://userinfo@: the user information ends at the last "@" before the path, as Go's net/url (the agent) and
# urlsplit read it, so a password may hold "@" and ":".
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")


def redact_env_value(name, value):
    """A Machine environment value fit for output: auth data hidden, a proxy URL's password masked."""
    if value is None:
        return None
    if _SECRET_ENV.search(name):
        return "********"
    match = _URL_USERINFO.match(value)
    if not match or ":" not in match.group(2):
        return value
    return "%s%s:********@%s" % (match.group(1), match.group(2).split(":", 1)[0], value[match.end():])


def instance_facts(probe):
    """The facts instance_info returns (and other modules return as `facts`) for a probe result."""
    facts = {key: value for key, value in probe.items() if key not in ("boot_recovery_last", "container_detail")}
    facts["machine_env"] = {name: redact_env_value(name, value) for name, value in probe["machine_env"].items()}
    facts["boot_recovery"] = boot_recovery(probe)
    return facts
