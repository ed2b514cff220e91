# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time repair: the startup task and the op script it runs (wait for ECSTools' own reboot task, then
recover_proxy, which reads the agent's settings from the host when it runs, so a reboot never undoes a setting).
What it should be, what is installed, and whether the two agree: used by the credential_proxy planner and by the
findings (boot_task_outdated).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _host, _script

# How long the boot script waits for ECSTools' Initialize-ECSHostReboot, and for the host lock (an Ansible run may
# hold it while the host boots).
WAIT_ECSTOOLS_S = 300
LOCK_WAIT_S = 600
LOCK_HOLDER = "the boot task %s%s" % (_host.BOOT_TASK_PATH, _host.BOOT_TASK_NAME)
# Seconds for what the task does besides waiting: probes, the teardown, starting services.
_WORK_S = 300


def recover_args(attempts: int, retry_delay_s: int, registration_timeout_s: int, init_timeout_s: int) -> dict:
    return {
        "attempts": attempts,
        "retry_delay_s": retry_delay_s,
        "registration_timeout_s": registration_timeout_s,
        "init_timeout_s": init_timeout_s,
        "log_path": _host.BOOT_LOG_PATH,
    }


def _calls(recover: dict) -> list:
    return [
        (
            "wait_task_idle",
            {
                "task_path": _host.ECSTOOLS_REBOOT_TASK_PATH,
                "task_name": _host.ECSTOOLS_REBOOT_TASK_NAME,
                "timeout_s": WAIT_ECSTOOLS_S,
                "busy_error": False,
            },
        ),
        ("recover_proxy", recover),
    ]


def script(recover: dict) -> str:
    """The op-contract script the startup task runs; it holds the host lock like any mutating batch."""
    return _script.build_script(_calls(recover), lock={"wait_s": LOCK_WAIT_S, "holder": LOCK_HOLDER})


def script_sha256(text: str) -> str:
    """sha256 of the script file as boot_task writes it (UTF-8 with BOM), as probe reports it."""
    return hashlib.sha256(b"\xef\xbb\xbf" + text.encode("utf-8")).hexdigest()


def execution_limit_s(recover: dict) -> int:
    """The task's ExecutionTimeLimit, derived from what the script may wait for: the lock, ECSTools' task, every
    Initialize-ECSAgent attempt and the backoff between them, the registration; plus the work itself."""
    backoff = sum(min(recover["retry_delay_s"] * 2**attempt, 300) for attempt in range(recover["attempts"] - 1))
    return (
        LOCK_WAIT_S
        + WAIT_ECSTOOLS_S
        + recover["attempts"] * recover["init_timeout_s"]
        + backoff
        + recover["registration_timeout_s"]
        + _WORK_S
    )


def delay_text(seconds: int) -> str:
    return "PT%dS" % seconds


def boot_task_args(state: str, recover: dict | None = None, delay_s: int = 0) -> dict:
    if state == "absent":
        return {
            "state": "absent",
            "script": None,
            "delay": "PT0S",
            "execution_limit_s": 3600,
            "description": _host.BOOT_TASK_DESCRIPTION,
        }
    return {
        "state": "present",
        # state "present" comes with `recover` (credential_proxy's boot_step).
        "script": script(recover),  # type: ignore[arg-type]
        "delay": delay_text(delay_s),
        "execution_limit_s": execution_limit_s(recover),  # type: ignore[arg-type]
        "description": _host.BOOT_TASK_DESCRIPTION,
    }


def find(facts: dict, path: str = _host.BOOT_TASK_PATH, name: str = _host.BOOT_TASK_NAME) -> dict | None:
    """A task among the probed ones (Task Scheduler names are case-insensitive)."""
    for task in facts["scheduled_tasks"]:
        if task["path"].lower() == path.lower() and task["name"].lower() == name.lower():
            return task
    return None


_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def duration_s(text: str | None) -> float | None:
    """Seconds of an ISO 8601 duration as Task Scheduler stores one (it may write PT90S as PT1M30S); None if unreadable."""
    match = _DURATION.fullmatch(text or "")
    if not match or not (text or "").strip("PT"):
        return None
    days, hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def installed_recover_args(facts: dict) -> dict | None:
    """The recover_proxy arguments of the installed boot script (its batch), or None when it carries no such batch
    in the form this collection writes."""
    batch = facts["boot"]["script_batch"]
    ops = (batch or {}).get("ops") or []
    if [call.get("op") for call in ops] != ["wait_task_idle", "recover_proxy"]:
        return None
    recover = ops[1].get("args")
    expected = set(_contract.op_spec("recover_proxy")["args"]["properties"])
    return recover if isinstance(recover, dict) and set(recover) == expected else None


def view(facts: dict) -> dict | None:
    """The startup task as installed: what the diff shows and what is compared."""
    task = find(facts)
    sha = facts["boot"]["script_sha256"]
    if task is None and sha is None:
        return None
    out = {"task": None, "script_sha256": sha}
    if task is not None:
        out["task"] = {
            k: task[k]
            for k in ("enabled", "at_startup", "delay", "execute", "arguments", "principal", "execution_limit")
        }
    return out


def desired_view(recover: dict, delay_s: int) -> dict:
    limit = execution_limit_s(recover)
    return {
        "task": {
            "enabled": True,
            "at_startup": True,
            "delay": delay_text(delay_s),
            "execute": _host.BOOT_TASK_EXECUTE,
            "arguments": _host.BOOT_TASK_ARGUMENTS,
            "principal": "SYSTEM",
            "execution_limit": "PT%dS" % limit,
        },
        "script_sha256": script_sha256(script(recover)),
    }


def differences(have: dict | None, want: dict) -> list[str]:
    """What differs between an installed task (view) and a wanted one (desired_view); [] when they agree."""
    if have is None or have["task"] is None:
        return ["the task is not installed"]
    task, wanted = have["task"], want["task"]
    out = []
    if have["script_sha256"] is None:
        out.append("its script is missing")
    elif have["script_sha256"] != want["script_sha256"]:
        out.append("its script is not the one this collection writes for these settings")
    if not (task["enabled"] and task["at_startup"]):
        out.append("it is not an enabled startup task")
    if task["execute"].lower() != wanted["execute"].lower() or task["arguments"] != wanted["arguments"]:
        out.append("its action is %s %s" % (task["execute"], task["arguments"]))
    if (task["principal"] or "").upper() not in ("SYSTEM", "NT AUTHORITY\\SYSTEM"):
        out.append("it runs as %s, not SYSTEM" % task["principal"])
    for key, label in (("delay", "its delay"), ("execution_limit", "its execution limit")):
        if duration_s(task[key]) != duration_s(wanted[key]):
            out.append("%s is %s, not %s" % (label, task[key], wanted[key]))
    return out


def outdated(facts: dict) -> list[str]:
    """Why the installed boot task would not repair this host as this collection means it to (instance_info's
    boot_task_outdated); [] when it is not installed or agrees with its own arguments."""
    have = view(facts)
    if have is None or have["task"] is None:
        return []
    recover = installed_recover_args(facts)
    if recover is None:
        return [
            "its script was not written by this version of the collection (it carries no recover_proxy batch "
            "that reads the agent's settings at boot)"
        ]
    delay = duration_s(have["task"]["delay"])
    return differences(have, desired_view(recover, int(delay or 0)))
