# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's ECS view (`serve --ecs-endpoint URL`): each host is an EC2 instance of that endpoint and
its agent registers a container instance there, with the attributes a real Windows agent registers.

Rules and sources: docs/dev/host-model.md "ECS view (--ecs-endpoint)". The pure part (what the agent
registers) is `registration_attributes`, `version_info` and `total_resources`; `EcsApi` makes the calls.
The endpoint is meant to be a moto server (loopback only); where moto 5.2.5 does less than ECS, `EcsApi`
completes it the way ECS behaves and says so in a comment.

boto3 is an optional dependency (`pip install ecs-windows-sim[ecs]`), imported only when an endpoint is used.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import urllib.parse

from . import imds, model

log = logging.getLogger(__name__)

CAP = "com.amazonaws.ecs.capability."  # the agent's older prefix (capabilityPrefix)
ATTR = "ecs.capability."  # the newer one (attributePrefix)
TASK_IAM_ROLE = CAP + "task-iam-role"
# agent/app/agent_capability.go nameOnlyAttributes, in the agent's order.
_NAME_ONLY = ("private-registry-authentication.secretsmanager", "secrets.ssm.environment-variables",
              "secrets.ssm.bootstrap.log-driver", "ecr-endpoint", "secrets.asm.environment-variables",
              "secrets.asm.bootstrap.log-driver", "container-ordering", "full-sync", "env-files.s3",
              "network.container-port-range", "container-restart-policy")
# Docker API versions a Windows agent supports (sdkclientfactory/versionsupport_windows.go); it does not
# report 1.26, 1.27, 1.31 and 1.33+ as capabilities (agent_capability.go excludedDockerAPIVersions).
_DOCKER_API = ("1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25", "1.28", "1.29", "1.30")
# dockerclient/logging_drivers.go LoggingDriverMinimumVersion; awsfirelens has none, so it is never reported.
_LOGGING_MIN = {"json-file": "1.18", "syslog": "1.18", "journald": "1.19", "gelf": "1.20", "fluentd": "1.20",
                "awslogs": "1.21", "splunk": "1.22", "logentries": "1.25", "sumologic": "1.29", "none": "1.19"}
_WINDOWS_LOGGING_DEFAULT = ("json-file", "none", "awslogs")  # config_windows.go AvailableLoggingDrivers
# config_windows.go ReservedPorts (docker 2375/2376, introspection, TMDS, RDP, RPC, SMB, WinRM, DNS, NetBIOS).
_RESERVED_PORTS = (2375, 2376, 51678, 51679, 3389, 135, 445, 5985, 5986, 53, 139)
# Attributes whose set the agent owns: re-registration replaces them (the simulator's model, see the doc).
AGENT_PREFIXES = (CAP, ATTR, "ecs.os-")
DEFAULT_CLUSTER = "default"
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go strconv.ParseBool
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_TIMEOUTS = {"connect_timeout": 3, "read_timeout": 15}


class EcsError(Exception):
    """An ECS or EC2 call failed; the message is "<ErrorCode>: <message>" as the agent logs it."""


def _flag(config: dict, name: str, default: bool = False) -> bool:
    """An agent boolean setting: Go's strconv.ParseBool of the trimmed value; unset or invalid -> default."""
    value = str(config.get(name) or "").strip()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def _logging_drivers(config: dict) -> list[str]:
    raw = config.get("ECS_AVAILABLE_LOGGING_DRIVERS")
    if raw:
        try:
            drivers = json.loads(raw)
        except ValueError:
            drivers = None
        if isinstance(drivers, list) and all(isinstance(d, str) for d in drivers):
            return drivers
    return list(_WINDOWS_LOGGING_DEFAULT)


def registration_attributes(state: dict, config: dict) -> list[dict]:
    """The attributes a Windows agent 1.x sends with RegisterContainerInstance for this host and agent config
    (the Machine environment it started with): [{"name": str} | {"name": str, "value": str}], in its order.

    From aws/amazon-ecs-agent: agent/app/agent_capability.go and agent_capability_windows.go (capabilities),
    ecs-agent/api/ecs/client/ecs_client.go getAdditionalAttributes (ecs.os-type, ecs.os-family,
    ecs.os-type-detailed), agent/config/os_family_windows.go (the family). Not modelled: execute-command
    (needs the SSM binaries), gMSA (needs a domain-joined host), the CNI plugin version of task-eni.
    """
    names = [ATTR + name for name in _NAME_ONLY]
    if not _flag(config, "ECS_DISABLE_PRIVILEGED"):
        names.append(CAP + "privileged-container")
    names += [CAP + "docker-remote-api." + version for version in _DOCKER_API]
    names += [CAP + "logging-driver." + driver for driver in _logging_drivers(config)
              if _LOGGING_MIN.get(driver) in _DOCKER_API]
    if _flag(config, "ECS_ENABLE_TASK_IAM_ROLE"):
        names.append(TASK_IAM_ROLE)
    if _flag(config, "ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST"):
        names.append(CAP + "task-iam-role-network-host")
    if _flag(config, "ECS_ENABLE_TASK_ENI"):
        names.append(ATTR + "task-eni")
        if _flag(config, "ECS_AWSVPC_BLOCK_IMDS"):
            names.append(ATTR + "task-eni-block-instance-metadata")
    names += [CAP + "ecr-auth", ATTR + "execution-role-ecr-pull"]
    if not _flag(config, "ECS_DISABLE_DOCKER_HEALTH_CHECK"):
        names.append(ATTR + "container-health-check")
    if _flag(config, "ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE"):
        names.append(ATTR + "execution-role-awslogs")
    names.append(ATTR + "docker-plugin.local")
    if _flag(config, "ECS_FSX_WINDOWS_FILE_SERVER_SUPPORTED", default=True):
        names.append(ATTR + "fsxWindowsFileServer")
    attributes = [{"name": name} for name in names]
    family = model.ecs_os_family(state)
    attributes += [{"name": "ecs.os-type", "value": "windows"}, {"name": "ecs.os-family", "value": family},
                   {"name": "ecs.os-type-detailed", "value": family}]
    return attributes


def version_info(state: dict) -> dict:
    return {"agentVersion": state["agent"]["installed_version"] or model.LATEST_AGENT,
            "agentHash": model.AGENT_COMMIT, "dockerVersion": "DockerVersion: 25.0.8"}


def total_resources(state: dict, config: dict) -> list[dict]:
    """CPU (1024 per processor), MEMORY (MiB), PORTS (the reserved ports, plus 80 with task IAM roles:
    config_windows.go platformOverrides) and PORTS_UDP, as ecs_client.go getResources sends them."""
    cpus = int(state["machine_env"].get("NUMBER_OF_PROCESSORS") or 2)
    ports = list(_RESERVED_PORTS) + ([80] if _flag(config, "ECS_ENABLE_TASK_IAM_ROLE") else [])
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpus * 1024},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": [str(p) for p in ports]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


def attribute_map(attributes: list[dict]) -> dict:
    return {a["name"]: a.get("value") for a in attributes}


def attribute_changes(current: dict, wanted: list[dict]) -> tuple[list[dict], list[str]]:
    """(attributes to put, agent-owned names to delete) to turn `current` {name: value} into `wanted`."""
    want = attribute_map(wanted)
    put = [a for a in wanted if a["name"] not in current or current[a["name"]] != a.get("value")]
    delete = sorted(n for n in current if n.startswith(AGENT_PREFIXES) and n not in want)
    return put, delete


def check_endpoint(url: str) -> str:
    """The endpoint URL; ValueError unless it is http(s) on a loopback address (the simulator calls no real AWS)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("--ecs-endpoint %r is not an http(s) URL (e.g. http://127.0.0.1:5000 for a moto server)" % url)
    host = "127.0.0.1" if parsed.hostname == "localhost" else parsed.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError("--ecs-endpoint %s is not a loopback address: the simulator registers made-up instances "
                         "and only talks to a local ECS emulation such as a moto server" % url)
    return url.rstrip("/")


def _error(exc: Exception) -> EcsError:
    response = getattr(exc, "response", None) or {}
    err = response.get("Error") or {}
    if err.get("Code"):
        return EcsError("%s: %s" % (err["Code"], err.get("Message") or ""))
    return EcsError("%s: %s" % (type(exc).__name__, exc))


class EcsApi:
    """boto3 clients of one endpoint and region (thread-safe; one per `serve`)."""

    def __init__(self, endpoint: str, region: str):
        import boto3
        import botocore.config

        self.endpoint = check_endpoint(endpoint)
        self.region = region
        session = boto3.Session(region_name=region)
        keys = {}
        if session.get_credentials() is None:  # a moto server accepts any keys
            keys = {"aws_access_key_id": "ecs-windows-sim", "aws_secret_access_key": "ecs-windows-sim"}
        config = botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"}, **_TIMEOUTS)
        self.ec2 = session.client("ec2", endpoint_url=self.endpoint, config=config, **keys)
        self.ecs = session.client("ecs", endpoint_url=self.endpoint, config=config, **keys)

    # --- EC2 ------------------------------------------------------------------------------------

    def ensure_instance(self, state: dict) -> dict:
        """The host's `ec2` identity on this endpoint: the saved one if the endpoint knows that instance, else a
        new instance (RunInstances, tagged Name=<host>). EcsError when the endpoint refuses."""
        saved = state.get("ec2")
        if saved and saved.get("endpoint") == self.endpoint and saved.get("region") == self.region:
            try:
                found = self.ec2.describe_instances(InstanceIds=[saved["instance_id"]])["Reservations"]
            except Exception as exc:
                error = _error(exc)
                if not str(error).startswith("InvalidInstanceID.NotFound"):  # else: a fresh endpoint
                    raise error from None
                found = []
            if found:
                return saved
            log.warning("%s: instance %s is unknown to %s; creating a new one", state["name"], saved["instance_id"],
                        self.endpoint)
        image = "ami-0" + hashlib.sha256(state.get("preset", "ecs-2022").encode()).hexdigest()[:16]
        try:
            reservation = self.ec2.run_instances(
                ImageId=image, InstanceType=imds.DEFAULT_INSTANCE_TYPE, MinCount=1, MaxCount=1,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": state["name"]}]}])
        except Exception as exc:
            raise _error(exc) from None
        instance = reservation["Instances"][0]
        return {
            "instance_id": instance["InstanceId"], "region": self.region,
            "account_id": reservation.get("OwnerId") or model.ACCOUNT_REGION[0],
            "availability_zone": instance["Placement"]["AvailabilityZone"],
            "instance_type": instance["InstanceType"], "image_id": instance["ImageId"],
            "private_ip": instance.get("PrivateIpAddress") or "10.0.1.23", "http_tokens": "required",
            "endpoint": self.endpoint,
        }

    # --- ECS: what the agent does when it starts -----------------------------------------------

    def register(self, state: dict, cluster: str, config: dict, saved_arn: str | None) -> str:
        """Register (saved_arn None) or re-register the host's agent; the container instance ARN. EcsError as the
        agent would log it when ECS refuses (the agent then exits)."""
        attributes = registration_attributes(state, config)
        try:
            if saved_arn is None:
                return self._register(state, cluster, config, attributes)
            return self._reregister(state, cluster, saved_arn, attributes)
        except EcsError:
            raise
        except Exception as exc:
            raise _error(exc) from None

    def _ensure_cluster(self, cluster: str, config: dict) -> None:
        # The agent registers without looking first and, only for the default cluster, creates it on
        # ClusterNotFoundException (ecs_client.go RegisterContainerInstance). moto 5.2.5 answers a 500 instead
        # of ClusterNotFoundException, so the simulator asks DescribeClusters first.
        found = self.ecs.describe_clusters(clusters=[cluster])["clusters"]
        if found and found[0].get("status") == "ACTIVE":
            return
        if not (config.get("ECS_CLUSTER") or "").strip():
            self.ecs.create_cluster(clusterName=DEFAULT_CLUSTER)
            return
        raise EcsError("ClusterNotFoundException: Cluster not found.")

    def _register(self, state: dict, cluster: str, config: dict, attributes: list[dict]) -> str:
        self._ensure_cluster(cluster, config)
        response = self.ecs.register_container_instance(
            cluster=cluster, instanceIdentityDocument=json.dumps(imds.identity_document(state)),
            instanceIdentityDocumentSignature="", attributes=attributes, versionInfo=version_info(state),
            totalResources=total_resources(state, config))
        instance = response["containerInstance"]
        arn = instance["containerInstanceArn"]
        # ECS stores the registered attributes (the agent checks it: ecs_client.go validateRegisteredAttributes);
        # moto 5.2.5 keeps only its own ecs.ami-id/availability-zone/instance-type/os-type, so put the rest.
        put, _ = attribute_changes(attribute_map(instance.get("attributes") or []), attributes)
        self._put(cluster, arn, put)
        log.info("%s: registered container instance %s in cluster %s", state["name"], arn, cluster)
        return arn

    def _reregister(self, state: dict, cluster: str, arn: str, attributes: list[dict]) -> str:
        # ECS answers a re-registration (RegisterContainerInstance with the saved ARN) with the same ARN and the
        # new attribute set; moto 5.2.5 ignores the ARN and would create a second container instance, so the
        # simulator looks the instance up and brings its agent attributes in line instead.
        described = self.ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])
        instances = described.get("containerInstances") or []
        if not instances or instances[0].get("status") in ("INACTIVE", "DEREGISTERING"):
            raise EcsError("ClientException: container instance %s is not registered in cluster %s (deregistered?); "
                           "remove %s to register a new one" % (arn, cluster, model.ECS_DATADIR))
        put, delete = attribute_changes(attribute_map(instances[0].get("attributes") or []), attributes)
        self._put(cluster, arn, put)
        target = arn.rsplit("/", 1)[-1]
        for start in range(0, len(delete), 10):
            self.ecs.delete_attributes(cluster=cluster, attributes=[
                {"name": name, "targetId": target, "targetType": "container-instance"}
                for name in delete[start:start + 10]])
        log.info("%s: re-registered container instance %s in cluster %s (%d attributes put, %d removed)",
                 state["name"], arn, cluster, len(put), len(delete))
        return arn

    def _put(self, cluster: str, arn: str, attributes: list[dict]) -> None:
        # moto finds the target by its id (the last part of the ARN) with targetType, not by the full ARN.
        target = arn.rsplit("/", 1)[-1]
        for start in range(0, len(attributes), 10):
            self.ecs.put_attributes(cluster=cluster, attributes=[
                dict(a, targetId=target, targetType="container-instance") for a in attributes[start:start + 10]])


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or model.ACCOUNT_REGION[1]
