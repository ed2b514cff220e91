# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's EC2 instance metadata service (http://169.254.169.254), as a pure function of the state.

Rules: docs/dev/host-model.md "Instance metadata (IMDS)". The identity comes from `state["ec2"]`, which
`serve --ecs-endpoint` fills with the instance it created through the endpoint's EC2 API; a host that
never had one answers an instance id derived from its name (no EC2 API knows that id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from . import model

IMDS_IP = "169.254.169.254"
TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
MAX_TTL_S = 21600
DEFAULT_INSTANCE_TYPE = "m5.large"
_TOKEN_PREFIX = "AQAEA"
_UNAUTHORIZED = ""  # IMDS answers 401 with an empty body


def identity(state: dict) -> dict:
    """instance_id, region, account_id, availability_zone, instance_type, image_id, private_ip of this host."""
    ec2 = state.get("ec2")
    if ec2:
        return dict(ec2)
    account, region = model.ACCOUNT_REGION
    digest = hashlib.sha256(state["name"].encode("utf-8")).hexdigest()
    ip = next((a["ip_address"] for a in state["ip_addresses"] if a["interface_index"] == 5), "10.0.1.23")
    return {"instance_id": "i-0" + digest[:16], "region": region, "account_id": account,
            "availability_zone": region + "a", "instance_type": DEFAULT_INSTANCE_TYPE,
            "image_id": "ami-0" + digest[16:32], "private_ip": ip, "http_tokens": "required"}


def instance_id(state: dict) -> str:
    return identity(state)["instance_id"]


def identity_document(state: dict) -> dict:
    """GET /latest/dynamic/instance-identity/document (the fields the ECS agent and ECS read)."""
    ident = identity(state)
    return {
        "accountId": ident["account_id"], "architecture": "x86_64", "availabilityZone": ident["availability_zone"],
        "imageId": ident["image_id"], "instanceId": ident["instance_id"], "instanceType": ident["instance_type"],
        "privateIp": ident["private_ip"], "region": ident["region"], "version": "2017-09-30",
    }


def _secret(state: dict) -> bytes:
    return hashlib.sha256(("imds-token:" + instance_id(state) + ":" + str(state.get("boot_id", 0))).encode()).digest()


def _token(state: dict, expires: int) -> str:
    body = base64.urlsafe_b64encode(json.dumps({"exp": expires}).encode()).decode().rstrip("=")
    mac = hmac.new(_secret(state), body.encode(), hashlib.sha256).hexdigest()[:24]
    return "%s%s.%s" % (_TOKEN_PREFIX, body, mac)


def _token_valid(state: dict, token: str, now: float) -> bool:
    if not token.startswith(_TOKEN_PREFIX) or "." not in token:
        return False
    body, _, mac = token[len(_TOKEN_PREFIX):].rpartition(".")
    good = hmac.new(_secret(state), body.encode(), hashlib.sha256).hexdigest()[:24]
    if not hmac.compare_digest(mac, good):
        return False
    try:
        expires = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["exp"]
    except (ValueError, KeyError, TypeError):
        return False
    return now < expires


def _paths(state: dict) -> dict:
    ident = identity(state)
    return {
        "/latest/meta-data/instance-id": ident["instance_id"],
        "/latest/meta-data/instance-type": ident["instance_type"],
        "/latest/meta-data/ami-id": ident["image_id"],
        "/latest/meta-data/local-ipv4": ident["private_ip"],
        "/latest/meta-data/placement/availability-zone": ident["availability_zone"],
        "/latest/meta-data/placement/region": ident["region"],
        "/latest/dynamic/instance-identity/document": json.dumps(identity_document(state), indent=2),
    }


def answer(state: dict, method: str, path: str, headers: dict | None, now: float) -> tuple[int, str]:
    """(HTTP status, body) of one request from the host itself to http://169.254.169.254<path>.

    IMDSv2: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: 1..21600` returns a token
    (400 without a valid TTL); a GET carrying `X-aws-ec2-metadata-token` needs a valid, unexpired token (401
    otherwise). A GET without a token is IMDSv1: 401 when the instance requires tokens (`http_tokens`
    "required", the default here, as for instances launched from current Windows AMIs), else answered.
    A token is bound to the boot (a reboot invalidates it, as the real service does across stop/start).
    Header names are case-insensitive; `now` is a Unix time.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    method = method.upper()
    if path == TOKEN_PATH:
        if method != "PUT":
            return 405, ""
        ttl = str(headers.get(TTL_HEADER, "")).strip()
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL_S:
            return 400, ""
        return 200, _token(state, int(now) + int(ttl))
    if method != "GET":
        return 405, ""
    token = headers.get(TOKEN_HEADER)
    if token is not None:
        if not _token_valid(state, str(token), now):
            return 401, _UNAUTHORIZED
    elif identity(state).get("http_tokens", "required") == "required":
        return 401, _UNAUTHORIZED
    body = _paths(state).get(path.rstrip("/") if path != "/" else path)
    return (200, body) if body is not None else (404, "")
