"""probe: read-only snapshot of the host (docs/dev/host-model.md, `probe`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time

from .. import agent_tasks, ecstools, endpoints, imds, model
from . import _prelude

BOOT_SCRIPT = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover-credential-proxy.ps1"
BOOT_LOG = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\recover.log"
BOOT_TASK_PATH, BOOT_TASK_NAME = "\\ecs_windows.task_iam\\", "Recover-ECSCredentialProxy"
DOCKER_TIMEOUT_S = 20  # what probe.ps1 gives docker ps
ROUTE_TIMEOUT_S = 15  # and each docker exec reading a container's routes
_SERVICES = ("AmazonECS", "docker", "W3SVC")
# The routes the collection manages; the probe reports only these of a container's table.
_MANAGED_ROUTES = ("0.0.0.0/0", "169.254.170.2/32", "169.254.169.254/32")


def _service(state: dict, name: str) -> dict | None:
    svc = state["services"].get(name)
    if svc is None:
        return None
    return {"status": svc["status"], "start_type": svc["start_type"], "failure_restart": svc["failure_restart"]}


def _ip_bindings(state: dict) -> list[dict]:
    found = []
    for addr in state["ip_addresses"]:
        if addr["ip_address"] == model.CREDENTIALS_IP:
            adapter = model.adapter_by_index(state, addr["interface_index"])
            found.append({"ip_address": addr["ip_address"], "prefix_length": addr["prefix_length"],
                          "interface_alias": adapter["name"], "interface_index": addr["interface_index"],
                          "address_state": addr["address_state"]})
    return found


def _holds(local_port: str, port: int) -> bool:
    """Test-EcsPortFilterHolds: '51679', '51000-52000' or a comma-separated list of them."""
    for entry in local_port.split(","):
        low, _sep, high = entry.strip().partition("-")
        high = high or low
        if low.isdigit() and high.isdigit() and int(low) <= port <= int(high):
            return True
    return False


def _proxy(state: dict) -> dict:
    apipa = next((a["name"] for a in state["adapters"] if a["kind"] == "apipa"), None)
    return {
        "ip_bindings": _ip_bindings(state),
        "portproxy": [{k: r[k] for k in ("listen_address", "listen_port", "connect_address", "connect_port")}
                      for r in state["portproxy"]],
        "firewall_rules": [dict(r) for r in state["firewall_rules"] if _holds(r["local_port"], 51679)],
        "apipa_adapter": apipa,
    }


def _last_log_entry(state: dict, path: str) -> dict | None:
    data = model.read_file(state, path)
    if not data:
        return None
    lines = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return last if isinstance(last, dict) else None


def _script_batch(state: dict, path: str) -> dict | None:
    """Get-EcsProbeScriptBatch: the batch an op script file carries."""
    data = model.read_file(state, path)
    if data is None:
        return None
    for line in data.decode("utf-8-sig", errors="replace").splitlines():
        match = re.fullmatch(r"\$EcsBatch = '([A-Za-z0-9+/=]*)'", line)
        if match:
            try:
                return json.loads(base64.b64decode(match.group(1)).decode("utf-8"))
            except (ValueError, binascii.Error):
                return None
    return None


def _acl(state: dict, path: str) -> dict:
    facts = model.acl_facts(state, path)
    return {key: facts[key] for key in ("exists", "owner", "owner_sid", "protected", "writable_by")}


def _boot(state: dict) -> dict:
    data = model.read_file(state, BOOT_SCRIPT)
    return {
        "folder": _acl(state, model.BOOT_DIR),
        "script": _acl(state, BOOT_SCRIPT),
        "script_sha256": None if data is None else hashlib.sha256(data).hexdigest(),
        "script_batch": _script_batch(state, BOOT_SCRIPT),
        "last_run": _last_log_entry(state, BOOT_LOG),
    }


def _task(state: dict, task: dict) -> dict:
    if task["path"] == ecstools.REBOOT_TASK["path"] and task["name"] == ecstools.REBOOT_TASK["name"]:
        task = ecstools.reboot_task_view(state, task)
    return {"path": task["path"], "name": task["name"], "state": task["state"], "enabled": task["enabled"],
            "at_startup": task["at_startup"], "delay": task["delay"], "execute": task["execute"],
            "arguments": task["arguments"], "principal": task.get("user"), "execution_limit": task.get("execution_limit"),
            "last_run_time": task.get("last_run_time"), "last_result": task.get("last_result"),
            "registered_time": task.get("registered_time")}


def _scheduled_tasks(state: dict) -> list[dict]:
    """The two tasks the probe looks up by path and name: ECSTools' reboot task, then the collection's."""
    wanted = [(ecstools.REBOOT_TASK["path"], ecstools.REBOOT_TASK["name"]), (BOOT_TASK_PATH, BOOT_TASK_NAME)]
    found = []
    for path, name in wanted:
        task = next((t for t in state["scheduled_tasks"] if t["path"].lower() == path.lower()
                     and t["name"].lower() == name.lower()), None)
        if task is not None:
            found.append(_task(state, task))
    return found


def _container(state: dict, container: dict, detail: str) -> dict:
    labels = container["labels"]
    routes = detail == "routes"
    hung = _hangs(state, container)
    return {
        "id": container["id"], "name": container["name"], "image": container["image"],
        "network_mode": container["network_mode"],
        "task_family": labels.get("com.amazonaws.ecs.task-definition-family"),
        "task_arn": labels.get("com.amazonaws.ecs.task-arn"),
        "shell": container["shell"] if routes and not hung else None,
        "gateway": container["gateway"] if routes and not hung else None,
        "routes": [dict(r) for r in container["routes"] if r["destination"] in _MANAGED_ROUTES] if routes and not hung else None,
        "error": ("docker exec %s (powershell) did not finish within %d s and was stopped" % (container["id"][:12], ROUTE_TIMEOUT_S)
                  if routes and hung else None),
    }


def _hangs(state: dict, container: dict | None) -> bool:
    """docker-hang: docker itself (no --container) or that one container stops answering."""
    if state["pending_faults"].get("docker-hang", 0) <= 0:
        return False
    only = state.get("docker_hang_container")
    return only is None if container is None else only == container["name"]


def _containers(state: dict, detail: str) -> tuple[list | None, str | None]:
    if detail == "none" or not model.service_running(state, "docker"):
        return [], None
    if _hangs(state, None):
        _prelude.sleep(DOCKER_TIMEOUT_S)
        return None, "docker ps did not finish within %d s and was stopped" % DOCKER_TIMEOUT_S
    found = []
    for container in state["containers"]:
        if detail == "routes" and _hangs(state, container):
            _prelude.sleep(ROUTE_TIMEOUT_S)
        found.append(_container(state, container, detail))
    return found, None


# Get-EcsProbeCredentialRequests's patterns: time, status, source, "path", "user agent", task ARN (or -), event.
_AUDIT = re.compile(r'^(\S+) (\d{3}) \S+ "[^"]*" "[^"]*" (arn:\S+) (\S+) ')
_AUDIT_UNKNOWN = re.compile(r'^(\S+) (\d{3}) \S+ "[^"]*" "[^"]*" - ')
AUDIT_TAIL = 2000


def _credential_requests(state: dict) -> tuple[dict, dict | None]:
    """The last credential request of each task ARN in the tail of the audit log, and the failed requests the
    agent logged without a task (it could not resolve their credentials id)."""
    last, failures = {}, None
    for line in agent_tasks.audit_log_lines(state)[-AUDIT_TAIL:]:
        match = _AUDIT.match(line)
        if match:
            last[match.group(3)] = {"time": match.group(1), "status": int(match.group(2)), "event": match.group(4)}
            continue
        match = _AUDIT_UNKNOWN.match(line)
        if match and match.group(2) != "200":
            if failures is None:
                failures = {"count": 0, "first_time": match.group(1), "last_time": match.group(1), "last_status": 0}
            failures.update(count=failures["count"] + 1, last_time=match.group(1), last_status=int(match.group(2)))
    return last, failures


def _tasks(state: dict, requests: dict) -> tuple[list | None, str | None]:
    """GET /v1/tasks (the agent's TasksResponse) with each task's last credential request from the audit log."""
    answer = agent_tasks.tasks_response(state)
    if not answer["reachable"]:
        return None, "http://127.0.0.1:51678/v1/tasks: %s" % answer["error"]
    return [{"arn": t["Arn"], "family": t["Family"], "version": str(t["Version"]), "known_status": t["KnownStatus"],
             "desired_status": t["DesiredStatus"], "last_credentials": requests.get(t["Arn"])}
            for t in answer["body"]["Tasks"]], None


def _identity(state: dict) -> dict:
    """Get-EcsProbeIdentity: an IMDSv2 session token, then the instance id."""
    now = time.time()
    status, token = imds.answer(state, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, now)
    if status != 200:
        return {"ec2_instance_id": None, "error": "IMDS token: HTTP %d" % status}
    status, body = imds.answer(state, "GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": token}, now)
    if status != 200 or not re.fullmatch(r"i-[0-9a-f]+", body or ""):
        return {"ec2_instance_id": None, "error": "IMDS instance-id: HTTP %d" % status}
    return {"ec2_instance_id": body, "error": None}


def run(state: dict, args: dict) -> dict:
    detail = args["container_detail"]
    latency = state.get("probe_latency_ms", {})
    timings = {}

    def section(name, value):
        """A probe section: its value, with its (modelled) time in timings_ms."""
        pause = latency.get(name, 0)
        _prelude.sleep(pause / 1000.0)
        timings[name] = pause + 1
        return value

    files = {}
    for path in args["files"]:
        data = model.read_file(state, path)
        files[path] = None if data is None else hashlib.sha256(data).hexdigest()
    agent = state["agent"]
    boot_id, boot_time = model.reported_boot(state)
    env = _prelude.machine_environment(state, args["salt"])
    registration = endpoints.registration(state)
    version = agent["installed_version"]
    result = {
        "host": section("host", {
            "hostname": state["name"].upper(), "os_caption": state["os"]["caption"], "os_version": state["os"]["version"],
            "build": model.os_build(state), "edition": "Core" if model.os_core(state) else "Full",
            "boot_id": boot_id, "boot_time": boot_time}),
        "identity": section("identity", _identity(state)),
        "ecstools": section("modules", {"present": state["ecstools"]["present"], "version": state["ecstools"]["version"]}),
        "hyperv_powershell": state["hyperv_powershell"],
        "agent": section("agent", {"installed": version is not None, "version": version,
                                   "version_source": None if version is None else
                                   ("introspection" if registration["reachable"] else "executable")}),
        "registration": registration,
        "services": section("services", {name: _service(state, name) for name in _SERVICES}),
        "machine_env": section("machine_env", env["values"]),
        "salt": args["salt"],
        "machine_env_hashes": env["hashes"],
        "machine_env_other": env["other"],
        "endpoints": section("endpoints", {"agent_tmds": endpoints.agent_tmds(state), "proxy": endpoints.proxy_endpoint(state)}),
        "proxy": section("proxy", _proxy(state)),
        "nat_adapters": [{"name": a["name"], "interface_index": a["interface_index"], "status": a["status"]}
                         for a in model.nat_adapters(state)],
        "port80_listeners": section("ports", sorted(endpoints.port80_listeners(state), key=lambda lst: lst["local_address"])),
        "excluded_port_ranges": [{"start": r["start"], "end": r["end"], "administered": bool(r.get("administered"))}
                                 for r in state["excluded_port_ranges"]],
        "scheduled_tasks": _scheduled_tasks(state),
        "boot": section("boot", _boot(state)),
        "files": files,
        "container_detail": detail,
    }
    containers, error = section("containers", _containers(state, detail))
    result.update(containers=containers, containers_error=error)
    requests, failures = _credential_requests(state)
    tasks, error = section("tasks", _tasks(state, requests))
    result.update(tasks=tasks, tasks_error=error, credential_failures=failures, timings_ms=timings)
    return result
