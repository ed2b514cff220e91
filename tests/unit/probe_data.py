# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe results for unit tests, shaped by the probe result schema in contract.json (test_probe_data checks it)."""

from __future__ import annotations

import base64
import copy
import json
import re
import types

PROXY_RULE = {"listen_address": "169.254.170.2", "listen_port": 80, "connect_address": "127.0.0.1", "connect_port": 51679}
PROXY_BINDING = {"ip_address": "169.254.170.2", "prefix_length": 32, "interface_alias": "vEthernet (nat)",
                 "interface_index": 12, "address_state": "Preferred"}
FIREWALL_RULE = {"name": "{6B3C1D2E-0000-4000-8000-000000000001}", "display_name": "Allow Inbound Port 51679", "enabled": True,
                 "direction": "Inbound", "protocol": "TCP", "local_port": "51679", "action": "Allow"}
PROXY_LISTENER = {"local_address": "169.254.170.2", "local_port": 80, "pid": 2144, "process": "svchost", "service": "iphlpsvc"}
IIS_LISTENER = {"local_address": "0.0.0.0", "local_port": 80, "pid": 4, "process": "System", "service": "W3SVC"}
ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/windows/0123456789abcdef0123456789abcdef"


def _endpoint(ok, status=None, code=None, error=None):
    return {"ok": ok, "status": status, "code": code, "error": error}


def _service(status="Running", start_type="Automatic", failure_restart=False):
    return {"status": status, "start_type": start_type, "failure_restart": failure_restart}


SALT = "0123456789abcdef"
NO_ACL = {"exists": False, "owner": None, "owner_sid": None, "protected": False, "writable_by": []}
TRUSTED_ACL = {"exists": True, "owner": "BUILTIN\\Administrators", "owner_sid": "S-1-5-32-544", "protected": True, "writable_by": []}


def fresh():
    """An ECS-optimized Windows Server 2022 instance on which Initialize-ECSAgent never ran."""
    return {
        "host": {"hostname": "ECS-SIM-001", "os_caption": "Microsoft Windows Server 2022 Datacenter", "os_version": "10.0.20348",
                 "build": 20348, "edition": "Full", "boot_id": 133800000000000000, "boot_time": "2025-01-01T08:00:00Z"},
        "identity": {"ec2_instance_id": "i-0123456789abcdef0", "error": None},
        "ecstools": {"present": True, "version": "1.4.0"},
        "hyperv_powershell": True,
        "agent": {"installed": True, "version": "1.105.1", "version_source": "executable"},
        "services": {"AmazonECS": None, "docker": _service(), "W3SVC": None},
        "machine_env": {},
        "salt": SALT,
        "machine_env_hashes": {},
        "machine_env_other": ["ComSpec", "Path", "PSModulePath", "TEMP", "windir"],
        "registration": {"reachable": False, "cluster": None, "container_instance_arn": None, "version": None,
                         "error": "Unable to connect to the remote server"},
        "endpoints": {
            "agent_tmds": _endpoint(False, error="Unable to connect to the remote server"),
            "proxy": _endpoint(False, error="A socket operation was attempted to an unreachable network. 169.254.170.2:80"),
        },
        "proxy": {"ip_bindings": [], "portproxy": [], "firewall_rules": [], "apipa_adapter": None},
        "nat_adapters": [{"name": "vEthernet (nat)", "interface_index": 12, "status": "Up"}],
        "port80_listeners": [],
        "excluded_port_ranges": [{"start": 50000, "end": 50059, "administered": False}],
        "scheduled_tasks": [],
        "boot": {"folder": dict(NO_ACL), "script": dict(NO_ACL), "script_sha256": None, "script_batch": None, "last_run": None},
        "files": {},
        "container_detail": "routes",
        "containers": [],
        "containers_error": None,
        "tasks": None,
        "tasks_error": "http://127.0.0.1:51678/v1/tasks: Unable to connect to the remote server",
        "credential_failures": None,
        "timings_ms": {"host": 40, "services": 12, "containers": 3},
    }


def configured():
    """The same instance after Initialize-ECSAgent -Cluster windows -EnableTaskIAMRole: healthy."""
    facts = fresh()
    facts["services"]["AmazonECS"] = _service(failure_restart=True)
    facts["machine_env"] = {
        "ECS_CLUSTER": "windows",
        "ECS_ENABLE_TASK_IAM_ROLE": "true",
        "ECS_DATADIR": "C:\\ProgramData\\Amazon\\ECS\\data",
        "ECS_LOGFILE": "C:\\ProgramData\\Amazon\\ECS\\log\\ecs-agent.log",
    }
    facts["registration"] = {"reachable": True, "cluster": "windows", "container_instance_arn": ARN,
                             "version": "Amazon ECS Agent - v1.105.1 (*abcdef0)", "error": None}
    facts["endpoints"] = {
        "agent_tmds": _endpoint(True, 400, "InvalidIdInRequest"),
        "proxy": _endpoint(True, 400, "NoIdInRequest"),
    }
    facts["proxy"] = {"ip_bindings": [dict(PROXY_BINDING)], "portproxy": [dict(PROXY_RULE)],
                      "firewall_rules": [dict(FIREWALL_RULE)], "apipa_adapter": None}
    facts["port80_listeners"] = [dict(PROXY_LISTENER)]
    facts["agent"]["version_source"] = "introspection"
    facts["scheduled_tasks"] = [ecstools_task()]
    facts["tasks"], facts["tasks_error"] = [], None
    return facts


def ecstools_task(**changes):
    """ECSTools' Initialize-ECSHostReboot as the probe reports it, run at this boot."""
    task = {"path": "\\", "name": "Initialize-ECSHostReboot", "state": "Ready", "enabled": True, "at_startup": True, "delay": None,
            "execute": "PowerShell.exe", "arguments": '-NoProfile -Command "Import-Module ECSTools; Initialize-ECSHostReboot"',
            "principal": "SYSTEM", "execution_limit": "PT72H", "last_run_time": "2025-01-01T08:00:20Z", "last_result": 0,
            "registered_time": "2024-12-01T10:00:00Z"}
    task.update(changes)
    return task


def rebooted_stale():
    """The configured instance after a reboot: binding gone, rule and firewall rule left, endpoint unreachable."""
    facts = configured()
    facts["host"]["boot_id"] += 6000000000
    facts["host"]["boot_time"] = "2025-01-01T08:10:00Z"
    facts["proxy"]["ip_bindings"] = []
    facts["port80_listeners"] = []
    facts["endpoints"]["proxy"] = _endpoint(False, error="A socket operation was attempted to an unreachable network. 169.254.170.2:80")
    return facts


def container(name="web", network_mode="nat", routes=True, imds=True, container_id=None):
    gateway = "172.29.80.1"
    route_list = [{"destination": "0.0.0.0/0", "next_hop": gateway}]
    if routes:
        route_list.append({"destination": "169.254.170.2/32", "next_hop": gateway})
        if imds:
            route_list.append({"destination": "169.254.169.254/32", "next_hop": gateway})
    return {
        "id": container_id or (name.encode().hex() * 64)[:64],
        "name": name,
        "image": "mcr.microsoft.com/windows/servercore:ltsc2022",
        "network_mode": network_mode,
        "task_family": "web-task",
        "task_arn": "arn:aws:ecs:us-east-1:123456789012:task/windows/0123456789abcdef0123456789abcdef",
        "shell": "powershell",
        "gateway": gateway,
        "routes": route_list,
        "error": None,
    }


def with_changes(facts, **changes):
    """Deep copy of `facts` with top-level keys replaced."""
    out = copy.deepcopy(facts)
    out.update(copy.deepcopy(changes))
    return out


_BATCH_LINE = re.compile(r"^\$EcsBatch = '([A-Za-z0-9+/=]*)'$", re.M)


def decode_batch(script):
    """The JSON batch of a script built by _script.build_script, or of the stdin _script.pack builds (str or bytes)."""
    text = script.decode("ascii") if isinstance(script, bytes) else script
    found = _BATCH_LINE.search(text)
    if found:
        return json.loads(base64.b64decode(found.group(1)))
    return json.loads(base64.b64decode(text.splitlines()[4]))


def response(results, error=None):
    """stdout bytes of a finished round trip: [(op, result), ...] and an optional error dict."""
    doc = {"contract": 2, "cache": "present", "results": [{"op": op, "result": result} for op, result in results], "error": error}
    return json.dumps(doc).encode("utf-8")


class FakeConnection:
    """A connection plugin stand-in for unit tests: answers each exec_command from `handler` or a queue.

    `handler(ops)` gets the decoded batch's op list and returns (rc, stdout, stderr) or raises.
    """

    def __init__(self, handler=None, queue=None):
        self.handler = handler
        self.queue = list(queue or [])
        self.commands = []
        self.events = []
        self._shell = types.SimpleNamespace(tmpdir=None)

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self.commands.append({"cmd": cmd, "in_data": in_data, "sudoable": sudoable})
        self.events.append("exec")
        if self.queue:
            answer = self.queue.pop(0)
        else:
            answer = self.handler(decode_batch(in_data)["ops"])
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self):
        self.events.append("close")

    def reset(self):
        self.events.append("reset")
