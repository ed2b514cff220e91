"""The argument checks of prelude.ps1 (Assert-Ecs*), with its messages, shared by the emulations."""

from __future__ import annotations

import ipaddress
import re

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
