# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batches running at the same time on one Host: the host lock (the collection's mutex Global\\ecs_windows.task_iam),
batches that take real time without blocking others, and a reboot ending what was running."""

from __future__ import annotations

import re
import threading
import time

import pytest
from ecs_windows_sim import model
from sim_scripts import new_host, probe_args, run

HOLDER = "ansible-playbook configure.yml (ops@controller)"
SET_X = ("set_machine_env", {"set": {"ECS_INSTANCE_ATTRIBUTES": '{"x":"1"}'}, "remove": []})
PROBE = ("probe", probe_args("none"))
LOCKED = re.compile(r"the host lock Global\\ecs_windows\.task_iam is held by (?P<who>.+) \(pid \d+, since "
                    r"(?P<since>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\); waited (?P<waited>\d+) s\. Run again once it has "
                    r"finished")


def long_batch(seconds=2):
    """A batch that takes `seconds` of real time on a host without an agent: wait_registered's round runs out."""
    return ("wait_registered", {"cluster": "prod", "timeout_s": seconds, "interval_s": 1})


class Background:
    """A batch run in another thread (another WinRM command), its document once it ends."""

    def __init__(self, host, *calls, lock=None):
        self.document = None
        self.thread = threading.Thread(target=self._run, args=(host, calls, lock), daemon=True)
        self.thread.start()

    def _run(self, host, calls, lock):
        self.document = run(host, *calls, lock=lock)

    def join(self):
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        return self.document


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.fixture
def host(tmp_path):
    return new_host(tmp_path)


def test_a_locked_batch_waits_for_the_holder_then_fails_naming_it(host):
    first = Background(host, SET_X, long_batch(2), lock={"wait_s": 0, "holder": HOLDER})
    wait_for(lambda: host.mutex_holder is not None)
    holder = host.snapshot()["mutex_holder"]
    assert holder["holder"] == HOLDER and set(holder) == {"holder", "pid", "since"}

    started = time.monotonic()
    second = run(host, ("set_machine_env", {"set": {"ECS_RESERVED_MEMORY": "256"}, "remove": []}), PROBE,
                 lock={"wait_s": 1, "holder": "another run"})
    assert time.monotonic() - started >= 1.0  # it waited wait_s
    assert second["results"] == [] and second["cache"] is None
    error = second["error"]
    assert (error["op"], error["index"], error["category"]) == ("set_machine_env", 0, "locked")
    match = LOCKED.fullmatch(error["message"])
    assert match and (match["who"], match["since"], match["waited"]) == (HOLDER, holder["since"], "1"), error["message"]
    assert model.env_get(host.state, "ECS_RESERVED_MEMORY") is None  # none of its ops ran

    assert first.join()["error"] is None
    assert host.mutex_holder is None and host.snapshot()["mutex_holder"] is None
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") == '{"x":"1"}'


def test_a_locked_batch_that_may_wait_long_enough_runs_after_the_holder(host):
    first = Background(host, long_batch(1), lock={"wait_s": 0, "holder": HOLDER})
    wait_for(lambda: host.mutex_holder is not None)
    started = time.monotonic()
    second = run(host, SET_X, lock={"wait_s": 10, "holder": "the boot task"})
    waited = time.monotonic() - started
    assert second["error"] is None and 0.5 < waited < 4
    assert first.join()["error"] is None and first.thread.is_alive() is False
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") == '{"x":"1"}'


def test_unlocked_batches_do_not_wait_for_the_lock_or_for_each_other(host):
    first = Background(host, long_batch(2), lock={"wait_s": 0, "holder": HOLDER})
    slow = Background(host, long_batch(2))
    wait_for(lambda: host.mutex_holder is not None)
    started = time.monotonic()
    document = run(host, PROBE, SET_X)
    assert time.monotonic() - started < 1.5 and document["error"] is None
    assert first.thread.is_alive() and slow.thread.is_alive()
    assert first.join()["error"] is None and slow.join()["error"] is None


def test_a_batch_that_ran_meanwhile_does_not_undo_what_another_changed(host):
    """A read-only probe that started before a change and ended after it leaves the change in place."""
    host.apply_setting("probe-latency", "host:1000")
    slow_probe = Background(host, PROBE)
    time.sleep(0.3)
    assert run(host, SET_X)["error"] is None
    assert slow_probe.join()["error"] is None
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") == '{"x":"1"}'


def test_a_reboot_ends_the_batches_that_were_running_or_waiting(host):
    batch = Background(host, SET_X, long_batch(1))
    time.sleep(0.3)
    boot_id = host.state["boot_id"]
    host.reboot()
    batch.join()
    assert host.state["boot_id"] > boot_id
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") is None  # its change died with it


def test_a_batch_waiting_for_the_lock_dies_with_a_reboot(host):
    holder = Background(host, long_batch(1), lock={"wait_s": 0, "holder": HOLDER})
    wait_for(lambda: host.mutex_holder is not None)
    waiting = Background(host, SET_X, lock={"wait_s": 10, "holder": "second"})
    time.sleep(0.2)
    host.reboot()
    holder.join()
    waiting.join()
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") is None


def test_the_lock_does_not_survive_a_reboot(host):
    """The mutex belongs to the processes that hold it: after a boot nobody does."""
    holder = Background(host, SET_X, long_batch(2), lock={"wait_s": 0, "holder": HOLDER})
    wait_for(lambda: host.mutex_holder is not None)
    host.reboot()
    assert host.snapshot()["mutex_holder"] is None
    started = time.monotonic()
    document = run(host, PROBE, lock={"wait_s": 5, "holder": "the boot task"})
    assert document["error"] is None and time.monotonic() - started < 1.0
    holder.join()
    assert model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES") is None
    # The old holder ending does not release the lock of whoever holds it now.
    again = Background(host, long_batch(1), lock={"wait_s": 0, "holder": "after the boot"})
    wait_for(lambda: host.mutex_holder is not None)
    assert host.snapshot()["mutex_holder"]["holder"] == "after the boot"
    assert again.join()["error"] is None
