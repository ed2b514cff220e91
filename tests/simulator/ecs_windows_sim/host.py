"""A simulated Windows ECS container instance: its persisted state and what can happen to it.

The interface the protocol layer uses (docs: notes/sim-interface.md). Callers hold `lock` around calls.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import os
import pathlib
import re
import threading
import time

from . import agent_tasks, ecstools, endpoints, imds, model, opscript, presets, settings
from .ops._prelude import secure_boot_folder

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_FILE_ARG = re.compile(r'-File\s+(?:"([^"]+)"|(\S+))', re.IGNORECASE)
# powershell.exe's exit code when the -File argument does not exist (0xFFFD0000 as a signed int).
MISSING_FILE_RC = -196608
DEFAULT_REBOOT_DOWNTIME_S = 3.0  # as `ctl reboot`'s default --downtime


class Host:
    HOST_FAULTS: frozenset[str] = frozenset({"init-adapter-not-found", "init-hang", "docker-hang"})

    def __init__(self, name: str, state_dir: pathlib.Path, state: dict):
        self.name = name
        self.state_dir = pathlib.Path(state_dir)
        self.state = state
        self.lock = threading.RLock()
        # The collection's system-wide mutex (Global\ecs_windows.task_iam) and what holds it (its lock.json).
        self.mutex = threading.Lock()
        self.mutex_holder: dict | None = None
        self.boot_tasks_running = threading.Event()
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
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        # The state holds the host's Machine environment (which may carry secrets): owner-only, as the state dir.
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
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

    def run_transport(self, transport: opscript.Transport) -> tuple[int, bytes, bytes]:
        """A command of the loader: the code sent, or the library the host has cached (verified by its sha256, as
        bootstrap.ps1 does), run with the batch; a miss answers {"cache": "miss"} and runs nothing."""
        path = "%s\\%s.ps1" % (CACHE_DIR, transport.library_hash)
        with self.lock:
            cached = model.read_file(self.state, path) if re.fullmatch(r"[0-9a-f]{64}", transport.library_hash) else None
        if cached is not None and hashlib.sha256(cached).hexdigest() != transport.library_hash:
            cached = None  # a damaged or altered copy is neither run nor kept (the store replaces it)
        state = "absent" if cached is None else "present"
        code = transport.code
        if code is None and cached is not None:
            state = "hit"
            code = cached.decode("utf-8")
        if code is None:
            return opscript.output({"contract": opscript.contract()["contract"], "cache": "miss", "results": [], "error": None})
        library = (transport.library_hash, transport.library) if transport.library is not None else None
        return self.run_ops_script(opscript.with_batch(code, transport.batch), cache=state, library=library)

    def run_ops_script(self, script: str, cache: str | None = None, library: tuple | None = None) -> tuple[int, bytes, bytes]:
        """An op-contract script (marker first line) -> rc, stdout, stderr.

        A batch with a lock first takes the host's mutex, waiting at most its wait_s, as Invoke-EcsBatch does. Ops
        run on a copy of the state without holding the host lock (so that an op may take real time: a hang, a
        registration delay) and the copy replaces the state when they end if they changed it, unless the host
        rebooted meanwhile (the command died with it, and so did its hold on the mutex)."""
        try:
            batch = opscript.parse_script(script)
        except opscript.ScriptRefused as exc:
            return opscript.refused(exc)
        with self.lock:
            boot_id = self.state["boot_id"]
        mutex, locked = self.mutex, False
        if batch.lock is not None:
            locked = mutex.acquire(timeout=batch.lock["wait_s"])
            if not locked:
                return opscript.output(opscript.run_calls(None, batch.calls, self._locked_error(batch), cache=cache))
            if mutex is self.mutex:
                self.mutex_holder = {"holder": batch.lock["holder"], "pid": 4000 + threading.get_ident() % 1000,
                                     "since": model.now(self.state).strftime("%Y-%m-%dT%H:%M:%SZ")}
        try:
            with self.lock:
                before = copy.deepcopy(self.state)
            work = copy.deepcopy(before)
            if locked:  # Enter-EcsHostLock: the record of the holder, in the secured boot folder
                secure_boot_folder(work)
                model.write_file(work, model.LOCK_INFO_PATH, json.dumps(self.mutex_holder).encode("utf-8"))
            document = opscript.run_calls(work, batch.calls, cache=cache)
            if batch.store and library is not None and cache not in ("hit", "present"):
                document["cache"] = _store_library(work, *library)
            with self.lock:
                # Unchanged (a probe): nothing to write, and writing would undo what others changed meanwhile.
                if self.state["boot_id"] == boot_id == work["boot_id"] and work != before:
                    self.state = work
                    self.save()
            return opscript.output(document)
        finally:
            if locked:
                if mutex is self.mutex:
                    self.mutex_holder = None
                mutex.release()

    def _locked_error(self, batch: opscript.Batch) -> dict:
        holder = self.mutex_holder
        who = "a run that left no record" if holder is None else "%s (pid %s, since %s)" % (
            holder["holder"], holder["pid"], holder["since"])
        return {"op": batch.calls[0][0], "index": 0, "category": "locked",
                "message": "the host lock Global\\ecs_windows.task_iam is held by %s; waited %s s. Run again once it "
                           "has finished" % (who, batch.lock["wait_s"])}

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
            state["pending_shutdown"] = {"requested": model.now(state).strftime("%Y-%m-%dT%H:%M:%SZ"), "delay_s": delay_s}
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

    def reboot(self, run_startup_tasks: bool = True) -> None:
        """Shutdown + boot (model.boot), then (unless the caller runs them itself, as the server does after WinRM
        listens again) the enabled AtStartup tasks by their recorded action. The mutex of a batch that was running is
        gone with its process."""
        self._change(_boot)
        self.mutex, self.mutex_holder = threading.Lock(), None
        if run_startup_tasks:
            self.run_startup_tasks()

    def start_startup_tasks(self) -> threading.Thread:
        """The startup tasks in the background, as Task Scheduler runs them while the rest of Windows comes up."""
        self.boot_tasks_running.set()
        thread = threading.Thread(target=self.run_startup_tasks, name="%s-startup-tasks" % self.name, daemon=True)
        thread.start()
        return thread

    def run_startup_tasks(self) -> None:
        self.boot_tasks_running.set()
        try:
            with self.lock:
                tasks = [copy.deepcopy(t) for t in sorted(self.state["scheduled_tasks"], key=_startup_order)
                         if t["enabled"] and t["at_startup"]]
            runs = [self._run_startup_task(task) for task in tasks]
            self._change(lambda state: state.__setitem__("last_boot_runs", runs))
        finally:
            self.boot_tasks_running.clear()

    def _run_startup_task(self, task: dict) -> dict:
        """A startup task by its action: ECSTools' reboot task is modelled by its timing (ecstools.reboot_task_view);
        `PowerShell.exe ... -File "<path>"` of an op script runs like a WinRM command; anything else is ignored."""
        run = {"task": task["path"] + task["name"], "action": "ignored", "rc": None, "output": None, "stderr": ""}
        if task["arguments"] == ecstools.REBOOT_TASK_ARGUMENTS:
            run["action"] = "noop"
            return run
        match = _FILE_ARG.search(task["arguments"] or "")
        if not task["execute"].lower().endswith(("powershell.exe", "powershell")) or match is None:
            return run
        delay = _seconds(task.get("delay"))
        if delay:
            time.sleep(delay)
        path = match.group(1) or match.group(2)
        with self.lock:
            data = model.read_file(self.state, path)
        if data is None:
            run.update(action="missing_file", rc=MISSING_FILE_RC, stderr="The argument '%s' to the -File parameter does "
                       "not exist. Provide the path to an existing '.ps1' file as an argument to the -File parameter." % path)
        else:
            text = data.decode("utf-8-sig", errors="replace")
            if text.startswith(opscript.contract()["marker_prefix"]):
                rc, stdout, stderr = self.run_ops_script(text)
                run.update(action="op_script", rc=rc, stderr=stderr.decode("utf-8"))
                run["output"] = json.loads(stdout) if rc == 0 else None
        self._change(lambda state: _record_task_run(state, task, run["rc"]))
        return run

    def apply_setting(self, key: str, value: str) -> None:
        self._change(lambda state: settings.apply_setting(state, key, value))

    def inject_fault(self, kind: str, count: int, container: str | None = None) -> None:
        """A host fault for the next `count` times it can happen; docker-hang optionally for one container (by
        name) only, else docker itself stops answering."""
        if kind not in self.HOST_FAULTS:
            raise ValueError("unknown host fault %r (known: %s)" % (kind, ", ".join(sorted(self.HOST_FAULTS))))
        if count < 0:
            raise ValueError("fault count must be 0 or more, got %d" % count)
        if container is not None and kind != "docker-hang":
            raise ValueError("--container applies only to the docker-hang fault")

        def add(state):
            state["pending_faults"][kind] = count
            if kind == "docker-hang":
                state["docker_hang_container"] = container

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
            snap["boot_tasks_running"] = self.boot_tasks_running.is_set()
            snap["mutex_holder"] = self.mutex_holder
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


CACHE_DIR = model.BOOT_DIR + "\\cache"


def _store_library(state: dict, library_hash: str, text: str) -> str:
    """Save-EcsLibrary: the library under its sha256 in the secured boot folder, replacing older ones."""
    data = text.encode("utf-8")
    if hashlib.sha256(data).hexdigest() != library_hash:
        return "absent"
    secure_boot_folder(state)
    model.make_dir(state, CACHE_DIR)
    for entry in list(state["files"].values()):
        if entry["path"].lower().startswith(CACHE_DIR.lower() + "\\"):
            model.remove_path(state, entry["path"], recurse=False)
    model.write_file(state, "%s\\%s.ps1" % (CACHE_DIR, library_hash), data)
    return "stored"


def _startup_order(task: dict) -> bool:
    return not (task["path"] == ecstools.REBOOT_TASK["path"] and task["name"] == ecstools.REBOOT_TASK["name"])


def _seconds(duration: str | None) -> float:
    match = re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+)S)?", duration or "")
    return 0.0 if not match else int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def _boot(state: dict) -> None:
    model.boot(state)
    task = ecstools.reboot_task(state)
    if task is not None:
        # Its last run (if any) is now before this boot; it fires again ecstools-boot-delay seconds after the boot.
        if state.get("ecstools_boot_ran_at"):
            task["last_run_time"], task["last_result"] = state["ecstools_boot_ran_at"], 0
        fires = model.now(state) + datetime.timedelta(seconds=state.get("ecstools_boot_delay_s", 0))
        state["ecstools_boot_ran_at"] = fires.strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_task_run(state: dict, task: dict, rc: int | None) -> None:
    for entry in state["scheduled_tasks"]:
        if entry["path"].lower() == task["path"].lower() and entry["name"].lower() == task["name"].lower():
            entry["last_run_time"] = model.now(state).strftime("%Y-%m-%dT%H:%M:%SZ")
            entry["last_result"] = 0 if rc is None else rc
