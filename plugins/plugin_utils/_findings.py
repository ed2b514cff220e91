# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the facts of a `probe` into coded findings: what is wrong with task IAM roles on a host, and the fix.

Pure functions of the probe result (the `probe` schema in powershell/contract.json). A host is healthy exactly
when `findings(facts)` is empty. Messages name the host state that was seen, fixes the exact remedy; a value from
the host inside a fix command is quoted for PowerShell (all five single-quote characters), so a fix is safe to
paste. Messages never quote Machine environment values except as the probe masked them.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _boot_task, _env, _host, _proxy
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._pwsh_quote import quote_pwsh

# Two boot times within this many seconds are the same boot (_host.SAME_BOOT_TOLERANCE_S).
SAME_BOOT_TOLERANCE_S = _host.SAME_BOOT_TOLERANCE_S
# FILETIME units (100 ns) per second.
_TICKS = 10_000_000

# Every code findings() can report, in the order it reports them.
CODES = (
    "ecstools_missing",
    "agent_not_initialized",
    "agent_init_pending",
    "agent_not_running",
    "agent_not_registered",
    "cluster_mismatch",
    "task_iam_disabled",
    "proxy_missing",
    "proxy_stale_after_reboot",
    "proxy_dead_rule",
    "port80_in_use",
    "agent_port_excluded",
    "duplicate_nat_adapters",
    "no_proxy_missing",
    "docker_not_answering",
    "container_routes_missing",
    "imds_fallback_risk",
    "task_credentials_failing",
    "boot_folder_insecure",
    "boot_task_outdated",
    "boot_recovery_failed",
)


def _finding(code: str, message: str, fix: str) -> dict:
    return {"code": code, "message": message, "fix": fix}


def same_boot(boot_id: int | None, other: int | None) -> bool:
    """Whether two boot ids (LastBootUpTime as FILETIME) are the same boot, within SAME_BOOT_TOLERANCE_S."""
    if boot_id is None or other is None:
        return False
    return abs(int(boot_id) - int(other)) <= SAME_BOOT_TOLERANCE_S * _TICKS


def _env_value(facts: dict, name: str) -> str | None:
    return _env.lookup(facts["machine_env"], name)


def _cluster(facts: dict) -> str:
    return _env_value(facts, _host.ENV_CLUSTER) or "<cluster>"


def _agent_task(facts: dict, extra: str = "") -> str:
    return "ecs_windows.task_iam.agent with cluster: %s%s" % (_cluster(facts), extra)


def _service(facts: dict) -> dict | None:
    return facts["services"].get(_host.AGENT_SERVICE)


def _initialized(facts: dict) -> bool:
    return _service(facts) is not None


def _running(facts: dict) -> bool:
    service = _service(facts)
    return service is not None and service["status"] == "Running"


def _task_iam_enabled(facts: dict) -> bool:
    return _env.env_true(_env_value(facts, "ECS_ENABLE_TASK_IAM_ROLE"))


def _proxy_expected(facts: dict) -> bool:
    return _initialized(facts) and _task_iam_enabled(facts)


def _rule_text(rule: dict) -> str:
    return "%s:%s -> %s:%s" % (
        rule["listen_address"],
        rule["listen_port"],
        rule["connect_address"],
        rule["connect_port"],
    )


def _ecstools_missing(facts: dict, context: dict) -> dict | None:
    if facts["ecstools"]["present"]:
        return None
    fix = (
        "run ecs_windows.task_iam.agent with install_ecstools: true and ecstools_region: <region> "
        "(installs ECSTools from the regional amazon-ecs-agent bucket), or launch the instance from an ECS-optimized Windows AMI"
    )
    if not facts["hyperv_powershell"]:
        fix += "; this host also lacks the Hyper-V PowerShell module that ECSTools needs: Install-WindowsFeature -Name Hyper-V-PowerShell"
    return _finding(
        "ecstools_missing",
        "the ECSTools PowerShell module is not installed (Import-Module ECSTools fails), "
        "so Initialize-ECSAgent cannot set up or repair the agent and its credential proxy",
        fix,
    )


def _agent_not_initialized(facts: dict, context: dict) -> dict | None:
    if _initialized(facts):
        return None
    return _finding(
        "agent_not_initialized",
        "the AmazonECS service does not exist: the ECS agent was never initialized on this host",
        "run %s (Initialize-ECSAgent -Cluster <cluster> -EnableTaskIAMRole)" % _agent_task(facts),
    )


def _agent_init_pending(facts: dict, context: dict) -> dict | None:
    if _env_value(facts, _host.ENV_INIT_PENDING) is None:
        return None
    return _finding(
        "agent_init_pending",
        "Machine environment %s is set: the last Initialize-ECSAgent run of the collection "
        "did not finish, so the agent may still run with its old settings" % _host.ENV_INIT_PENDING,
        "run ecs_windows.task_iam.configure (or %s), which initialises the agent again" % _agent_task(facts),
    )


def _agent_not_running(facts: dict, context: dict) -> dict | None:
    service = _service(facts)
    if service is None or service["status"] == "Running":
        return None
    return _finding(
        "agent_not_running",
        "the AmazonECS service is %s (start type %s)" % (service["status"], service["start_type"]),
        "run %s (starts AmazonECS with start type Automatic), or on the host: "
        "Set-Service -Name AmazonECS -StartupType Automatic; Start-Service -Name AmazonECS" % _agent_task(facts),
    )


def _agent_not_registered(facts: dict, context: dict) -> dict | None:
    if not _running(facts):
        return None
    registration = facts["registration"]
    if registration["reachable"] and registration["container_instance_arn"]:
        return None
    if registration["reachable"]:
        seen = (
            "the agent runs but http://localhost:51678/v1/metadata has no ContainerInstanceArn (cluster %s)"
            % registration["cluster"]
        )
    else:
        seen = "the agent runs but http://localhost:51678/v1/metadata fails: %s" % (
            registration["error"] or "no answer"
        )
    return _finding(
        "agent_not_registered",
        seen,
        "make sure cluster %s exists and the instance role allows ecs:RegisterContainerInstance, then run %s "
        "(waits for registration); C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log says why it does not register"
        % (_cluster(facts), _agent_task(facts)),
    )


def _cluster_mismatch(facts: dict, context: dict) -> dict | None:
    expected = context.get("cluster")
    if not expected:
        return None
    registration = facts["registration"]
    seen = registration["cluster"] if registration["reachable"] else _env_value(facts, _host.ENV_CLUSTER)
    if seen is None or seen == expected:
        return None
    where = (
        "is registered to cluster '%s' (%s)" % (seen, registration["container_instance_arn"] or "no ARN yet")
        if registration["reachable"]
        else "is configured for cluster '%s' (Machine environment ECS_CLUSTER)" % seen
    )
    return _finding(
        "cluster_mismatch",
        "the instance %s, not to '%s', the cluster it is expected in" % (where, expected),
        "if '%s' is right, drain the instance and run ecs_windows.task_iam.configure with "
        "container_instance_cluster: %s and container_instance_force_reregister: true; otherwise fix the "
        "inventory's container_instance_cluster" % (expected, expected),
    )


def _task_iam_disabled(facts: dict, context: dict) -> dict | None:
    if not _initialized(facts) or _task_iam_enabled(facts):
        return None
    value = _env_value(facts, "ECS_ENABLE_TASK_IAM_ROLE")
    return _finding(
        "task_iam_disabled",
        "Machine environment ECS_ENABLE_TASK_IAM_ROLE is %s: the agent does not offer task IAM roles "
        "(no %s)" % ("not set" if value is None else repr(value), _host.TASK_IAM_CAPABILITY),
        "run %s and task_iam_role: true (Initialize-ECSAgent -EnableTaskIAMRole)" % _agent_task(facts),
    )


def _proxy_missing(facts: dict, context: dict) -> dict | None:
    if not _proxy_expected(facts) or _proxy.diagnose(facts).cause != _proxy.MISSING:
        return None
    return _finding(
        "proxy_missing",
        "no portproxy rule listens on %s:80 and %s %s"
        % (_host.PROXY_IP, _host.PROXY_URL, _proxy.answer_text(facts["endpoints"]["proxy"])),
        "run ecs_windows.task_iam.credential_proxy (re-initializes the agent, which creates the proxy)",
    )


def _proxy_stale_after_reboot(facts: dict, context: dict) -> dict | None:
    if not _proxy_expected(facts) or _proxy.diagnose(facts).cause != _proxy.STALE:
        return None
    rule = _proxy.pieces(facts)["portproxy"][0]
    return _finding(
        "proxy_stale_after_reboot",
        "the portproxy rule %s survives but no adapter has %s since the boot at %s; %s %s"
        % (
            _rule_text(rule),
            _host.PROXY_IP,
            facts["host"]["boot_time"],
            _host.PROXY_URL,
            _proxy.answer_text(facts["endpoints"]["proxy"]),
        ),
        "run ecs_windows.task_iam.credential_proxy (deletes the stale rule, re-initializes the agent and verifies); "
        "with on_boot: true the host repairs itself after every reboot",
    )


def _proxy_dead_rule(facts: dict, context: dict) -> dict | None:
    if not _proxy_expected(facts) or _proxy.diagnose(facts).cause != _proxy.DEAD_RULE or _proxy.port80_others(facts):
        return None
    rule = _proxy.pieces(facts)["portproxy"][0]
    return _finding(
        "proxy_dead_rule",
        "%s is bound and the agent answers on 127.0.0.1:%d, but the portproxy rule %s holds port 80 without "
        "forwarding: %s %s"
        % (
            _host.PROXY_IP,
            _host.TMDS_PORT,
            _rule_text(rule),
            _host.PROXY_URL,
            _proxy.answer_text(facts["endpoints"]["proxy"]),
        ),
        "run ecs_windows.task_iam.credential_proxy (deletes the rule before re-initializing the agent; "
        "re-initializing on top of it keeps the dead rule)",
    )


def _http_sys_service(facts: dict, item: dict) -> dict:
    # http.sys listens as System (pid 4), so netstat names no service; on a host running IIS it is IIS's.
    w3svc = facts["services"].get(_host.IIS_SERVICE)
    if item["service"] is None and item["pid"] == 4 and w3svc is not None and w3svc["status"] == "Running":
        return dict(item, service=_host.IIS_SERVICE)
    return item


def _port80_in_use(facts: dict, context: dict) -> dict | None:
    others = [_http_sys_service(facts, item) for item in _proxy.port80_others(facts)]
    if not others:
        if _proxy.diagnose(facts).cause != _proxy.PORT80_IN_USE:
            return None
        return _finding(
            "port80_in_use",
            "%s answers %s, not like the agent, and the probe lists no listener on port 80 "
            "that could be it" % (_host.PROXY_URL, _proxy.answer_text(facts["endpoints"]["proxy"])),
            "find it with 'netstat -ano -p tcp' and 'netsh http show servicestate', stop it, then run "
            "ecs_windows.task_iam.credential_proxy",
        )
    seen = ", ".join(
        "%s:%s by %s (pid %s%s)"
        % (
            item["local_address"],
            item["local_port"],
            item["process"],
            item["pid"],
            ", service %s" % item["service"] if item["service"] else "",
        )
        for item in others
    )
    fixes = []
    for service in sorted({item["service"] for item in others if item["service"]}):
        if service == _host.IIS_SERVICE:
            fixes.append(
                "stop IIS: ansible.windows.win_service with name: W3SVC, state: stopped, start_mode: disabled "
                "(or bind its sites to the host's own IP address instead of *:80)"
            )
        else:
            fixes.append("ansible.windows.win_service with name: %s, state: stopped, start_mode: disabled" % service)
    for item in others:
        if not item["service"]:
            fixes.append(
                "stop %s (pid %s) or make it listen on the host's own IP address instead of %s:80"
                % (item["process"], item["pid"], item["local_address"])
            )
    return _finding(
        "port80_in_use",
        "port 80 is held by %s; the credential proxy needs %s:80" % (seen, _host.PROXY_IP),
        "; ".join(fixes) + "; then run ecs_windows.task_iam.credential_proxy",
    )


def _port_blocked(facts: dict, port: int) -> bool:
    if not _running(facts):
        return True
    if port == _host.TMDS_PORT:
        return not facts["endpoints"]["agent_tmds"]["ok"]
    return not facts["registration"]["reachable"]


def _agent_port_excluded(facts: dict, context: dict) -> dict | None:
    excluded = [(port, r) for port, r in _proxy.excluded_agent_ports(facts) if _port_blocked(facts, port)]
    if not excluded:
        return None
    ports = sorted({port for port, _r in excluded})
    ranges = ", ".join(sorted({"%s-%s" % (r["start"], r["end"]) for _port, r in excluded}))
    return _finding(
        "agent_port_excluded",
        "TCP port%s %s of the ECS agent %s inside the excluded port range %s (taken by winnat/HNS), so the agent cannot listen there"
        % (
            "s" if len(ports) > 1 else "",
            " and ".join(str(p) for p in ports),
            "are" if len(ports) > 1 else "is",
            ranges,
        ),
        "on the host as Administrator: net stop winnat; Stop-Service -Name hns; "
        "netsh int ipv4 add excludedportrange protocol=tcp startport=51678 numberofports=2; "
        "Start-Service -Name hns; net start winnat; Restart-Service -Name AmazonECS "
        "(reserves 51678-51679 for the agent before winnat picks its ranges: netsh then lists 51678-51679 "
        "with a *, which is the fix, not a problem); then run ecs_windows.task_iam.credential_proxy",
    )


def _duplicate_nat_adapters(facts: dict, context: dict) -> dict | None:
    adapters = [a for a in facts["nat_adapters"] if a["name"].startswith(_host.NAT_ADAPTER)]
    if len(adapters) < 2:
        return None
    keep = next((a for a in adapters if a["name"] == _host.NAT_ADAPTER and a["status"] == "Up"), None)
    keep = keep or next((a for a in adapters if a["status"] == "Up"), adapters[0])
    renames = [
        "Rename-NetAdapter -Name %s -NewName 'stale-nat-%d'" % (quote_pwsh(a["name"]), a["interface_index"])
        for a in adapters
        if a is not keep
    ]
    if keep["name"] != _host.NAT_ADAPTER:
        renames.append("Rename-NetAdapter -Name %s -NewName 'vEthernet (nat)'" % quote_pwsh(keep["name"]))
    return _finding(
        "duplicate_nat_adapters",
        "%d adapters are named vEthernet (nat)*: %s; Initialize-ECSAgent -EnableTaskIAMRole fails on them"
        % (
            len(adapters),
            ", ".join("%s (index %s, %s)" % (a["name"], a["interface_index"], a["status"]) for a in adapters),
        ),
        "keep Docker's nat adapter (%s, index %s) as the only vEthernet (nat)*: %s; then run %s"
        % (keep["name"], keep["interface_index"], "; ".join(renames), _agent_task(facts)),
    )


def _no_proxy_missing(facts: dict, context: dict) -> dict | None:
    proxies = [name for name in (_host.ENV_HTTP_PROXY, _host.ENV_HTTPS_PROXY) if _env_value(facts, name)]
    if not proxies:
        return None
    present = [entry.strip() for entry in (_env_value(facts, _host.ENV_NO_PROXY) or "").split(",") if entry.strip()]
    lacking = [entry for entry in _host.NO_PROXY_REQUIRED if entry not in present]
    if not lacking:
        return None
    wanted = ",".join(present + lacking)
    if _env.MASK in wanted:  # masked on the host (it holds an @): the fix cannot repeat the host's entries
        command = "add %s to Machine NO_PROXY and Restart-Service -Name AmazonECS" % ",".join(lacking)
    else:
        command = (
            "[Environment]::SetEnvironmentVariable('NO_PROXY', %s, 'Machine'); Restart-Service -Name AmazonECS"
            % quote_pwsh(wanted)
        )
    return _finding(
        "no_proxy_missing",
        "Machine environment %s is set but NO_PROXY lacks %s, so the agent sends metadata, credential and Docker "
        "requests through the proxy" % (" and ".join(proxies), ", ".join(lacking)),
        "run %s, http_proxy: <your proxy URL> (keeps NO_PROXY complete), or on the host: %s"
        % (_agent_task(facts), command),
    )


def _docker_not_answering(facts: dict, context: dict) -> dict | None:
    if facts["containers"] is not None or not facts["containers_error"]:
        return None
    return _finding(
        "docker_not_answering",
        "docker does not answer, so the containers and their routes are unknown: %s" % facts["containers_error"],
        "on the host: Restart-Service -Name docker -Force (restarts AmazonECS too); if it stays stuck, see "
        "C:\\ProgramData\\docker\\panic.log and the Application event log, or replace the instance",
    )


def _nat_containers(facts: dict) -> list[dict]:
    return [c for c in facts["containers"] or [] if c["network_mode"] == "nat" and c["routes"] is not None]


def _missing_route(container: dict) -> bool:
    return not any(
        route["destination"] == _host.CREDENTIALS_ROUTE
        and (container["gateway"] is None or route["next_hop"] == container["gateway"])
        for route in container["routes"]
    )


def _container_routes_missing(facts: dict, context: dict) -> dict | None:
    missing = [c for c in _nat_containers(facts) if _missing_route(c)]
    if not missing:
        return None
    names = [c["name"] for c in missing]
    return _finding(
        "container_routes_missing",
        "%d nat-mode container%s no route to %s via %s gateway: %s"
        % (
            len(missing),
            " has" if len(missing) == 1 else "s have",
            _host.CREDENTIALS_ROUTE,
            "its" if len(missing) == 1 else "their",
            ", ".join("%s (%s)" % (c["name"], c["id"][:12]) for c in missing),
        ),
        "run ecs_windows.task_iam.container_routes with names: [%s], or run the AWS container bootstrap script "
        "in the image's entrypoint (filter ecs_windows.task_iam.bootstrap_script)"
        % ", ".join("'%s'" % n for n in names),
    )


def _imds_fallback_risk(facts: dict, context: dict) -> dict | None:
    if not _proxy_expected(facts) or _proxy.diagnose(facts).healthy:
        return None
    exposed = [c for c in _nat_containers(facts) if any(r["destination"] == _host.IMDS_ROUTE for r in c["routes"])]
    if not exposed:
        return None
    return _finding(
        "imds_fallback_risk",
        "the credential proxy is broken while %d nat-mode container%s a route to %s: an AWS SDK there that gets "
        "no task credentials falls back to the instance role instead of failing: %s"
        % (
            len(exposed),
            " has" if len(exposed) == 1 else "s have",
            _host.IMDS_ROUTE,
            ", ".join("%s (%s)" % (c["name"], c["id"][:12]) for c in exposed),
        ),
        "repair the proxy (ecs_windows.task_iam.credential_proxy); and unless these tasks need instance "
        "metadata, run ecs_windows.task_iam.container_routes with imds: block (container_instance_imds: block) "
        "so they can never use the instance role (docs/aws.md, 'Blocking the instance role')",
    )


def _last_repair_time(facts: dict) -> str | None:
    last = facts["boot"]["last_run"] or {}
    if last.get("action") == "repaired" and same_boot(last.get("boot_id"), facts["host"]["boot_id"]):
        return last.get("time")
    return None


def _task_credentials_failing(facts: dict, context: dict) -> dict | None:
    """Tasks that cannot get credentials, from the audit log (docs/dev/host-facts.md section 3): the agent logs a
    failed request without its task, so a task is suspect when its last successful request is older than the last
    failed one [inference: SDKs refresh credentials well before they expire], or older than the proxy's repair."""
    repaired = _last_repair_time(facts)
    failures = facts.get("credential_failures")
    failing = []
    for task in facts["tasks"] or []:
        last = task["last_credentials"]
        if last is None:
            continue  # a task without a role never asks
        if last["status"] != 200:
            failing.append("%s (its last request, at %s, got HTTP %s)" % (task["arn"], last["time"], last["status"]))
        elif failures and last["time"] < failures["last_time"]:
            failing.append("%s (no successful request since %s)" % (task["arn"], last["time"]))
        elif repaired is not None and last["time"] < repaired:
            failing.append(
                "%s (no request since the proxy was repaired at %s; the last at %s)"
                % (task["arn"], repaired, last["time"])
            )
    if not failing:
        return None
    seen = ""
    if failures:
        seen = "; %d credential request%s failed from %s to %s (the last with HTTP %d)" % (
            failures["count"],
            "" if failures["count"] == 1 else "s",
            failures["first_time"],
            failures["last_time"],
            failures["last_status"],
        )
    return _finding(
        "task_credentials_failing",
        "%d task%s may not get %s credentials (the agent's audit log): %s%s"
        % (
            len(failing),
            "" if len(failing) == 1 else "s",
            "its" if len(failing) == 1 else "their",
            "; ".join(failing),
            seen,
        ),
        "repair the proxy and routes (ecs_windows.task_iam.recover, container routes with "
        "ecs_windows.task_iam.bootstrap_containers), then restart the tasks: aws ecs stop-task --cluster %s "
        "--task <task ARN> (the service starts them again)" % _cluster(facts),
    )


def _boot_folder_insecure(facts: dict, context: dict) -> dict | None:
    problems = []
    for label, acl in (("folder", facts["boot"]["folder"]), ("boot script", facts["boot"]["script"])):
        if not acl["exists"]:
            continue
        if acl["owner_sid"] not in ("S-1-5-18", "S-1-5-32-544"):
            problems.append("the %s is owned by %s" % (label, acl["owner"]))
        if acl["writable_by"]:
            problems.append("%s may change the %s" % (", ".join(acl["writable_by"]), label))
        if label == "folder" and not acl["protected"]:
            problems.append("the folder inherits its permissions from C:\\ProgramData")
    if not problems:
        return None
    return _finding(
        "boot_folder_insecure",
        "%s runs as SYSTEM at every boot from %s, but %s: whoever can write there can replace the script or "
        "forge its log" % (_host.BOOT_TASK_NAME, _host.BOOT_DIR, "; ".join(problems)),
        "run ecs_windows.task_iam.configure (or credential_proxy with on_boot: true): it takes the folder over "
        "(owner Administrators, SYSTEM and Administrators only), empties it and writes the script again",
    )


def _boot_task_outdated(facts: dict, context: dict) -> dict | None:
    reasons = _boot_task.outdated(facts)
    if not reasons:
        return None
    return _finding(
        "boot_task_outdated",
        "the startup task %s%s does not match what this collection installs: %s"
        % (_host.BOOT_TASK_PATH, _host.BOOT_TASK_NAME, "; ".join(reasons)),
        "run ecs_windows.task_iam.configure (or credential_proxy with on_boot: true) to install it again",
    )


def _boot_recovery_failed(facts: dict, context: dict) -> dict | None:
    # Only while the proxy is still broken: once repaired (e.g. by credential_proxy) the failed boot run is history.
    if facts["endpoints"]["proxy"]["ok"]:
        return None
    last = facts["boot"]["last_run"] or {}
    task = _boot_task.find(facts)
    if same_boot(last.get("boot_id"), facts["host"]["boot_id"]) and last.get("action") == "failed":
        seen = "failed: %s" % (last.get("error") or "no error text")
    elif (
        same_boot(last.get("boot_id"), facts["host"]["boot_id"])
        and last.get("action") == "started"
        and task is not None
        and task["state"] != "Running"
    ):
        seen = "began at %s and never finished (the task's last result is %s)" % (last.get("time"), _task_result(task))
    elif (
        task is not None
        and task["last_result"] not in (None, 0)
        and task["state"] != "Running"
        and not (same_boot(last.get("boot_id"), facts["host"]["boot_id"]))
    ):
        seen = "did not log anything at this boot; the task's last run (%s) ended with %s" % (
            task["last_run_time"],
            _task_result(task),
        )
    else:
        return None
    return _finding(
        "boot_recovery_failed",
        "the boot-time credential proxy recovery of this boot (%s) %s"
        % (last.get("time") or facts["host"]["boot_time"], seen),
        "fix the cause above, then run ecs_windows.task_iam.credential_proxy; the recovery log is %s"
        % _host.BOOT_LOG_PATH,
    )


def _task_result(task: dict) -> str:
    result = task["last_result"]
    return "none" if result is None else "0x%08X" % (result & 0xFFFFFFFF)


_CHECKS = (
    _ecstools_missing,
    _agent_not_initialized,
    _agent_init_pending,
    _agent_not_running,
    _agent_not_registered,
    _cluster_mismatch,
    _task_iam_disabled,
    _proxy_missing,
    _proxy_stale_after_reboot,
    _proxy_dead_rule,
    _port80_in_use,
    _agent_port_excluded,
    _duplicate_nat_adapters,
    _no_proxy_missing,
    _docker_not_answering,
    _container_routes_missing,
    _imds_fallback_risk,
    _task_credentials_failing,
    _boot_folder_insecure,
    _boot_task_outdated,
    _boot_recovery_failed,
)


def findings(facts: dict, cluster: str | None = None) -> list[dict]:
    """List of {code, message, fix} for the probe result `facts`; empty means healthy. `cluster`: the cluster the host
    is expected in (cluster_mismatch)."""
    context = {"cluster": cluster}
    return [item for item in (check(facts, context) for check in _CHECKS) if item]


def boot_recovery(facts: dict) -> dict:
    """Whether the collection's boot-time recovery task is installed, its last logged run, and whether it has still
    to run at this boot (`pending`: installed and enabled, and no finished run logged since the boot - it waits for
    its delay, or runs now)."""
    task = _boot_task.find(facts)
    last = facts["boot"]["last_run"]
    ran = bool(last and last.get("action") != "started" and same_boot(last.get("boot_id"), facts["host"]["boot_id"]))
    enabled = bool(task and task["enabled"])
    return {
        "installed": task is not None,
        "enabled": enabled,
        "last": last,
        "healed_this_boot": _last_repair_time(facts) is not None,
        "ran_this_boot": ran,
        "pending": enabled and not ran,
    }


def instance_facts(probe: dict) -> dict:
    """The facts instance_info returns (and other modules return as `facts`) for a probe result: the probe's values
    were masked on the host; the salt and hashes serve only the planners."""
    facts = {
        key: value for key, value in probe.items() if key not in ("container_detail", "salt", "machine_env_hashes")
    }
    facts["boot_recovery"] = boot_recovery(probe)
    return facts
