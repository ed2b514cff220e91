"""Scenario settings (`ecs-windows-sim ctl set HOST KEY=VALUE`): shortcuts to host states that happen on
real instances without this collection. Each changes the state the way Windows/ECS would end up; the
README lists them. Unknown keys or values raise ValueError with the accepted forms."""

from __future__ import annotations

import re

from . import agent_tasks, ecstools, model, presets

_ON_OFF = ("on", "off")
_IIS = {"display_name": "World Wide Web Publishing Service", "status": "Running", "start_type": "Automatic",
        "failure_restart": False}
_DUPLICATE_NAT = ({"name": "vEthernet (nat) 2", "interface_index": 17, "status": "Disconnected", "kind": "nat"},
                  {"name": "vEthernet (nat) 3", "interface_index": 21, "status": "Up", "kind": "nat"})
_APIPA = {"name": "vEthernet (APIPA)", "interface_index": 25, "status": "Up", "kind": "apipa"}
_CONTAINER_KINDS = {
    # setting: (network_mode, shell, image; %s is the host's tag, presets.container_image_tag: ltsc2019/2022/2025)
    "containers": ("nat", "powershell", "mcr.microsoft.com/windows/servercore:%s"),
    "containers-cmd": ("nat", "cmd", "mcr.microsoft.com/windows/nanoserver:%s"),
    "containers-awsvpc": ("awsvpc", "powershell", "mcr.microsoft.com/windows/servercore:%s"),
}


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError("%s=%s: value must be one of %s" % (key, value, "|".join(allowed)))
    return value


def _count(key: str, value: str) -> int:
    if not value.isdigit() or int(value) > 500:
        raise ValueError("%s=%s: value must be a number of containers from 0 to 500" % (key, value))
    return int(value)


def _iis(state: dict, value: str) -> None:
    if _choice("iis", value, _ON_OFF) == "on":
        state["services"]["W3SVC"] = dict(_IIS)
    else:
        state["services"].pop("W3SVC", None)


def _excluded_port(state: dict, value: str) -> None:
    """A dynamic exclusion winnat/HNS took (N or START-END), or with `:administered` one added with
    `netsh int ipv4 add excludedportrange` (reserved for its owner, marked * by netsh); `none` clears all ranges."""
    if value == "none":
        state["excluded_port_ranges"] = []
        return
    match = re.fullmatch(r"([0-9]{1,5})(?:-([0-9]{1,5}))?(:administered)?", value)
    start = int(match.group(1)) if match else 0
    end = int(match.group(2) or start) if match else 0
    if not match or not 1 <= start <= end <= 65535:
        raise ValueError("excluded-port=%s: value must be PORT, START-END (optionally :administered) or none" % value)
    entry = {"start": start, "end": end, "administered": bool(match.group(3))}
    if entry not in state["excluded_port_ranges"]:
        state["excluded_port_ranges"].append(entry)


def _duplicate_nat(state: dict, value: str) -> None:
    names = {a["name"] for a in _DUPLICATE_NAT}
    state["adapters"] = [a for a in state["adapters"] if a["name"] not in names]
    if _choice("duplicate-nat", value, _ON_OFF) == "on":
        state["adapters"].extend(dict(a) for a in _DUPLICATE_NAT)


def _apipa_adapter(state: dict, value: str) -> None:
    """The legacy hostsetup.ps1 vNIC `vEthernet (APIPA)` holding 169.254.170.2 (on), or none (off)."""
    index = _APIPA["interface_index"]
    state["adapters"] = [a for a in state["adapters"] if a["interface_index"] != index]
    state["ip_addresses"] = [a for a in state["ip_addresses"] if a["interface_index"] != index]
    if _choice("apipa-adapter", value, _ON_OFF) == "on":
        state["adapters"].append(dict(_APIPA))
        if not any(a["ip_address"] == model.CREDENTIALS_IP for a in state["ip_addresses"]):
            model.bind_address(state, model.CREDENTIALS_IP, 32, index, persistent=False)


def _containers(state: dict, key: str, value: str) -> None:
    """Replace the running containers of this kind with N new ones of task family `web`."""
    count = _count(key, value)
    mode, shell, image = _CONTAINER_KINDS[key]
    if count and not model.service_running(state, "docker"):
        raise ValueError("%s=%s: the docker service is not running on this host" % (key, value))
    state["containers"] = [c for c in state["containers"] if (c["network_mode"], c["shell"]) != (mode, shell)]
    config = model.agent_config(state)
    cluster = config.get("ECS_CLUSTER") or "default"
    account, region = model.account_region(state)
    tag = presets.container_image_tag(state)
    started = model.now(state)
    new_tasks = []
    for number in range(count):
        task = model.random_hex(32)
        if mode == "nat":
            ip, gateway = "172.29.%d.%d" % (81 + number // 250, 2 + number % 250), model.NAT_GATEWAY
            routes = [{"destination": "0.0.0.0/0", "next_hop": gateway}]
        else:
            ip, gateway = "10.0.2.%d" % (10 + number % 240), "10.0.2.1"
            routes = [{"destination": "0.0.0.0/0", "next_hop": gateway},
                      {"destination": "169.254.170.2/32", "next_hop": "0.0.0.0"}]
            if config.get("ECS_AWSVPC_BLOCK_IMDS") != "true":
                routes.append({"destination": "169.254.169.254/32", "next_hop": "0.0.0.0"})
        state["containers"].append({
            "id": model.random_hex(64),
            "name": "ecs-web-1-web-%s" % model.random_hex(20),
            "image": image % tag,
            "network_mode": mode,
            "shell": shell,
            "labels": {"com.amazonaws.ecs.task-definition-family": "web",
                       "com.amazonaws.ecs.task-arn": "arn:aws:ecs:%s:%s:task/%s/%s" % (region, account, cluster, task),
                       "com.amazonaws.ecs.container-name": "web"},
            "ip_address": ip,
            "gateway": gateway,
            "routes": routes,
            "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
        new_tasks.append(state["containers"][-1]["labels"]["com.amazonaws.ecs.task-arn"])
    agent_tasks.record_credential_round(state, started, new_tasks)  # each task asks for credentials at start


def _ecstools(state: dict, value: str) -> None:
    if _choice("ecstools", value, ("present", "absent")) == "present":
        presets.install_ecstools(state)
    else:
        presets.remove_ecstools(state)


def _agent(state: dict, value: str) -> None:
    wanted = _choice("agent", value, ("running", "stopped"))
    if model.AGENT_SERVICE not in state["services"]:
        raise ValueError("agent=%s: the AmazonECS service does not exist yet (initialise the agent first, "
                         "e.g. `set HOST init-agent=CLUSTER`)" % value)
    try:
        if wanted == "running":
            model.start_service(state, model.AGENT_SERVICE)
        else:
            model.stop_service(state, model.AGENT_SERVICE)
    except model.ServiceError as exc:
        raise ValueError("agent=%s: %s" % (value, exc)) from None


def _agent_version(state: dict, value: str) -> None:
    if value == "none":
        state["agent"]["installed_version"] = None
    elif re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", value):
        state["agent"]["installed_version"] = value
    else:
        raise ValueError("agent-version=%s: value must be X.Y.Z or none" % value)


def _init_agent(state: dict, value: str) -> None:
    """What launch user data does: Initialize-ECSAgent -Cluster CLUSTER -EnableTaskIAMRole; CLUSTER:no-task-iam
    leaves out -EnableTaskIAMRole (user data that forgot it: no task-iam-role capability)."""
    cluster, _sep, flag = value.partition(":")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", cluster) or flag not in ("", "no-task-iam"):
        raise ValueError("init-agent=%s: value must be an ECS cluster name, optionally followed by :no-task-iam" % value)
    init = {"cluster": cluster, "enable_task_iam_role": flag != "no-task-iam", "version": None, "logging_drivers": None,
            "enable_task_eni": False, "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None}
    try:
        ecstools.initialize_agent(state, init)
    except ecstools.InitError as exc:
        raise ValueError("init-agent=%s: Initialize-ECSAgent failed: %s" % (value, exc)) from None


def _task_credentials(state: dict, value: str) -> None:
    """MODE for every task (also later ones), or TASK:MODE for one running task (its id, the end of its ARN, or
    a unique prefix); then the affected running tasks request their credentials (agent_tasks)."""
    target, _, mode = value.rpartition(":")
    _choice("task-credentials", mode, agent_tasks.MODES)
    modes = state.setdefault("task_credentials", {})
    if not target:
        modes.clear()
        modes["*"] = mode
        arns = None
    else:
        arns = [t["arn"] for t in agent_tasks.running_tasks(state) if t["arn"].rsplit("/", 1)[-1].startswith(target)]
        if len(arns) != 1:
            raise ValueError("task-credentials=%s: %s running task matches '%s' (give a task id or a unique prefix)"
                             % (value, "no" if not arns else "more than one", target))
        modes[arns[0]] = mode
    agent_tasks.record_credential_round(state, model.now(state), arns)


def _reboot_downtime(state: dict, value: str) -> None:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 600:
        raise ValueError("reboot-downtime=%s: value must be seconds from 0 to 600" % value)
    state["reboot_downtime_s"] = seconds


def _hyperv(state: dict, value: str) -> None:
    state["hyperv_powershell"] = _choice("hyperv-powershell", value, _ON_OFF) == "on"


def _download(state: dict, value: str) -> None:
    state["ecstools_download"] = _choice("ecstools-download", value,
                                         ("ok", "unsigned", "manifest-unsigned", "unreachable", "proxy-only"))


BASELINE_RULE = "Host baseline: ECS agent ports"


def _firewall_rule(state: dict, value: str) -> None:
    """A firewall rule whose port filter is not ECSTools' exact '51679' (PORTS: 51679, 51678-51680 or a list of them):
    `PORTS` adds an inbound TCP allow rule a hardening baseline made; `ecstools:PORTS` gives ECSTools' own rule (created
    if absent) that filter, as an administrator who widened it; `none` removes the baseline's rules."""
    own, _sep, ports = value.rpartition(":")
    entries = ports.split(",")
    if value != "none" and (own not in ("", "ecstools")
                            or not all(re.fullmatch(r"[0-9]{1,5}(-[0-9]{1,5})?", entry) for entry in entries)):
        raise ValueError("firewall-rule=%s: value must be PORTS or ecstools:PORTS (PORTS: PORT, START-END or a "
                         "comma-separated list of them), or none" % value)
    if own == "ecstools":
        rule = next((r for r in state["firewall_rules"] if r["display_name"] == ecstools.FIREWALL_DISPLAY_NAME), None)
        if rule is None:
            rule = model.new_firewall_rule(ecstools.FIREWALL_DISPLAY_NAME, ports)
            state["firewall_rules"].append(rule)
        rule["local_port"] = ports
        return
    state["firewall_rules"] = [r for r in state["firewall_rules"] if r["display_name"] != BASELINE_RULE]
    if value != "none":
        state["firewall_rules"].append(model.new_firewall_rule(BASELINE_RULE, ports))


def _service_stuck(state: dict, value: str) -> None:
    """The service (AmazonECS or docker) hangs in StopPending when asked to stop; `none` clears it."""
    if value == "none":
        state["stuck_services"] = []
        return
    if value not in ("AmazonECS", "docker"):
        raise ValueError("service-stuck=%s: value must be AmazonECS, docker or none" % value)
    state["stuck_services"] = sorted(set(state.get("stuck_services", [])) | {value})


def _seconds(key: str, value: str, most: int = 3600) -> int:
    if not value.isdigit() or int(value) > most:
        raise ValueError("%s=%s: value must be a number of seconds from 0 to %d" % (key, value, most))
    return int(value)


def _registration_delay(state: dict, value: str) -> None:
    """The agent registers this many seconds after it starts (ECS is slow to answer, or throttles)."""
    state["agent"]["registration_delay_s"] = _seconds("registration-delay", value)


def _ecstools_boot_delay(state: dict, value: str) -> None:
    """ECSTools' Initialize-ECSHostReboot fires this many seconds after a boot (then runs for a few seconds)."""
    state["ecstools_boot_delay_s"] = _seconds("ecstools-boot-delay", value)


def _boot_time_jitter(state: dict, value: str) -> None:
    """WMI's LastBootUpTime wobbles by up to a second between reads (as on VMs)."""
    state["boot_time_jitter"] = _choice("boot-time-jitter", value, _ON_OFF) == "on"


def _clock_step(state: dict, value: str) -> None:
    """The clock was stepped this many seconds forward after the boot's startup tasks ran (w32time): LastBootUpTime
    (now minus the uptime) reads that much later; times recorded before the step stay as they were."""
    state["clock_step_s"] = _seconds("clock-step", value)


PROBE_SECTIONS = ("host", "identity", "modules", "agent", "services", "machine_env", "endpoints", "proxy", "ports",
                  "boot", "containers", "tasks")


def _probe_latency(state: dict, value: str) -> None:
    """SECTION:MS makes that section of the probe take MS milliseconds longer (a slow host); `none` clears all."""
    if value == "none":
        state["probe_latency_ms"] = {}
        return
    section, _sep, ms = value.partition(":")
    if section not in PROBE_SECTIONS or not ms.isdigit() or int(ms) > 60000:
        raise ValueError("probe-latency=%s: value must be SECTION:MS (MS up to 60000) with SECTION one of %s, or none"
                         % (value, "|".join(PROBE_SECTIONS)))
    state.setdefault("probe_latency_ms", {})[section] = int(ms)


def _boot_folder(state: dict, value: str) -> None:
    """`user-owned`: a local user pre-created the collection's boot folder under C:\\ProgramData (owner, write
    access), planted a script there and forged a `repaired` line in its log; `none` removes the folder."""
    folder = model.BOOT_DIR
    if model.path_kind(state, folder) == "dir":
        model.remove_path(state, folder, recurse=True)
    state.setdefault("acl", {}).pop(folder.lower(), None)
    if _choice("boot-folder", value, ("user-owned", "none")) == "none":
        return
    model.make_dir(state, folder)
    model.set_acl(state, folder, model.USER_ACL)
    model.write_file(state, folder + "\\recover-credential-proxy.ps1", b"# planted by a local user\r\n")
    line = '{"time":"%s","boot_id":%d,"action":"repaired","error":null}' % (state["boot_time"], state["boot_id"])
    model.write_file(state, folder + "\\recover.log", line.encode("ascii") + b"\r\n")


def _machine_env(state: dict, name: str, value: str) -> None:
    """machine-env:NAME=VALUE sets a Machine variable as user data would ([Environment]::SetEnvironmentVariable,
    keeping an existing spelling); machine-env:NAME= removes it."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError("machine-env:%s: not a variable name (letters, digits, _)" % name)
    if value:
        model.env_set(state, name, value)
    else:
        model.env_remove(state, name)


def _adapter_name(state: dict, index: str, value: str) -> None:
    """adapter-name:INDEX=NAME renames the adapter with that interface index, as Rename-NetAdapter does (any
    printable name another adapter does not have; Windows compares names case-insensitively)."""
    adapter = model.adapter_by_index(state, int(index)) if index.isdigit() else None
    if adapter is None:
        raise ValueError("adapter-name:%s: no adapter has interface index %s (known: %s)" % (
            index, index, ", ".join(str(a["interface_index"]) for a in state["adapters"])))
    if not value or not value.isprintable() or len(value) > 256:
        raise ValueError("adapter-name:%s=%r: the name must be 1 to 256 printable characters" % (index, value))
    other = model.adapter_by_name(state, value)
    if other is not None and other is not adapter:
        raise ValueError("adapter-name:%s=%s: adapter %d already has that name" % (index, value, other["interface_index"]))
    adapter["name"] = value


_SETTINGS = {
    "iis": _iis,
    "excluded-port": _excluded_port,
    "duplicate-nat": _duplicate_nat,
    "apipa-adapter": _apipa_adapter,
    "ecstools": _ecstools,
    "ecstools-download": _download,
    "firewall-rule": _firewall_rule,
    "hyperv-powershell": _hyperv,
    "agent": _agent,
    "agent-version": _agent_version,
    "init-agent": _init_agent,
    "service-stuck": _service_stuck,
    "registration-delay": _registration_delay,
    "ecstools-boot-delay": _ecstools_boot_delay,
    "boot-time-jitter": _boot_time_jitter,
    "clock-step": _clock_step,
    "probe-latency": _probe_latency,
    "boot-folder": _boot_folder,
    "task-credentials": _task_credentials,
    "reboot-downtime": _reboot_downtime,
}
SETTINGS: tuple[str, ...] = tuple(sorted(list(_SETTINGS) + list(_CONTAINER_KINDS) + ["machine-env:NAME", "adapter-name:INDEX"]))


def apply_setting(state: dict, key: str, value: str) -> None:
    if key.startswith("machine-env:"):
        _machine_env(state, key[len("machine-env:"):], value)
    elif key.startswith("adapter-name:"):
        _adapter_name(state, key[len("adapter-name:"):], value)
    elif key in _CONTAINER_KINDS:
        _containers(state, key, value)
    elif key in _SETTINGS:
        _SETTINGS[key](state, value)
    else:
        raise ValueError("unknown setting %r (known: %s)" % (key, ", ".join(SETTINGS)))
