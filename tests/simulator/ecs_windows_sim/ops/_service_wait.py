"""Bounded service stops and starts (Stop-EcsService / Start-EcsService / Wait-EcsServiceStatus of prelude.ps1)."""

from __future__ import annotations

from .. import model
from ..opscript import OpError
from . import _prelude


def timeout_error(name: str, status: str, timeout_s: int, wanted: str) -> OpError:
    return OpError("timeout", "service %s is still %s after %d s (waiting for %s); find what holds it with: "
                   "Get-CimInstance -ClassName Win32_Service -Filter \"Name='%s'\"" % (name, status, timeout_s, wanted, name))


def stop(state: dict, name: str, timeout_s: int) -> list[str]:
    """Stop-Service -Force -NoWait, then a bounded wait: a stuck service times out after timeout_s (really waited)."""
    try:
        return model.stop_service(state, name, force=True)
    except model.ServiceStuck:
        _prelude.sleep(timeout_s)
        raise timeout_error(name, "StopPending", timeout_s, "Stopped") from None


def start(state: dict, name: str, timeout_s: int) -> None:
    svc = state["services"][name]
    if svc["status"] == "StopPending":
        _prelude.sleep(timeout_s)
        raise timeout_error(name, "StopPending", timeout_s, "Running")
    model.start_service(state, name)
