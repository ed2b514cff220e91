"""Shared fixtures: a real `ecs-windows-sim serve` subprocess on a temporary state dir.

    def test_x(sim_factory):
        sim = sim_factory(hosts=2, scheme="http", auth="ntlm")
        sim.session("ecs-sim-001").run_ps(...)          # pywinrm.Session
        sim.ctl("counters", "ecs-sim-001")              # parsed JSON of `ecs-windows-sim ctl ...`
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest
import yaml

SIM_COMMAND = [sys.executable, "-m", "ecs_windows_sim.cli"]
READY_TIMEOUT = 60


class SimProcess:
    """A running `ecs-windows-sim serve` and helpers to talk to it."""

    def __init__(self, state_dir: pathlib.Path, *, hosts=1, scheme="https", auth="basic", preset=None, extra=()):
        self.state_dir = pathlib.Path(state_dir)
        args = ["serve", "--state-dir", str(self.state_dir), "--hosts", str(hosts), "--scheme", scheme, "--auth", auth]
        if preset:
            args += ["--preset", preset]
        self.proc = subprocess.Popen(SIM_COMMAND + args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.ready_line = self.proc.stdout.readline().decode()
        if not self.ready_line.startswith("ecs-windows-sim ready"):
            self.proc.kill()
            raise RuntimeError("simulator did not start: %s %s" % (self.ready_line, self.proc.stderr.read().decode()))
        self.reload_inventory()

    def reload_inventory(self):
        self.inventory = yaml.safe_load((self.state_dir / "inventory.yml").read_text())
        group = self.inventory["all"]["children"]["windows_ecs"]
        self.hosts = list(group["hosts"])
        self.vars = group["vars"]

    def port(self, host: str | None = None) -> int:
        return self.inventory["all"]["children"]["windows_ecs"]["hosts"][host or self.hosts[0]]["ansible_port"]

    def url(self, host: str | None = None) -> str:
        return "%s://127.0.0.1:%d/wsman" % (self.vars["ansible_winrm_scheme"], self.port(host))

    def _winrm_kwargs(self, password, **kwargs):
        kwargs.setdefault("server_cert_validation", "ignore")
        kwargs.setdefault("transport", self.vars["ansible_winrm_transport"])
        return dict(kwargs, username=self.vars["ansible_user"], password=self.vars["ansible_password"] if password is None else password)

    def session(self, host: str | None = None, password: str | None = None, **kwargs):
        import winrm

        kw = self._winrm_kwargs(password, **kwargs)
        return winrm.Session(self.url(host), auth=(kw.pop("username"), kw.pop("password")), **kw)

    def protocol(self, host: str | None = None, password: str | None = None, **kwargs):
        import winrm

        kwargs.setdefault("operation_timeout_sec", 10)
        kwargs.setdefault("read_timeout_sec", 15)
        return winrm.Protocol(self.url(host), **self._winrm_kwargs(password, **kwargs))

    def ctl_run(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run(SIM_COMMAND + ["ctl", "--state-dir", str(self.state_dir)] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=60)

    def ctl(self, *args):
        """Parsed JSON output of a successful `ctl` call (asserts rc 0)."""
        done = self.ctl_run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def control(self, verb: str, host: str | None = None, **kwargs):
        """One control-socket request (what `ctl` sends), in-process: faster than a `ctl` subprocess."""
        from ecs_windows_sim import control

        return control.call(self.state_dir, dict(kwargs, verb=verb, host=host))

    def counters(self, host: str | None = None) -> dict:
        return self.control("counters", host or self.hosts[0])

    def stop(self) -> int:
        """SIGTERM; the exit code (0 = clean)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


@pytest.fixture
def sim_factory(tmp_path):
    started = []

    def start(state_dir=None, **kwargs) -> SimProcess:
        sim = SimProcess(state_dir or tmp_path / ("state%d" % len(started)), **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        assert sim.stop() == 0, "serve did not exit cleanly on SIGTERM"


@pytest.fixture(scope="module")
def module_sim_factory(tmp_path_factory):
    started = []

    def start(**kwargs) -> SimProcess:
        sim = SimProcess(tmp_path_factory.mktemp("sim"), **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        assert sim.stop() == 0, "serve did not exit cleanly on SIGTERM"


@pytest.fixture
def sleeps(monkeypatch):
    """The host's real waits (ops._prelude.sleep: hangs, stuck services, slow sections) recorded instead of slept, for
    in-process tests of waits that last tens of seconds; the list of seconds each would have taken."""
    from ecs_windows_sim.ops import _prelude

    waited = []
    monkeypatch.setattr(_prelude, "sleep", lambda seconds: waited.append(seconds) if seconds > 0 else None)
    return waited


def pytest_configure(config):
    # ansible-playbook and the helper venv live next to the interpreter running the tests.
    os.environ["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")])
