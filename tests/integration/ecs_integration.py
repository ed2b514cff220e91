# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for integration tests: simulator hosts (via the `ecs-windows-sim` CLI) and real ansible-playbook runs.

    sim = Simulator.start(tmp_path / "sim", hosts=3)
    sim.ctl("set", "ecs-sim-002", "init-agent=windows")
    run = run_playbook(PLAYBOOK_TEXT, sim.inventory, workdir=tmp_path)
    assert run.rc == 0
    facts = run.result("ecs-sim-001", "Read the instance")      # the task's result dict
    assert sim.commands("ecs-sim-001") == 1                      # WinRM commands since the last reset_counters()

The conftest.py next to this file exposes them as fixtures (`sim_factory`, `playbook`).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
BIN = pathlib.Path(sys.executable).parent
SIM = [str(BIN / "ecs-windows-sim")]
CALLBACK_DIR = HERE / "callback_plugins"
ACTION_DIR = HERE / "action_plugins"

sys.path.insert(0, str(ROOT / "tests"))
from collection_path import collections_root  # noqa: E402  pylint: disable=wrong-import-position


class Simulator:
    """A simulator started with `ecs-windows-sim serve --background`, controlled with `ecs-windows-sim ctl`."""

    def __init__(self, state_dir, ready_line):
        self.state_dir = pathlib.Path(state_dir)
        self.ready_line = ready_line
        self.pid = int(ready_line.rsplit("pid", 1)[1].strip())
        self.inventory = self.state_dir / "inventory.yml"
        group = yaml.safe_load(self.inventory.read_text())["all"]["children"]["windows_ecs"]
        self.hosts = list(group["hosts"])
        self.host_vars = group["hosts"]
        self.vars = group["vars"]

    @classmethod
    def start(cls, state_dir, hosts=1, preset=None, scheme=None, auth=None, extra=()):
        args = ["serve", "--state-dir", str(state_dir), "--hosts", str(hosts), "--background"]
        for flag, value in (("--preset", preset), ("--scheme", scheme), ("--auth", auth)):
            if value:
                args += [flag, value]
        done = subprocess.run(SIM + args + list(extra), capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0 or "ready" not in done.stdout:
            raise RuntimeError("ecs-windows-sim serve failed (rc %s): %s %s" % (done.returncode, done.stdout, done.stderr))
        return cls(state_dir, done.stdout.strip().splitlines()[-1])

    def ctl_run(self, *args, timeout=60):
        return subprocess.run(SIM + ["ctl", "--state-dir", str(self.state_dir)] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def ctl(self, *args):
        """Parsed JSON answer of `ecs-windows-sim ctl ARGS` (fails the test on rc != 0)."""
        done = self.ctl_run(*args)
        if done.returncode != 0:
            raise AssertionError("ecs-windows-sim ctl %s failed: %s %s" % (" ".join(map(str, args)), done.stdout, done.stderr))
        return json.loads(done.stdout) if done.stdout.strip() else None

    def set(self, host, *settings):
        return self.ctl("set", host, *settings)

    def state(self, host):
        return self.ctl("state", host)

    def counters(self, host=None):
        return self.ctl("counters", *([host] if host else []))

    def reset_counters(self):
        return self.ctl("counters", "--reset")

    def commands(self, host):
        """WinRM commands the host received since the last reset_counters()."""
        return self.counters(host)["commands"] if host else None

    def reboot(self, host, downtime=1.0, wait=True):
        answer = self.ctl("reboot", host, "--downtime", downtime)
        if wait:
            self.wait_up(host, timeout=downtime + 60)
        return answer

    def wait_up(self, host, timeout=60.0, startup_tasks=True):
        """Until the host accepts WinRM again and (startup_tasks) the startup tasks Task Scheduler runs in the
        background after the boot (the collection's boot repair, after its delay) have finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counters = self.counters(host)
            if counters.get("status") == "up" and not (startup_tasks and counters.get("boot_tasks_running")):
                return
            time.sleep(0.2)
        raise AssertionError("simulated host %s did not come back (or its startup tasks did not end) within %s s" % (host, timeout))

    def stop(self):
        done = self.ctl_run("stop", timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.1)
        if _alive(self.pid):
            os.kill(self.pid, 9)
        return done.returncode


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (the daemon was our grandchild, reaped by init) counts as gone.
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class PlaybookRun:
    """Outcome of one ansible-playbook run: rc, stdout, stderr and the recorded task results."""

    def __init__(self, rc, stdout, stderr, records):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.records = records

    def __repr__(self):
        return "PlaybookRun(rc=%s)\n--- stdout ---\n%s\n--- stderr ---\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])

    def results(self, task=None, host=None):
        return [r for r in self.records if (task is None or r["task"] == task) and (host is None or r["host"] == host)]

    def result(self, host, task):
        """The result dict of `task` on `host` (exactly one must exist)."""
        found = self.results(task, host)
        assert len(found) == 1, "expected one result of %r on %s, got %d\n%r" % (task, host, len(found), self)
        return found[0]["result"]

    def status(self, host, task):
        found = self.results(task, host)
        assert len(found) == 1, "expected one result of %r on %s, got %d\n%r" % (task, host, len(found), self)
        return found[0]["status"]


def ansible_env(workdir, extra=None):
    """Environment for ansible-* commands: the venv first on PATH, this checkout as the collection."""
    env = dict(os.environ)
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
        ANSIBLE_COLLECTIONS_PATH=str(collections_root()),
        ANSIBLE_HOME=str(pathlib.Path(workdir) / ".ansible"),
        ANSIBLE_LOCAL_TEMP=str(pathlib.Path(workdir) / ".ansible" / "tmp"),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_DIR),
        ANSIBLE_CALLBACKS_ENABLED="ecs_record",
        ANSIBLE_ACTION_PLUGINS=str(ACTION_DIR),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    env.pop("ANSIBLE_CONFIG", None)
    env.update(extra or {})
    return env


def run_playbook(playbook, inventory, workdir, *, extra_vars=None, check=False, diff=False, limit=None,
                 verbosity=0, args=(), env=None, timeout=600):
    """Run ansible-playbook (a path, or YAML text written to workdir) and return a PlaybookRun."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(playbook, str) and "\n" in playbook:
        path = pathlib.Path(tempfile.mkstemp(prefix="playbook-", suffix=".yml", dir=workdir)[1])
        path.write_text(playbook)
        playbook = path
    record = pathlib.Path(tempfile.mkstemp(prefix="results-", suffix=".jsonl", dir=workdir)[1])
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if limit:
        command += ["--limit", limit]
    if verbosity:
        command.append("-" + "v" * verbosity)
    command += list(args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir, check=False,
                          env=ansible_env(workdir, dict(env or {}, ECS_RECORD_FILE=str(record))))
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return PlaybookRun(done.returncode, done.stdout, done.stderr, records)
