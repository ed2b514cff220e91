"""Scenario settings (`ecs-windows-sim ctl set HOST KEY=VALUE`): shortcuts to host states that happen on
real instances without this collection. Each changes the state the way Windows/ECS would end up; the
README lists them. Unknown keys or values raise ValueError with the accepted forms."""

from __future__ import annotations

import re

from . import ecstools, model, presets

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
    """`netsh int ipv4 add excludedportrange`: N (one port) or START-END; `none` clears all ranges."""
    if value == "none":
        state["excluded_port_ranges"] = []
        return
    match = re.fullmatch(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", value)
    start = int(match.group(1)) if match else 0
    end = int(match.group(2) or start) if match else 0
    if not match or not 1 <= start <= end <= 65535:
        raise ValueError("excluded-port=%s: value must be PORT, START-END or none" % value)
    if {"start": start, "end": end} not in state["excluded_port_ranges"]:
        state["excluded_port_ranges"].append({"start": start, "end": end})


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
    account, region = model.ACCOUNT_REGION
    tag = presets.container_image_tag(state)
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
        })


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
    """What launch user data does: Initialize-ECSAgent -Cluster VALUE -EnableTaskIAMRole."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", value):
        raise ValueError("init-agent=%s: value must be an ECS cluster name" % value)
    init = {"cluster": value, "enable_task_iam_role": True, "version": None, "logging_drivers": None,
            "enable_task_eni": False, "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None}
    try:
        ecstools.initialize_agent(state, init)
    except ecstools.InitError as exc:
        raise ValueError("init-agent=%s: Initialize-ECSAgent failed: %s" % (value, exc)) from None


def _hyperv(state: dict, value: str) -> None:
    state["hyperv_powershell"] = _choice("hyperv-powershell", value, _ON_OFF) == "on"


def _download(state: dict, value: str) -> None:
    state["ecstools_download"] = _choice("ecstools-download", value, ("ok", "unsigned", "unreachable"))


_SETTINGS = {
    "iis": _iis,
    "excluded-port": _excluded_port,
    "duplicate-nat": _duplicate_nat,
    "apipa-adapter": _apipa_adapter,
    "ecstools": _ecstools,
    "ecstools-download": _download,
    "hyperv-powershell": _hyperv,
    "agent": _agent,
    "agent-version": _agent_version,
    "init-agent": _init_agent,
}
SETTINGS: tuple[str, ...] = tuple(sorted(list(_SETTINGS) + list(_CONTAINER_KINDS)))


def apply_setting(state: dict, key: str, value: str) -> None:
    if key in _CONTAINER_KINDS:
        _containers(state, key, value)
    elif key in _SETTINGS:
        _SETTINGS[key](state, value)
    else:
        raise ValueError("unknown setting %r (known: %s)" % (key, ", ".join(SETTINGS)))
