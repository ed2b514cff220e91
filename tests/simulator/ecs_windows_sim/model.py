"""The host model: state access and the state transitions Windows itself performs.

State is one JSON-serialisable dict per host (layout: docs/dev/host-model.md "State"). Functions here
act on that dict; derived answers (endpoints, listeners) live in endpoints.py, ECSTools in ecstools.py.
"""

from __future__ import annotations

import base64
import datetime
import logging
import random
import secrets
import time

CREDENTIALS_IP = "169.254.170.2"
NAT_ADAPTER = "vEthernet (nat)"
NAT_GATEWAY = "172.29.80.1"
AGENT_SERVICE = "AmazonECS"
ECS_DATADIR = r"C:\ProgramData\Amazon\ECS\data"
ECS_LOGFILE = r"C:\ProgramData\Amazon\ECS\log\ecs-agent.log"
LATEST_AGENT = "1.105.1"
AGENT_COMMIT = "8dfceca6"
ACCOUNT_REGION = ("123456789012", "us-east-1")
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A service operation Windows refuses; the message is what the cmdlet would say."""


class AgentExited(ServiceError):
    """The agent process started (the service reported Running) and then exited; the message is the agent's."""


# `serve --ecs-endpoint` sets this to ecs_api.EcsApi.register: (state, cluster, agent config, saved ARN or None)
# -> the container instance ARN, or an exception whose text is ECS's refusal. None: the agent invents its ARN.
ecs_registrar = None


def account_region(state: dict) -> tuple[str, str]:
    """(account id, region) of the host: its EC2 identity when it has one (--ecs-endpoint), else ACCOUNT_REGION."""
    ec2 = state.get("ec2")
    return (ec2["account_id"], ec2["region"]) if ec2 else ACCOUNT_REGION



# --- time and boot ------------------------------------------------------------------------------

# A Windows Server instance cannot boot again sooner than this after its last boot (shutdown, POST, boot): the
# host clock of a simulated host jumps forward at a quicker reboot (host-model.md "Host clock").
MIN_BOOT_INTERVAL_S = 120


def now(state: dict | None = None) -> datetime.datetime:
    """The host's clock: real time plus the host's clock offset (0 before its first quick reboot)."""
    real = datetime.datetime.now(datetime.timezone.utc)
    return real + datetime.timedelta(seconds=(state or {}).get("clock_offset_s", 0.0))


def set_boot_time(state: dict, when: datetime.datetime) -> None:
    """`boot_id` is LastBootUpTime.ToFileTime(); a new boot is at least MIN_BOOT_INTERVAL_S after the last, so the
    host clock moves forward when a reboot comes sooner (a real reboot takes that long)."""
    when = when.astimezone(datetime.timezone.utc)
    earliest = state.get("boot_id", 0) + MIN_BOOT_INTERVAL_S * 10_000_000 if "boot_id" in state else 0
    boot_id = filetime(when)
    if boot_id < earliest:
        state["clock_offset_s"] = state.get("clock_offset_s", 0.0) + (earliest - boot_id) / 10_000_000
        boot_id = earliest
        when = _FILETIME_EPOCH + datetime.timedelta(microseconds=boot_id // 10)
    state["boot_id"] = boot_id
    state["boot_time"] = task_time(when)  # as the prelude formats a [datetime]
    state["booted_at_real"] = time.time()


def task_time(when: datetime.datetime) -> str:
    """A time as the prelude's ConvertTo-EcsTaskTime writes it (UTC, whole seconds)."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def filetime(when: datetime.datetime) -> int:
    delta = when.astimezone(datetime.timezone.utc) - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def reported_boot(state: dict) -> tuple[int, str]:
    """(boot_id, boot_time) as WMI reports them: with boot-time-jitter on, LastBootUpTime wobbles by up to a second
    between reads, as it does on VMs; with clock-step S it reads S seconds late, as after the clock was stepped
    forward once the startup tasks had run (LastBootUpTime is now minus the uptime; host-model.md "Boot time")."""
    boot_id = state["boot_id"] + int(state.get("clock_step_s", 0) * 10_000_000)
    if state.get("boot_time_jitter"):
        boot_id += random.randint(-10_000_000, 10_000_000)
    when = _FILETIME_EPOCH + datetime.timedelta(microseconds=boot_id // 10)
    return boot_id, when.strftime("%Y-%m-%dT%H:%M:%SZ")


def since_boot(state: dict) -> float:
    """Real seconds since the host model last booted (drives the timed behaviour: registration, ECSTools' task)."""
    return time.time() - state.get("booted_at_real", 0.0)


def random_hex(length: int) -> str:
    return secrets.token_hex(length // 2)


# --- operating system ---------------------------------------------------------------------------

# Windows Server build -> release, as the ECS agent names the family (ecs.os-family WINDOWS_SERVER_<release>_<edition>).
RELEASES = {17763: "2019", 20348: "2022", 26100: "2025"}


def os_build(state: dict) -> int:
    """CurrentBuildNumber: the third part of Win32_OperatingSystem.Version (10.0.<build>)."""
    return int(state["os"]["version"].split(".")[2])


def os_release(state: dict) -> str:
    return RELEASES[os_build(state)]


def os_core(state: dict) -> bool:
    """HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion InstallationType is 'Server Core' on Core editions."""
    return state["os"].get("installation_type", "Server") == "Server Core"


def ecs_os_family(state: dict) -> str:
    """The agent's ecs.os-family attribute / runtimePlatform.operatingSystemFamily of this host."""
    return "WINDOWS_SERVER_%s_%s" % (os_release(state), "CORE" if os_core(state) else "FULL")


# --- network -----------------------------------------------------------------------------------

def adapter_by_index(state: dict, index: int) -> dict | None:
    return next((a for a in state["adapters"] if a["interface_index"] == index), None)


def adapter_by_name(state: dict, name: str) -> dict | None:
    return next((a for a in state["adapters"] if a["name"].lower() == name.lower()), None)


def nat_adapters(state: dict) -> list[dict]:
    """Adapters ECSTools matches with `vEthernet (nat)*`."""
    return [a for a in state["adapters"] if a["name"].lower().startswith(NAT_ADAPTER.lower())]


def address_bound(state: dict, ip: str) -> bool:
    return any(a["ip_address"] == ip and a["address_state"] == "Preferred" for a in state["ip_addresses"])


def bind_address(state: dict, ip: str, prefix_length: int, interface_index: int, persistent: bool) -> None:
    state["ip_addresses"].append({
        "ip_address": ip, "prefix_length": prefix_length, "interface_index": interface_index,
        "address_state": "Preferred", "persistent": persistent,
    })


def port_excluded(state: dict, port: int) -> bool:
    """Whether a dynamic (winnat/HNS) exclusion holds the port: an administered range (netsh add
    excludedportrange, marked * by netsh show) reserves it for the one who asked and does not stop the agent."""
    return any(r["start"] <= port <= r["end"] and not r.get("administered") for r in state["excluded_port_ranges"])


def other_listeners(state: dict) -> list[dict]:
    """Listeners that are not the credential proxy: IIS (http.sys) while W3SVC runs, plus extras."""
    found = []
    if service_running(state, "W3SVC"):
        found.append({"local_address": "0.0.0.0", "local_port": 80, "pid": 4, "process": "System", "service": None})
    found.extend(state["listeners"])
    return found


def port_held_by_other(state: dict, address: str, port: int) -> bool:
    return any(
        lst["local_port"] == port and lst["local_address"] in ("0.0.0.0", address) for lst in other_listeners(state)
    )


def find_portproxy(state: dict, listen_address: str, listen_port: int) -> dict | None:
    return next(
        (r for r in state["portproxy"] if r["listen_address"] == listen_address and r["listen_port"] == listen_port),
        None,
    )


def add_portproxy(state: dict, listen_address: str, listen_port: int, connect_address: str, connect_port: int) -> None:
    """`netsh interface portproxy add v4tov4`: a rule is live only if, when added, its listen address is
    bound and nothing else holds the port. Re-adding an existing rule updates its target, never revives it."""
    rule = find_portproxy(state, listen_address, listen_port)
    if rule is not None:
        rule["connect_address"], rule["connect_port"] = connect_address, connect_port
        return
    live = address_bound(state, listen_address) and not port_held_by_other(state, listen_address, listen_port)
    state["portproxy"].append({
        "listen_address": listen_address, "listen_port": listen_port,
        "connect_address": connect_address, "connect_port": connect_port, "live": live,
    })


def delete_portproxy(state: dict, listen_address: str, listen_port: int) -> bool:
    rule = find_portproxy(state, listen_address, listen_port)
    if rule is not None:
        state["portproxy"].remove(rule)
    return rule is not None


def new_firewall_rule(display_name: str, local_port: str) -> dict:
    """New-NetFirewallRule with only -DisplayName gets a GUID as its Name."""
    guid = random_hex(32)
    name = "{%s-%s-%s-%s-%s}" % (guid[:8], guid[8:12], guid[12:16], guid[16:20], guid[20:])
    return {"name": name, "display_name": display_name, "enabled": True, "direction": "Inbound",
            "protocol": "TCP", "local_port": local_port, "action": "Allow"}


# --- Machine environment (case-preserving, case-insensitive, as the registry holds it) ------------------------

def env_key(state: dict, name: str) -> str | None:
    """The spelling under which a Machine variable exists, or None."""
    lowered = name.lower()
    return next((key for key in state["machine_env"] if key.lower() == lowered), None)


def env_get(state: dict, name: str) -> str | None:
    key = env_key(state, name)
    return None if key is None else state["machine_env"][key]


def env_set(state: dict, name: str, value: str) -> bool:
    """[Environment]::SetEnvironmentVariable(name, value, 'Machine'): an existing variable keeps its spelling.
    Returns whether the value changed."""
    key = env_key(state, name) or name
    if state["machine_env"].get(key) == value:
        return False
    state["machine_env"][key] = value
    return True


# The Machine variables Windows Server keeps as REG_EXPAND_SZ (values with %...% references).
EXPAND_VARIABLES = frozenset(("path", "psmodulepath", "temp", "tmp", "comspec", "windir"))


def env_remove(state: dict, name: str) -> bool:
    key = env_key(state, name)
    if key is None:
        return False
    del state["machine_env"][key]
    return True


def env_is_expand(state: dict, name: str) -> bool:
    """Whether the variable exists as REG_EXPAND_SZ."""
    key = env_key(state, name)
    return key is not None and key.lower() in EXPAND_VARIABLES


# --- services and the agent --------------------------------------------------------------------

# Which service depends on which (AmazonECS is created with -DependsOn Docker, host-facts.md "Windows service").
DEPENDS_ON = {AGENT_SERVICE: ("docker",)}


class ServiceStuck(ServiceError):
    """The service sits in StopPending (the `service-stuck` setting): a stop never completes."""


def service_running(state: dict, name: str) -> bool:
    svc = state["services"].get(name)
    return svc is not None and svc["status"] == "Running"


def dependents(state: dict, name: str) -> list[str]:
    """The services that depend on `name` and are running."""
    return [other for other, needs in DEPENDS_ON.items() if name in needs and service_running(state, other)]


def start_service(state: dict, name: str) -> None:
    """Start-Service: starts the services it depends on first (AmazonECS depends on docker)."""
    svc = state["services"][name]
    if svc["status"] == "Running":
        return
    if svc["status"] == "StopPending":
        raise ServiceStuck("Service '%s (%s)' cannot be started: it is StopPending." % (svc.get("display_name", name), name))
    if svc["start_type"] == "Disabled":
        raise ServiceError(
            "Service '%s (%s)' cannot be started due to the following error: Cannot start service %s on computer '.'."
            % (svc.get("display_name", name), name, name)
        )
    for needed in DEPENDS_ON.get(name, ()):
        if needed in state["services"]:
            start_service(state, needed)
    if name == AGENT_SERVICE:
        _start_agent(state)
    svc["status"] = "Running"


def stop_service(state: dict, name: str, force: bool = True) -> list[str]:
    """Stop-Service [-Force]: without force a service with running dependents is refused, as Windows PowerShell
    refuses it (ServiceHasDependentServices); with force the dependents stop first. Stopping docker ends every
    running container. A stuck service (setting service-stuck) stays StopPending: ServiceStuck. Returns the
    dependents it stopped."""
    svc = state["services"][name]
    if svc["status"] == "Stopped":
        return []
    running = dependents(state, name)
    if running and not force:
        raise ServiceError(
            "Cannot stop service '%s (%s)' because it has dependent services. It can only be stopped if the Force "
            "flag is set." % (svc.get("display_name", name), name))
    stopped = []
    for other in running:
        stopped += stop_service(state, other, force=True) + [other]
    if name in state.get("stuck_services", ()):
        svc["status"] = "StopPending"
        raise ServiceStuck("service %s is StopPending" % name)
    if name == "docker":
        state["containers"] = []
    if name == AGENT_SERVICE:
        state["agent"]["running_config"] = None
    svc["status"] = "Stopped"
    return stopped


def _start_agent(state: dict) -> None:
    """The agent reads Machine env at start and registers (after registration_delay_s, docs/dev/host-model.md,
    Registration); its environment lookups are case-insensitive, as Windows' are."""
    config = {name.upper(): value for name, value in state["machine_env"].items()}
    cluster = config.get("ECS_CLUSTER") or "default"
    saved = state["agent"]["saved_registration"]
    if saved is not None and saved["cluster"] != cluster:
        state["services"][AGENT_SERVICE]["status"] = "Stopped"
        state["agent"]["running_config"] = None
        raise AgentExited(
            "The Amazon ECS agent failed to start: saved cluster '%s' does not match configured cluster '%s'. "
            "Remove %s to re-register." % (saved["cluster"], cluster, ECS_DATADIR)
        )
    if ecs_registrar is not None and state.get("ec2"):
        _register_with_ecs(state, cluster, config)
    elif saved is None:
        account, region = account_region(state)
        state["agent"]["saved_registration"] = {
            "cluster": cluster,
            "container_instance_arn": "arn:aws:ecs:%s:%s:container-instance/%s/%s"
            % (region, account, cluster, random_hex(32)),
        }
    state["agent"]["running_config"] = config
    state["agent"]["started_at_real"] = time.time()


def agent_registered(state: dict) -> bool:
    """Whether the running agent has registered by now (registration-delay setting: seconds after its start)."""
    if not service_running(state, AGENT_SERVICE) or state["agent"]["saved_registration"] is None:
        return False
    delay = state["agent"].get("registration_delay_s", 0)
    return time.time() >= state["agent"].get("started_at_real", 0.0) + delay


def _register_with_ecs(state: dict, cluster: str, config: dict) -> None:
    """(Re-)register through the ECS endpoint; a refusal stops the agent as the real one exits on it
    (docs/dev/host-model.md "ECS view"). The saved registration changes only when ECS returned an ARN."""
    saved = state["agent"]["saved_registration"]
    try:
        arn = ecs_registrar(state, cluster, config, saved["container_instance_arn"] if saved else None)
    except Exception as exc:  # EcsError, or an unexpected failure of the call: the agent cannot register
        state["agent"]["registration_error"] = str(exc)
        state["services"][AGENT_SERVICE]["status"] = "Stopped"
        state["agent"]["running_config"] = None
        log.warning("%s: the agent could not register in cluster %s: %s", state.get("name"), cluster, exc)
        raise AgentExited("The Amazon ECS agent failed to start: unable to register the container instance in "
                          "cluster '%s': %s" % (cluster, exc)) from None
    state["agent"]["registration_error"] = None
    if saved is None:
        state["agent"]["saved_registration"] = {"cluster": cluster, "container_instance_arn": arn}


def agent_config(state: dict) -> dict:
    """The environment the running agent started with, else the Machine env it would read (names upper-cased:
    the agent's lookups are case-insensitive)."""
    return state["agent"]["running_config"] or {name.upper(): value for name, value in state["machine_env"].items()}


# --- boot ----------------------------------------------------------------------------------------

def boot(state: dict) -> None:
    """Shutdown + boot of Windows itself; startup tasks are run by the caller (host.Host.reboot)."""
    set_boot_time(state, now(state))
    state.pop("pending_shutdown", None)
    state["logon_ui_ready"] = True  # LogonUI shows the logon screen and creates AutoLogonChecked again
    state["ip_addresses"] = [a for a in state["ip_addresses"] if a["persistent"]]
    state["containers"] = []
    for name, svc in state["services"].items():
        svc["status"] = "Stopped"
    state["agent"]["running_config"] = None
    for name in sorted(state["services"], key=lambda n: n == AGENT_SERVICE):
        if state["services"][name]["start_type"] == "Automatic":
            try:
                start_service(state, name)
            except ServiceError:
                pass  # the service stays Stopped, as the Service Control Manager leaves it
    # iphlpsvc re-creates its portproxy listeners: only where the listen address is bound now.
    for rule in state["portproxy"]:
        rule["live"] = address_bound(state, rule["listen_address"]) and not port_held_by_other(
            state, rule["listen_address"], rule["listen_port"]
        )
    for task in state["scheduled_tasks"]:
        task["state"] = "Ready" if task["enabled"] else "Disabled"


# --- files (Windows paths, case-insensitive) ---------------------------------------------------

def norm_path(path: str) -> str:
    """Canonical spelling of a Windows path: backslashes, no duplicate or trailing separators."""
    path = path.replace("/", "\\")
    while "\\\\" in path:
        path = path.replace("\\\\", "\\")
    if len(path) > 3 and path.endswith("\\"):
        path = path.rstrip("\\")
    if len(path) == 2 and path[1] == ":":
        path += "\\"
    return path


def _key(path: str) -> str:
    return norm_path(path).lower()


def _parent(path: str) -> str | None:
    path = norm_path(path)
    if len(path) <= 3:
        return None
    head = path.rsplit("\\", 1)[0]
    return norm_path(head if len(head) > 2 else head + "\\")


def path_kind(state: dict, path: str) -> str | None:
    key = _key(path)
    if key in state["files"]:
        return "file"
    if key in state["dirs"] or (len(key) == 3 and key.endswith(":\\")):
        return "dir"
    return None


def make_dir(state: dict, path: str) -> None:
    """New-Item -ItemType Directory -Force: creates missing parents, fails on an existing file."""
    path = norm_path(path)
    parent = _parent(path)
    if parent is not None and path_kind(state, parent) != "dir":
        make_dir(state, parent)
    kind = path_kind(state, path)
    if kind == "file":
        raise FileExistsError("An item with the specified name %s already exists." % path)
    if kind is None:
        state["dirs"][_key(path)] = path


def read_file(state: dict, path: str) -> bytes | None:
    entry = state["files"].get(_key(path))
    return None if entry is None else base64.b64decode(entry["data"])


def write_file(state: dict, path: str, data: bytes, make_parents: bool = False) -> None:
    """Write a file; its directory must exist unless `make_parents` (as op scripts create their folders)."""
    path = norm_path(path)
    parent = _parent(path)
    if parent is None or path_kind(state, path) == "dir":
        raise IsADirectoryError("Access to the path '%s' is denied." % path)
    if path_kind(state, parent) != "dir":
        if not make_parents:
            raise FileNotFoundError("Could not find a part of the path '%s'." % path)
        make_dir(state, parent)
    state["files"][_key(path)] = {"path": path, "data": base64.b64encode(data).decode("ascii")}


def remove_path(state: dict, path: str, recurse: bool) -> None:
    """Remove-Item [-Recurse]; a missing path is an error, a non-empty folder needs recurse."""
    path = norm_path(path)
    key = _key(path)
    kind = path_kind(state, path)
    if kind is None:
        raise FileNotFoundError("Cannot find path '%s' because it does not exist." % path)
    if kind == "file":
        del state["files"][key]
        return
    prefix = key.rstrip("\\") + "\\"
    inside = [k for k in list(state["files"]) + list(state["dirs"]) if k.startswith(prefix)]
    if inside and not recurse:
        raise OSError("The item at %s has children and the Recurse parameter was not specified." % path)
    for k in inside:
        state["files"].pop(k, None)
        state["dirs"].pop(k, None)
    state["dirs"].pop(key, None)


# --- owners and ACLs (only where the collection looks: host-model.md "ACLs") --------------------

BOOT_DIR = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam"
LOCK_INFO_PATH = BOOT_DIR + r"\lock.json"  # who holds the host lock (Enter-EcsHostLock)
ADMINISTRATORS = ("BUILTIN\\Administrators", "S-1-5-32-544")
# SYSTEM and Administrators only, inheritance off, owner Administrators: what Initialize-EcsBootFolder sets.
TRUSTED_ACL = {"owner": ADMINISTRATORS[0], "owner_sid": ADMINISTRATORS[1], "protected": True, "writable_by": []}
# A folder created by a member of Administrators under C:\ProgramData, inheriting its ACL: Users may add files.
INHERITED_ACL = {"owner": ADMINISTRATORS[0], "owner_sid": ADMINISTRATORS[1], "protected": False,
                 "writable_by": ["BUILTIN\\Users"]}
# The same folder created first by a local user (setting boot-folder=user-owned).
USER_ACL = {"owner": "ECS-SIM\\mallory", "owner_sid": "S-1-5-21-1004336348-1177238915-682003330-1001",
            "protected": False, "writable_by": ["ECS-SIM\\mallory", "BUILTIN\\Users"]}


def set_acl(state: dict, path: str, acl: dict) -> None:
    state.setdefault("acl", {})[_key(path)] = dict(acl)


def acl_facts(state: dict, path: str) -> dict:
    """Get-EcsAclFacts: an item's own ACL entry, else what it inherits from the nearest folder that has one
    (C:\\ProgramData's default: Users may add files), else the inherited default."""
    if path_kind(state, path) is None:
        return {"exists": False, "owner": None, "owner_sid": None, "protected": False, "writable_by": []}
    acls = state.get("acl", {})
    current = _key(path)
    own = acls.get(current)
    if own is not None:
        return dict(own, exists=True)
    parent = _parent(path)
    while parent is not None:
        entry = acls.get(_key(parent))
        if entry is not None:
            return dict(entry, exists=True, protected=False)
        parent = _parent(parent)
    return dict(INHERITED_ACL, exists=True)


def acl_trusted(facts: dict) -> bool:
    return facts["exists"] and facts["protected"] and facts["owner_sid"] in ("S-1-5-18", ADMINISTRATORS[1]) \
        and not facts["writable_by"]
