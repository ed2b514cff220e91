# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's view of the running tasks: `GET http://localhost:51678/v1/tasks` and the credential audit log
`C:\\ProgramData\\Amazon\\ECS\\log\\audit.log` (one line per credential request that reaches the agent).

Rules and sources: docs/dev/host-model.md "Tasks and credential requests". Everything here is a pure
function of the state except `record_credential_round`, which appends to the audit log as the agent does.
Tasks are the running containers of the model (the `containers*` settings), grouped by the
`com.amazonaws.ecs.task-arn` label.
"""

from __future__ import annotations

import datetime
import hashlib
import re

from . import endpoints, model

AUDIT_LOG = r"C:\ProgramData\Amazon\ECS\log\audit.log"
AUDIT_LOG_MAX_LINES = 5000  # the simulator's bound; the agent rolls the file hourly (seelog rollingfile, date)
CREDENTIALS_PATH = "/v2/credentials"  # the agent logs the path without the credentials id
AUDIT_VERSION = 2  # agent/logger/audit/entry_types.go getCredentialsAuditLogVersion
EVENT_OK = "GetCredentials"  # role type TaskApplication
EVENT_UNKNOWN = "GetCredentialsInvalidRoleType"  # a failed lookup has no role type
MODES = ("ok", "fail", "none")
# What the simulated task SDKs send (the simulator's choice; the agent logs whatever the client sends).
USER_AGENTS = {
    "powershell": ("aws-sdk-dotnet-45/3.7.400.0 ua/2.0 os/windows#10.0.20348.0 lang/.NET_Runtime#4.0 "
                   "AWSPowerShell/4.1.700"),
    "cmd": "aws-cli/2.22.0 md/awscrt#0.22.0 ua/2.0 os/windows#2022Server md/arch#amd64 lang/python#3.12.6",
}
_NAME = re.compile(r"^ecs-(?P<family>.+)-(?P<revision>[0-9]+)-(?P<container>.+)-[0-9a-f]+$")
_LINE = re.compile(r'^(?P<time>\S+) (?P<status>[0-9]{3}) (?P<source>\S+) "(?P<path>[^"]*)" "(?P<agent>[^"]*)" '
                   r'(?P<arn>\S+) (?P<event>\S+) (?P<version>[0-9]+) (?P<cluster>\S+) (?P<instance>\S+)$')


def _rfc3339(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- /v1/tasks --------------------------------------------------------------------------------------

def running_tasks(state: dict) -> list[dict]:
    """The running tasks, in container order: [{"arn", "family", "revision", "containers": [container dicts]}]."""
    tasks: dict[str, dict] = {}
    for container in state["containers"]:
        labels = container["labels"]
        arn = labels.get("com.amazonaws.ecs.task-arn")
        if not arn:
            continue
        match = _NAME.match(container["name"])
        task = tasks.setdefault(arn, {
            "arn": arn, "family": labels.get("com.amazonaws.ecs.task-definition-family") or "",
            "revision": match.group("revision") if match else "1", "containers": []})
        task["containers"].append(container)
    return list(tasks.values())


def _container_response(container: dict) -> dict:
    labels = container["labels"]
    out = {"DockerId": container["id"], "DockerName": container["name"],
           "Name": labels.get("com.amazonaws.ecs.container-name") or container["name"],
           "Image": container["image"],
           "ImageID": "sha256:" + hashlib.sha256(container["image"].encode()).hexdigest()}
    if container.get("started_at"):
        out["CreatedAt"] = out["StartedAt"] = container["started_at"]
    if container["network_mode"] == "awsvpc":
        out["Networks"] = [{"NetworkMode": "awsvpc", "IPv4Addresses": [container["ip_address"]]}]
    return out


def tasks_response(state: dict) -> dict:
    """What `GET http://localhost:51678/v1/tasks` gives the probe:
    {"reachable": bool, "error": str | None, "body": {"Tasks": [...]} | None}.

    Not listening (agent stopped, 51678 excluded) -> reachable False, error "Unable to connect to the remote
    server", body None. Otherwise body is the agent's TasksResponse (ecs-agent/introspection/v1/response.go):
    {"Tasks": [{"Arn", "DesiredStatus": "RUNNING", "KnownStatus": "RUNNING", "Family", "Version",
    "Containers": [{"DockerId", "DockerName", "Name", "Image", "ImageID", "CreatedAt"?, "StartedAt"?,
    "Networks"? (awsvpc: [{"NetworkMode": "awsvpc", "IPv4Addresses": [ip]}])}]}]}.
    """
    if not endpoints.introspection_listening(state):
        return {"reachable": False, "error": endpoints.REFUSED, "body": None}
    tasks = [{"Arn": t["arn"], "DesiredStatus": "RUNNING", "KnownStatus": "RUNNING", "Family": t["family"],
              "Version": t["revision"], "Containers": [_container_response(c) for c in t["containers"]]}
             for t in running_tasks(state)]
    return {"reachable": True, "error": None, "body": {"Tasks": tasks}}


# --- credential requests and the audit log ---------------------------------------------------------

def credentials_mode(state: dict, task_arn: str) -> str:
    """How the task's credential requests go (`ctl set HOST task-credentials=...`): "ok" (the agent answers 200),
    "fail" (the agent has no credentials for it: 400 "Credentials not found"), "none" (it makes no request)."""
    modes = state.get("task_credentials") or {}
    return modes.get(task_arn) or modes.get("*") or "ok"


def reaches_agent(state: dict, container: dict) -> bool:
    """A request from the container to 169.254.170.2:80 arrives at the agent: the container has its route to
    169.254.170.2/32 (nat: via its gateway, which container_routes adds; awsvpc: the agent's on-link route) and
    the host side of the proxy works (endpoints.proxy_endpoint)."""
    hop = container["gateway"] if container["network_mode"] == "nat" else "0.0.0.0"
    routed = any(r["destination"] == model.CREDENTIALS_IP + "/32" and r["next_hop"] == hop for r in container["routes"])
    return routed and endpoints.proxy_endpoint(state)["ok"]


def audit_line(when: datetime.datetime, status: int, arn: str | None, event: str, cluster: str,
               container_instance_arn: str | None, source: str, user_agent: str) -> str:
    """One audit log entry (agent/logger/audit/entry_types.go, version 2), without the line break:
    `<RFC3339 UTC time> <HTTP status> <source ip:port> "<path>" "<user agent>" <task arn or -> <event type>
    2 <cluster> <container instance arn>`; empty fields are "-"."""
    return '%s %d %s "%s" "%s" %s %s %d %s %s' % (
        _rfc3339(when), status, source or "-", CREDENTIALS_PATH, user_agent or "-", arn or "-", event,
        AUDIT_VERSION, cluster or "-", container_instance_arn or "-")


def parse_audit_line(line: str) -> dict | None:
    """{"time", "status" (int), "source", "path", "user_agent", "task_arn" (None for "-"), "event", "version",
    "cluster", "container_instance_arn"} of one audit log line; None for anything else."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    arn = match.group("arn")
    return {"time": match.group("time"), "status": int(match.group("status")), "source": match.group("source"),
            "path": match.group("path"), "user_agent": match.group("agent"),
            "task_arn": None if arn == "-" else arn, "event": match.group("event"),
            "version": int(match.group("version")), "cluster": match.group("cluster"),
            "container_instance_arn": match.group("instance")}


def credential_request(state: dict, task: dict, when: datetime.datetime) -> str | None:
    """The audit line the agent writes when `task` (a running_tasks entry) asks for its credentials at `when`,
    or None when no line is written: the task makes no request (mode "none"), or the request never reaches
    the agent (credential proxy broken, route missing, agent stopped) - the agent cannot log what it never
    receives, so a broken proxy leaves no trace in audit.log.

    Mode "ok": 200, the task ARN, GetCredentials. Mode "fail": 400 (InvalidIdInRequest, "Credentials not
    found"), and the agent logs no ARN ("-") and GetCredentialsInvalidRoleType, because a failed lookup
    returns neither (ecs-agent/tmds/handlers/v1/credentials_handler.go): a failure cannot be tied to a task.
    The source is 127.0.0.1:<port>: netsh portproxy connects to the agent from the host itself.
    """
    mode = credentials_mode(state, task["arn"])
    container = task["containers"][0]
    if mode == "none" or not reaches_agent(state, container):
        return None
    reg = endpoints.registration(state)
    digest = hashlib.sha256(("%s %s" % (task["arn"], when.timestamp())).encode()).digest()
    source = "127.0.0.1:%d" % (49152 + int.from_bytes(digest[:2], "big") % 16384)
    agent = USER_AGENTS.get(container["shell"], USER_AGENTS["powershell"])
    if mode == "ok":
        return audit_line(when, 200, task["arn"], EVENT_OK, reg["cluster"], reg["container_instance_arn"], source,
                          agent)
    return audit_line(when, 400, None, EVENT_UNKNOWN, reg["cluster"], reg["container_instance_arn"], source, agent)


def credential_round(state: dict, when: datetime.datetime, task_arns: list[str] | None = None) -> list[str]:
    """The audit lines of one request by each running task (only those in task_arns when given)."""
    lines = []
    for task in running_tasks(state):
        if task_arns is None or task["arn"] in task_arns:
            line = credential_request(state, task, when)
            if line is not None:
                lines.append(line)
    return lines


def audit_log_lines(state: dict) -> list[str]:
    """The lines of audit.log as the agent wrote them (oldest first); [] when there is no file."""
    data = model.read_file(state, AUDIT_LOG)
    return [] if not data else [line for line in data.decode("utf-8").splitlines() if line]


def record_credential_round(state: dict, when: datetime.datetime, task_arns: list[str] | None = None) -> list[str]:
    """Every running task (or those of task_arns) requests its credentials now: append the lines the agent
    writes to audit.log (the file and its folder are created as the agent does). Returns the new lines."""
    lines = credential_round(state, when, task_arns)
    if lines:
        kept = (audit_log_lines(state) + lines)[-AUDIT_LOG_MAX_LINES:]
        model.write_file(state, AUDIT_LOG, ("\n".join(kept) + "\n").encode("utf-8"), make_parents=True)
    return lines
