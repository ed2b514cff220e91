# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phased playbook runs for the configure modules' integration tests.

Each test module keeps one simulator with a host per story. A phase is ONE ansible-playbook run with one play
per host (stories advance in lock step), and the simulator's per-host counters tell each story's WinRM commands:

    phase = run_phase(sim, workdir, {
        "ecs-sim-001": [task("agent", {"cluster": "windows"}, check_mode=True, diff=True)],
        "ecs-sim-002": [task("agent", {"cluster": "x y"}, name="bad", ignore_errors=True)],
    })
    phase.result("ecs-sim-001")          # the result of the host's task named "agent" (the default name)
    phase.commands["ecs-sim-001"]        # WinRM commands the host received during the phase
    phase.states["ecs-sim-001"]          # `ctl state` after the phase (phase.before: before it)

`setup` and `reboot` put hosts in their starting state.

Task arguments travel as JSON (valid YAML), so no value is templated into the playbook text.
"""

from __future__ import annotations

import json
import time

from ecs_integration import run_playbook


def task(module, args, name=None, **keywords):
    """One task of ecs_windows.task_iam.<module> (or a full module name) with task keywords such as check_mode."""
    action = module if "." in module else "ecs_windows.task_iam." + module
    return {"name": name or module, action: args, **keywords}


def playbook_text(stories):
    plays = [{"name": "Story of %s" % host, "hosts": host, "gather_facts": False, "tasks": tasks} for host, tasks in stories.items()]
    return "\n".join("- %s" % json.dumps(play) for play in plays) + "\n"


class Phase:
    def __init__(self, run, before, states, commands):
        self.run = run
        self.before = before
        self.states = states
        self.commands = commands

    def result(self, host, name=None):
        """Result of the host's task `name` (default: the only task named like a module)."""
        found = [r for r in self.run.records if r["host"] == host and (name is None or r["task"] == name)]
        assert len(found) == 1, "expected one result of %r on %s, got %d\n%r" % (name, host, len(found), self.run)
        return found[0]["result"]

    def status(self, host, name=None):
        found = [r for r in self.run.records if r["host"] == host and (name is None or r["task"] == name)]
        assert len(found) == 1, "expected one result of %r on %s, got %d\n%r" % (name, host, len(found), self.run)
        return found[0]["status"]


def control(sim, verb, host=None, **kwargs):
    """What `ecs-windows-sim ctl` sends, over the simulator's control socket in-process (a ctl subprocess per host and
    phase costs seconds on a busy machine)."""
    from ecs_windows_sim import control as sim_control

    return sim_control.call(sim.state_dir, dict(kwargs, verb=verb, host=host))


def setup(sim, host, *pairs):
    """`ctl set HOST KEY=VALUE...` (in-process)."""
    return control(sim, "set", host, pairs=list(pairs))


def reboot(sim, host, downtime=0.5, startup_tasks=True):
    """`ctl reboot HOST --downtime S`, then wait until the host accepts WinRM again and (with startup_tasks) until its
    startup tasks, which Task Scheduler runs in the background after the boot, have finished."""
    control(sim, "reboot", host, downtime=downtime)
    deadline = time.monotonic() + downtime + 90
    while True:
        counters = control(sim, "counters", host)
        if counters.get("status") == "up" and not (startup_tasks and counters.get("boot_tasks_running")):
            return
        assert time.monotonic() < deadline, "simulated host %s did not come back (or its startup tasks did not end)" % host
        time.sleep(0.1)


def run_phase(sim, workdir, stories, **kwargs):
    """Run the stories' tasks as one playbook; counters are reset first so `commands` are this phase's."""
    before = {host: control(sim, "state", host) for host in stories}
    control(sim, "counters", reset=True)
    run = run_playbook(playbook_text(stories), sim.inventory, workdir, **kwargs)
    counters = control(sim, "counters")["hosts"]
    return Phase(run, before, {host: control(sim, "state", host) for host in stories},
                 {host: counters[host]["commands"] for host in stories})
