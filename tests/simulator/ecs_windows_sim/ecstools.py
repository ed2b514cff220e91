"""ECSTools `Initialize-ECSAgent`, as modelled in docs/dev/host-model.md (the real module is closed source)."""

from __future__ import annotations

import json
import re

from . import model

REBOOT_TASK = {"path": "\\", "name": "Initialize-ECSHostReboot"}
REBOOT_TASK_ARGUMENTS = '-NoProfile -Command "Import-Module ECSTools; Initialize-ECSHostReboot"'
FIREWALL_DISPLAY_NAME = "Allow Inbound Port 51679"
NOT_LOADED = ("The specified module 'ECSTools' was not loaded because no valid module file was found in any "
              "module directory.")
ADAPTER_NOT_FOUND = "VMNetwork adapter 'vEthernet (nat)*' not found"
# Thrown at ECSTools.psm1:1247 (host-facts.md section 6.4); the exception message carries no position.
DUPLICATE_NAT = "You cannot call a method on a null-valued expression."
NO_HYPERV = ("The term 'Get-VMNetworkAdapter' is not recognized as the name of a cmdlet, function, script file, "
             "or operable program. Check the spelling of the name, or if a path was included, verify that the "
             "path is correct and try again.")
_VERSION = re.compile(r"^v?([0-9]+\.[0-9]+\.[0-9]+)$")


# How long Initialize-ECSHostReboot runs once it fires at startup, when the ecstools-boot-delay setting makes it
# fire late (its real action is unknown; host-model.md "ECSTools' reboot task").
REBOOT_TASK_RUN_S = 3.0
OVERLAP = ("Initialize-ECSAgent ran while ECSTools' Initialize-ECSHostReboot was running: the two configurations of "
           "the credential proxy overlapped (the simulator's model of the race)")
# How long one Initialize-ECSAgent runs on Windows (it configures the network, may download the agent, starts the
# service): tens of seconds. Modelled, not slept: a run that starts less than this before the reboot task fires is
# still running when it fires (host-model.md "ECSTools' reboot task").
INIT_RUN_S = 30.0
OVERLAP_FIRES = ("Initialize-ECSAgent ran %d s before ECSTools' Initialize-ECSHostReboot fired at startup (a run takes "
                 "about %d s): the two configurations of the credential proxy overlapped (the simulator's model of the "
                 "race)")


def reboot_task(state: dict) -> dict | None:
    return next((t for t in state["scheduled_tasks"] if t["path"] == REBOOT_TASK["path"] and t["name"] == REBOOT_TASK["name"]), None)


def reboot_task_view(state: dict, task: dict) -> dict:
    """The task as Task Scheduler shows it now: with `ecstools-boot-delay` S it stays Ready (not run since boot) for
    S seconds after the boot, then Running for REBOOT_TASK_RUN_S, then Ready with that run as its last run."""
    view = dict(task)
    if not task["enabled"] or not task["at_startup"] or state.get("ecstools_boot_ran_at") is None:
        return view
    delay = state.get("ecstools_boot_delay_s", 0)
    elapsed = model.since_boot(state)
    if elapsed < delay:
        view["state"] = "Ready"
        return view
    view["state"] = "Running" if delay and elapsed < delay + REBOOT_TASK_RUN_S else "Ready"
    view["last_run_time"] = state["ecstools_boot_ran_at"]
    view["last_result"] = 267009 if view["state"] == "Running" else 0
    return view


def reboot_task_running(state: dict) -> bool:
    task = reboot_task(state)
    return task is not None and reboot_task_view(state, task)["state"] == "Running"


def reboot_task_fires_in(state: dict) -> float | None:
    """Seconds until the reboot task fires at this boot (ecstools-boot-delay), or None when it will not fire any more
    at this boot (it ran, it is running, it is disabled, or there is no such task)."""
    task = reboot_task(state)
    if task is None or not task["enabled"] or not task["at_startup"] or state.get("ecstools_boot_ran_at") is None:
        return None
    ahead = state.get("ecstools_boot_delay_s", 0) - model.since_boot(state)
    return ahead if ahead > 0 else None


class Hung(Exception):
    """The init-hang fault: Initialize-ECSAgent stopped answering after the steps it had done."""


class InitError(Exception):
    """Initialize-ECSAgent failed; `retryable` marks the sporadic adapter error only."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def _json_list(values: list[str]) -> str:
    return json.dumps(values, separators=(",", ":"))


def initialize_agent(state: dict, init: dict, hang: bool = False) -> None:
    """One `Initialize-ECSAgent` call with the settings of an init_agent call (contract.json $defs.settings). With
    `hang` (the init-hang fault) it stops answering (Hung) after the Machine environment and the credential proxy,
    before the agent and its service: a run killed at its timeout leaves that half done."""
    if not state["ecstools"]["present"]:
        raise InitError(NOT_LOADED)
    if reboot_task_running(state):
        raise InitError(OVERLAP)
    fires = reboot_task_fires_in(state)
    if fires is not None and fires < INIT_RUN_S:
        raise InitError(OVERLAP_FIRES % (round(fires), INIT_RUN_S))
    if state["ecstools"]["creates_reboot_task"] and not any(
        t["path"] == REBOOT_TASK["path"] and t["name"] == REBOOT_TASK["name"] for t in state["scheduled_tasks"]
    ):
        state["scheduled_tasks"].insert(0, {
            **REBOOT_TASK, "state": "Ready", "enabled": True, "at_startup": True, "delay": None,
            "execute": "PowerShell.exe", "arguments": REBOOT_TASK_ARGUMENTS, "description": None, "user": "SYSTEM",
            "execution_limit": "PT72H", "last_run_time": None, "last_result": None,
            "registered_time": model.task_time(model.now(state)),
        })
    model.env_set(state, "ECS_CLUSTER", init["cluster"])
    model.env_set(state, "ECS_DATADIR", model.ECS_DATADIR)
    model.env_set(state, "ECS_LOGFILE", model.ECS_LOGFILE)
    if init["enable_task_iam_role"]:
        model.env_set(state, "ECS_ENABLE_TASK_IAM_ROLE", "true")
    if init["logging_drivers"] is not None:
        model.env_set(state, "ECS_AVAILABLE_LOGGING_DRIVERS", _json_list(init["logging_drivers"]))
    if init["enable_task_eni"]:
        model.env_set(state, "ECS_ENABLE_TASK_ENI", "true")
    if init["awsvpc_block_imds"]:
        model.env_set(state, "ECS_AWSVPC_BLOCK_IMDS", "true")
    if init["awsvpc_additional_local_routes"] is not None:
        model.env_set(state, "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES", _json_list(init["awsvpc_additional_local_routes"]))
    if init["enable_task_iam_role"]:
        _setup_credential_proxy(state)
    if hang:
        raise Hung()
    _install_agent(state, init["version"])
    _start_agent_service(state)


def _setup_credential_proxy(state: dict) -> None:
    faults = state["pending_faults"]
    if faults.get("init-adapter-not-found", 0) > 0:
        faults["init-adapter-not-found"] -= 1
        raise InitError(ADAPTER_NOT_FOUND, retryable=True)
    if not state["hyperv_powershell"]:
        raise InitError(NO_HYPERV)
    nat = model.nat_adapters(state)
    if not nat:
        raise InitError(ADAPTER_NOT_FOUND, retryable=True)
    if len(nat) > 1:
        raise InitError(DUPLICATE_NAT)
    ip = model.CREDENTIALS_IP
    if not any(a["ip_address"] == ip for a in state["ip_addresses"]):
        # An address on the HNS nat vNIC does not survive a reboot (host-facts.md section 2, inference).
        model.bind_address(state, ip, 32, nat[0]["interface_index"], persistent=False)
    if not any(r["display_name"] == FIREWALL_DISPLAY_NAME for r in state["firewall_rules"]):
        state["firewall_rules"].append(model.new_firewall_rule(FIREWALL_DISPLAY_NAME, "51679"))
    if model.find_portproxy(state, ip, 80) is None:  # the trap: an existing (dead) rule is left as it is
        model.add_portproxy(state, ip, 80, "127.0.0.1", 51679)


def _install_agent(state: dict, version: str | None) -> None:
    agent = state["agent"]
    if version is None and agent["installed_version"] is not None:
        return
    if version is None or version == "latest":
        wanted = model.LATEST_AGENT
    else:
        match = _VERSION.match(version)
        if match is None:
            raise InitError("Cannot download the Amazon ECS agent version '%s': (404) Not Found." % version)
        wanted = match.group(1)
    if wanted != agent["installed_version"]:
        if model.service_running(state, model.AGENT_SERVICE):
            model.stop_service(state, model.AGENT_SERVICE)
        agent["installed_version"] = wanted


def _start_agent_service(state: dict) -> None:
    services = state["services"]
    if model.AGENT_SERVICE not in services:
        services[model.AGENT_SERVICE] = {"display_name": "Amazon ECS", "status": "Stopped",
                                         "start_type": "Automatic", "failure_restart": False}
    if model.service_running(state, model.AGENT_SERVICE):
        model.stop_service(state, model.AGENT_SERVICE)
    try:
        model.start_service(state, model.AGENT_SERVICE)
    except model.ServiceError as exc:
        raise InitError(str(exc)) from None
