"""The argument checks of prelude.ps1 (Assert-Ecs*), with its messages, shared by the emulations."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import time

from .. import model
from ..opscript import OpError


def _ipv4(value: str) -> bool:
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
        return False
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def ipv4(value: str, name: str) -> str:
    if not _ipv4(value):
        raise OpError("invalid_argument", "%s must be an IPv4 address, got '%s'" % (name, value))
    return value


def ipv4_prefix(value: str, name: str) -> str:
    match = re.fullmatch(r"(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2})", value)
    if not match or int(match.group(2)) > 32 or not _ipv4(match.group(1)):
        raise OpError("invalid_argument", "%s must be an IPv4 prefix like 169.254.170.2/32, got '%s'" % (name, value))
    return value


def container_id(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{12,64}", value):
        raise OpError("invalid_argument", "container id must be 12 to 64 lower-case hex characters, got '%s'" % value)
    return value


def windows_path(value: str, name: str) -> str:
    if not re.match(r"^[A-Za-z]:\\", value) or re.search(r'["<>|*?\r\n]', value) or ":" in value[2:]:
        raise OpError("invalid_argument", "%s must be an absolute Windows path like C:\\dir\\file, got '%s'" % (name, value))
    return value


# --- the Machine environment, as Get-EcsMachineEnvironment reports it ---------------------------------------------

_USED = re.compile(r"^(ECS_|ECSWINDOWS_TASK_IAM_)", re.IGNORECASE)
_SECRET_NAME = re.compile(r"(AUTH|PASS|PWD|SECRET|TOKEN|CREDENTIAL|KEY)", re.IGNORECASE)
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<userinfo>[^\s/?#]*)@(?P<rest>[^@]*)$")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@")


def used_variable(name: str) -> bool:
    return bool(_USED.match(name)) or name.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def masked(name: str, value: str) -> str:
    """ConvertTo-EcsMaskedValue."""
    if _SECRET_NAME.search(name):
        return "********"
    match = _USERINFO.match(value)
    if match:
        return "%s********@%s" % (match.group("scheme") or "", match.group("rest"))
    if "@" in value and name.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):  # a URL with something in front
        return "********"
    return masked_text(value)


def masked_text(text: str) -> str:
    """ConvertTo-EcsMaskedText: the user information of every scheme://userinfo@ in the text masked."""
    return _URL_USERINFO.sub(r"\g<scheme>********@", text)


def machine_environment(state: dict, salt: str) -> dict:
    """Get-EcsMachineEnvironment: {values, hashes, other} (names sorted case-insensitively, as Sort-Object does)."""
    values, hashes, other = {}, {}, []
    for name in sorted(state["machine_env"], key=str.lower):
        value = state["machine_env"][name]
        if not used_variable(name):
            other.append(name)
            continue
        values[name] = masked(name, value)
        if values[name] != value:
            hashes[name] = hashlib.sha256((salt + value).encode("utf-8")).hexdigest()
    return {"values": values, "hashes": hashes, "other": other}


def agent_settings(state: dict) -> dict | None:
    """Get-EcsAgentSettings: the Initialize-ECSAgent settings the Machine environment describes, or None."""
    cluster = model.env_get(state, "ECS_CLUSTER")
    if not cluster:
        return None
    settings = {"cluster": cluster, "version": None}
    for arg, name in (("enable_task_iam_role", "ECS_ENABLE_TASK_IAM_ROLE"), ("enable_task_eni", "ECS_ENABLE_TASK_ENI"),
                      ("awsvpc_block_imds", "ECS_AWSVPC_BLOCK_IMDS")):
        settings[arg] = (model.env_get(state, name) or "").strip().lower() == "true"
    for arg, name in (("logging_drivers", "ECS_AVAILABLE_LOGGING_DRIVERS"),
                      ("awsvpc_additional_local_routes", "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES")):
        try:
            parsed = json.loads(model.env_get(state, name) or "null")
        except ValueError:
            parsed = None
        settings[arg] = parsed if isinstance(parsed, list) and all(isinstance(i, str) for i in parsed) else None
    return settings


# --- the boot folder ------------------------------------------------------------------------------------------------

def secure_boot_folder(state: dict) -> bool:
    """Initialize-EcsBootFolder: owner Administrators, SYSTEM and Administrators only; an untrusted folder is
    emptied. Returns whether it changed anything."""
    folder = model.BOOT_DIR
    if model.acl_trusted(model.acl_facts(state, folder)):
        return False
    if model.path_kind(state, folder) == "dir":
        model.remove_path(state, folder, recurse=True)
        state.setdefault("acl", {})
        for key in [k for k in state["acl"] if k.startswith(folder.lower() + "\\")]:
            del state["acl"][key]
    model.make_dir(state, folder)
    model.set_acl(state, folder, model.TRUSTED_ACL)
    return True


def sleep(seconds: float) -> None:
    """Real time passing on the host (an op runs without the host lock: Host.run_ops_script)."""
    if seconds > 0:
        time.sleep(seconds)
