# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs at the same time through the wire: every command runs in its own thread (a long one blocks neither the host's
other commands nor other hosts), the host lock makes a second locked run wait and then fail naming the holder, and a
reboot ends the commands that were running."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sim_scripts import probe_args, winrm_ops, winrm_probe

HOLDER = "ansible-playbook configure.yml (ops@controller)"


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=3, scheme="http", auth="ntlm")


def wait_round(seconds):
    """The controller's registration wait round (wait_registered polls the agent for up to `seconds`)."""
    return ("wait_registered", {"cluster": "prod", "timeout_s": seconds, "interval_s": 1})


class Run:
    """A batch sent over WinRM from another thread (another Ansible run); its document, or the exception it met."""

    def __init__(self, sim, host, *calls, **pack_args):
        self.document = self.error = None
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, args=(sim, host, calls, pack_args), daemon=True)
        self.thread.start()

    def _run(self, sim, host, calls, pack_args):
        try:
            self.document = winrm_ops(sim, host, *calls, **pack_args)
        except Exception as exc:  # noqa: BLE001 - what the client saw is the result
            self.error = exc
        self.seconds = time.monotonic() - self.started

    def join(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive()
        return self


def wait_for_holder(sim, host, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        holder = sim.ctl("state", host)["mutex_holder"]
        if holder is not None:
            return holder
        assert time.monotonic() < deadline, "nobody took the host lock"
        time.sleep(0.05)


def test_a_second_locked_run_waits_then_fails_naming_the_holder(sim):
    host = sim.hosts[0]
    sim.ctl("set", host, "registration-delay=3", "init-agent=prod")
    first = Run(sim, host, wait_round(10), lock={"wait_s": 0, "holder": HOLDER})
    holder = wait_for_holder(sim, host)
    assert holder["holder"] == HOLDER

    # A read-only run takes no lock: it answers at once, and sees the agent not registered yet.
    started = time.monotonic()
    assert winrm_probe(sim, host, "none")["registration"]["container_instance_arn"] is None
    assert time.monotonic() - started < 2

    started = time.monotonic()
    document = winrm_ops(sim, host, ("set_machine_env", {"set": {"ECS_RESERVED_MEMORY": "256"}, "remove": []}),
                         lock={"wait_s": 1, "holder": "ansible-playbook recover.yml"})
    assert time.monotonic() - started >= 1
    assert document["results"] == [] and document["cache"] == "absent"
    assert document["error"] == {"op": "set_machine_env", "index": 0, "category": "locked", "message": (
        "the host lock Global\\ecs_windows.task_iam is held by %s (pid %d, since %s); waited 1 s. Run again once it "
        "has finished" % (HOLDER, holder["pid"], holder["since"]))}
    assert "ECS_RESERVED_MEMORY" not in sim.ctl("state", host)["machine_env"]

    # One that may wait long enough runs once the first has finished.
    waiting = Run(sim, host, ("set_machine_env", {"set": {"ECS_RESERVED_MEMORY": "256"}, "remove": []}),
                  lock={"wait_s": 20, "holder": "ansible-playbook recover.yml"})
    first.join()
    assert first.error is None and first.document["error"] is None
    registered = first.document["results"][0]["result"]
    assert registered["registered"] is True and 1.0 <= registered["waited_s"] <= 4.5
    waiting.join()
    assert waiting.error is None and waiting.document["error"] is None and waiting.seconds >= 0.5
    assert sim.ctl("state", host)["machine_env"]["ECS_RESERVED_MEMORY"] == "256"
    assert sim.ctl("state", host)["mutex_holder"] is None


def test_long_commands_run_side_by_side(sim):
    host, other = sim.hosts[1], sim.hosts[2]
    started = time.monotonic()
    runs = [Run(sim, host, wait_round(2)) for _ in range(3)]
    assert winrm_ops(sim, other, ("probe", probe_args("none")))["error"] is None
    assert time.monotonic() - started < 2  # another host is not held up
    for run in runs:
        run.join()
        assert run.error is None and run.document["results"][0]["result"]["registered"] is False
    assert time.monotonic() - started < 4.5  # three 2 s commands on one host, at the same time


def test_a_reboot_ends_the_commands_that_were_running(sim):
    host = sim.hosts[1]
    running = Run(sim, host, ("set_machine_env", {"set": {"ECS_INSTANCE_ATTRIBUTES": '{"x":"1"}'}, "remove": []}),
                  wait_round(3), lock={"wait_s": 0, "holder": HOLDER})
    wait_for_holder(sim, host)
    sim.ctl("reboot", host, "--downtime", "1")
    running.join()
    # The open connection was shut with the host (requests: the remote end closed it without a response).
    assert running.document is None and isinstance(running.error, requests.exceptions.ConnectionError), repr(running.error)
    deadline = time.monotonic() + 15
    while sim.counters(host)["status"] != "up" or sim.counters(host)["boot_tasks_running"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    state = sim.ctl("state", host)
    assert "ECS_INSTANCE_ATTRIBUTES" not in state["machine_env"]  # its change died with it
    assert state["mutex_holder"] is None  # and so did its hold on the lock
    assert winrm_ops(sim, host, ("probe", probe_args("none")), lock={"wait_s": 0, "holder": HOLDER})["error"] is None
