"""A simulated Windows ECS container instance: its persisted state and what can happen to it.

The interface the protocol layer uses (docs: notes/sim-interface.md). Callers hold `lock` around calls.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pathlib
import re
import threading

from . import agent_tasks, ecstools, endpoints, imds, model, opscript, presets, settings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_FILE_ARG = re.compile(r'-File\s+(?:"([^"]+)"|(\S+))', re.IGNORECASE)
# powershell.exe's exit code when the -File argument does not exist (0xFFFD0000 as a signed int).
MISSING_FILE_RC = -196608
DEFAULT_REBOOT_DOWNTIME_S = 3.0  # as `ctl reboot`'s default --downtime


class Host:
    HOST_FAULTS: frozenset[str] = frozenset({"init-adapter-not-found"})

    def __init__(self, name: str, state_dir: pathlib.Path, state: dict):
        self.name = name
        self.state_dir = pathlib.Path(state_dir)
        self.state = state
        self.lock = threading.RLock()
        # Set by server.Simulator: reboot this host's endpoint (delay_s, downtime_s) / cancel that. Without them
        # (a Host used on its own) a requested shutdown only stays pending.
        self.on_shutdown = None
        self.on_abort = None

    @staticmethod
    def _path(name: str, state_dir: pathlib.Path) -> pathlib.Path:
        if not _NAME.match(name):
            raise ValueError("invalid host name %r (letters, digits, '.', '_', '-')" % name)
        return pathlib.Path(state_dir) / "hosts" / ("%s.json" % name)

    @classmethod
    def create(cls, name: str, state_dir: pathlib.Path, preset: str = presets.DEFAULT_PRESET) -> "Host":
        """A new host fresh from launch of `preset`, replacing any saved state of that name."""
        cls._path(name, state_dir)
        host = cls(name, state_dir, presets.preset_state(preset, name))
        host.save()
        return host

    @classmethod
    def load(cls, name: str, state_dir: pathlib.Path) -> "Host":
        with open(cls._path(name, state_dir), encoding="utf-8") as handle:
            return cls(name, state_dir, json.load(handle))

    def save(self) -> None:
        path = self._path(self.name, self.state_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.state, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)

    def _change(self, action) -> object:
        """Run `action(state)` on a copy and keep it only if it returns; saved at once."""
        with self.lock:
            work = copy.deepcopy(self.state)
            out = action(work)
            self.state = work
            self.save()
            return out

    # --- what arrives over WinRM ---------------------------------------------------------------

    def run_ops_script(self, script: str) -> tuple[int, bytes, bytes]:
        """An op-contract script (marker first line) -> rc, stdout, stderr (opscript.run_script)."""
        return self._change(lambda state: opscript.run_script(state, script))

    # --- what ansible.windows.win_reboot sends ------------------------------------------------------

    def boot_filetime(self) -> int:
        """(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToFileTime()."""
        with self.lock:
            return self.state["boot_id"]

    def logon_ui_ready(self) -> bool:
        """Whether HKLM:\\...\\Winlogon\\AutoLogonChecked exists (LogonUI creates it when it shows the logon screen)."""
        with self.lock:
            return self.state.get("logon_ui_ready", True)

    def request_shutdown(self, delay_s: int, clear_logon_key: bool) -> bool:
        """`shutdown.exe /r /t delay_s` (after removing AutoLogonChecked when asked): False when a shutdown is
        already pending; else the reboot happens delay_s later with the host's `reboot-downtime`."""
        def request(state):
            if clear_logon_key:
                state["logon_ui_ready"] = False
            if state.get("pending_shutdown"):
                return None
            state["pending_shutdown"] = {"requested": model.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "delay_s": delay_s}
            return state.get("reboot_downtime_s", DEFAULT_REBOOT_DOWNTIME_S)

        downtime = self._change(request)
        if downtime is None:
            return False
        if self.on_shutdown is not None:
            self.on_shutdown(delay_s, downtime)
        return True

    def abort_shutdown(self) -> bool:
        """`shutdown.exe /a`: False when no shutdown is pending."""
        def abort(state):
            return state.pop("pending_shutdown", None) is not None

        aborted = self._change(abort)
        if aborted and self.on_abort is not None:
            self.on_abort()
        return aborted

    # --- control -------------------------------------------------------------------------------

    def reboot(self) -> None:
        """Shutdown + boot (model.boot), then the enabled AtStartup tasks by their recorded action."""
        self._change(_boot_and_run_startup_tasks)

    def apply_setting(self, key: str, value: str) -> None:
        self._change(lambda state: settings.apply_setting(state, key, value))

    def inject_fault(self, kind: str, count: int) -> None:
        if kind not in self.HOST_FAULTS:
            raise ValueError("unknown host fault %r (known: %s)" % (kind, ", ".join(sorted(self.HOST_FAULTS))))
        if count < 0:
            raise ValueError("fault count must be 0 or more, got %d" % count)

        def add(state):
            state["pending_faults"][kind] = count

        self._change(add)

    def snapshot(self) -> dict:
        """The full state for `ctl state`: files as size + sha256, plus the derived endpoint answers."""
        with self.lock:
            snap = copy.deepcopy(self.state)
            snap["files"] = {}
            for entry in self.state["files"].values():
                data = model.read_file(self.state, entry["path"])
                snap["files"][entry["path"]] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            snap["dirs"] = sorted(self.state["dirs"].values())
            snap["derived"] = {
                "registration": endpoints.registration(self.state),
                "agent_tmds": endpoints.agent_tmds(self.state),
                "proxy_endpoint": endpoints.proxy_endpoint(self.state),
                "port80_listeners": endpoints.port80_listeners(self.state),
                "ec2_instance_id": imds.instance_id(self.state),
                "tasks": agent_tasks.tasks_response(self.state),
            }
            return snap

    # --- files, for Ansible transfers (Windows paths, case-insensitive) --------------------------

    def read_file(self, path: str) -> bytes | None:
        with self.lock:
            return model.read_file(self.state, path)

    def write_file(self, path: str, data: bytes) -> None:
        """FileNotFoundError when the folder does not exist, IsADirectoryError for a folder path."""
        self._change(lambda state: model.write_file(state, path, data))

    def path_kind(self, path: str) -> str | None:
        with self.lock:
            return model.path_kind(self.state, path)

    def make_dir(self, path: str) -> None:
        """Creates missing parents; FileExistsError when a file has that path."""
        self._change(lambda state: model.make_dir(state, path))

    def remove_path(self, path: str, recurse: bool) -> None:
        """FileNotFoundError when missing; OSError for a non-empty folder without recurse."""
        self._change(lambda state: model.remove_path(state, path, recurse))


def _startup_order(task: dict) -> bool:
    return not (task["path"] == ecstools.REBOOT_TASK["path"] and task["name"] == ecstools.REBOOT_TASK["name"])


def _run_startup_task(state: dict, task: dict) -> dict:
    """A startup task by its action: ECSTools' reboot task is a no-op (its real action is unknown);
    `PowerShell.exe ... -File "<path>"` of an op script runs like a WinRM command; anything else is ignored."""
    run = {"task": task["path"] + task["name"], "action": "ignored", "rc": None, "output": None, "stderr": ""}
    if task["arguments"] == ecstools.REBOOT_TASK_ARGUMENTS:
        run["action"] = "noop"
        return run
    match = _FILE_ARG.search(task["arguments"] or "")
    if not task["execute"].lower().endswith(("powershell.exe", "powershell")) or match is None:
        return run
    path = match.group(1) or match.group(2)
    data = model.read_file(state, path)
    if data is None:
        run.update(action="missing_file", rc=MISSING_FILE_RC, stderr="The argument '%s' to the -File parameter does "
                   "not exist. Provide the path to an existing '.ps1' file as an argument to the -File parameter." % path)
        return run
    text = data.decode("utf-8-sig", errors="replace")
    if not text.startswith(opscript.contract()["marker_prefix"]):
        return run
    rc, stdout, stderr = opscript.run_script(state, text)
    run.update(action="op_script", rc=rc, stderr=stderr.decode("utf-8"))
    run["output"] = json.loads(stdout) if rc == 0 else None
    return run


def _boot_and_run_startup_tasks(state: dict) -> None:
    model.boot(state)
    runs = []
    for task in sorted(state["scheduled_tasks"], key=_startup_order):
        if task["enabled"] and task["at_startup"]:
            runs.append(_run_startup_task(state, task))
    state["last_boot_runs"] = runs
