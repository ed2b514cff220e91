# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Another run holds the host lock: a planned batch does not wait for it on the host (its plan would be stale once the
other run changed the host); the controller waits with probes that hold the lock, then plans again."""

from __future__ import annotations

import copy
import types

import pytest

import probe_data as pd
from test_action_base import Toy, make

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _action

HOLDER = ("the host lock Global\\ecs_windows.task_iam is held by Ansible task ecs_windows.task_iam.agent (pid 4242, "
          "since 2026-01-05T07:12:09Z); waited %d s. Run again once it has finished")
LOCK_DOC = Toy.DOCUMENTATION + """  lock_timeout:
    description: l
    type: int
    default: 300
"""


class LockedToy(Toy):
    DOCUMENTATION = LOCK_DOC


CLOCK = [0.0]


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The controller's clock: a batch that waits for the lock on the host takes its wait_s."""
    CLOCK[0] = 0.0
    monkeypatch.setattr(_action, "time", types.SimpleNamespace(monotonic=lambda: CLOCK[0]))


class Host:
    """A host another run holds the lock of for `held` batches; when that run ends it has set TOY itself."""

    def __init__(self, held, other_sets="x"):
        self.facts = pd.configured()
        self.held = held
        self.other_sets = other_sets
        self.batches = []

    def __call__(self, batch):
        ops = [op["op"] for op in batch["ops"]]
        self.batches.append((ops, batch["lock"]))
        if batch["lock"] is not None and self.held:
            self.held -= 1
            wait = batch["lock"]["wait_s"]
            CLOCK[0] += wait + 0.25
            error = {"op": ops[0], "index": 0, "category": "locked", "message": HOLDER % wait}
            return 0, pd.response([], error), b""
        if batch["lock"] is not None and self.other_sets is not None:
            self.facts["machine_env"]["TOY"], self.other_sets = self.other_sets, None
        results = []
        for op in batch["ops"]:
            if op["op"] == "probe":
                results.append(("probe", copy.deepcopy(self.facts)))
            else:
                self.facts["machine_env"].update(op["args"]["set"])
                results.append(("set_machine_env", {"changed": sorted(op["args"]["set"])}))
        return 0, pd.response(results), b""


class Connection(pd.FakeConnection):
    def __init__(self, host):
        super().__init__(handler=None)
        self.host = host

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self.commands.append({"cmd": cmd, "in_data": in_data, "sudoable": sudoable})
        return self.host(pd.decode_batch(in_data))


def run(args, host, diff=False):
    action = make(LockedToy, args, Connection(host), diff=diff)
    action._progress = lambda text: host.batches.append(("progress", text))
    return action.run(task_vars={"inventory_hostname": "win-1"})


def test_a_planned_batch_takes_the_lock_without_waiting_and_plans_again_on_the_facts_after_the_other_run():
    host = Host(held=1, other_sets="x")
    result = run({"value": "x"}, host, diff=True)
    # The other run set TOY meanwhile: nothing left to do, and the result does not claim the stale plan's change.
    assert "failed" not in result and result["changed"] is False and result["changes"] == [], result
    assert "diff" not in result
    batches = [entry for entry in host.batches if entry[0] != "progress"]
    assert batches == [
        (["probe"], None),
        (["set_machine_env", "probe"], {"wait_s": _action.APPLY_LOCK_WAIT_S, "holder": "Ansible task ecs_windows.task_iam.test"}),
        (["probe"], {"wait_s": 30, "holder": "Ansible task ecs_windows.task_iam.test"}),
    ]
    progress = [text for kind, text in host.batches if kind == "progress"]
    assert progress == ["the host lock Global\\ecs_windows.task_iam is held by Ansible task ecs_windows.task_iam.agent "
                        "(pid 4242, since 2026-01-05T07:12:09Z); waiting for it: 0 s of lock_timeout 300 s"]
    assert result["commands"] == 3


def test_after_the_wait_the_new_plan_is_applied():
    host = Host(held=1, other_sets="other")
    result = run({"value": "x"}, host)
    assert result["changed"] is True and result["changes"] == ["set TOY (was different)"], result
    assert host.facts["machine_env"]["TOY"] == "x"


def test_a_lock_held_for_all_of_lock_timeout_fails_naming_the_holder():
    host = Host(held=99)
    result = run({"value": "x", "lock_timeout": 1}, host)
    assert result["failed"] is True and result["changed"] is False and result["category"] == "locked"
    assert result["msg"] == ("op set_machine_env failed on win-1 (locked): " + HOLDER % 1
                             + "; this task waited 1 s for it (lock_timeout 1 s)"), result["msg"]
    assert [lock["wait_s"] for ops, lock in host.batches if ops != "progress" and lock] == [0, 1]


def test_lock_timeout_zero_fails_at_once():
    host = Host(held=99)
    result = run({"value": "x", "lock_timeout": 0}, host)
    assert result["failed"] is True and result["commands"] == 2
    assert "held by Ansible task ecs_windows.task_iam.agent" in result["msg"]
