# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Playbook runs for the real-host robustness tests (test_robust_*.py): slow waits side by side, output timed.

A story is the tasks of one host. `stories_playbook` puts every story in ONE play with the `free` strategy, so each
host goes through its own tasks at its own pace and the waits of different hosts overlap (one play per host would
run them one after another). Every story task is wrapped in two set_fact tasks that note the wall clock, so
`TimedRun.elapsed(host, name)` tells how long the task took.

`run_timed` runs ansible-playbook with unbuffered output and notes when each line arrived, so a test can see the
progress lines of a wait as the user sees them (`TimedRun.lines_of(host)`) and the gaps between them.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import tempfile
import threading
import time

from ecs_integration import BIN, PlaybookRun, ansible_env


def task(module, args, name, **keywords):
    """A task of ecs_windows.task_iam.<module> (or a full module name); args travel as JSON."""
    action = module if "." in module else "ecs_windows.task_iam." + module
    return {"name": name, action: args, **keywords}


def stories_playbook(stories):
    """One play over the story hosts, strategy free; story tasks named '<host> <name>' and timed."""
    tasks = []
    for host, items in stories.items():
        for item in items:
            when = "inventory_hostname == %s" % json.dumps(host)
            tasks.append({"name": "%s start %s" % (host, item["name"]), "ansible.builtin.set_fact":
                          {"robust_started": "{{ now(utc=true).timestamp() }}"}, "when": when})
            tasks.append(dict(item, name="%s %s" % (host, item["name"]), when=when))
            tasks.append({"name": "%s end %s" % (host, item["name"]), "ansible.builtin.set_fact":
                          {"robust_ended": "{{ now(utc=true).timestamp() }}"}, "when": when})
    play = {"name": "Stories", "hosts": ",".join(stories), "gather_facts": False, "strategy": "free", "tasks": tasks}
    return "- %s\n" % json.dumps(play)


class TimedRun(PlaybookRun):
    def __init__(self, rc, stdout, stderr, records, lines, started, ended):
        super().__init__(rc, stdout, stderr, records)
        self.lines = lines  # [(wall clock seconds, text)]
        self.started = started
        self.ended = ended

    def story(self, host, name):
        """(status, result) of the story task `name` of `host`."""
        found = self.results("%s %s" % (host, name), host)
        assert len(found) == 1, "expected one result of %r on %s, got %d\n%r" % (name, host, len(found), self)
        return found[0]["status"], found[0]["result"]

    def elapsed(self, host, name):
        """Seconds the story task took (from the set_fact tasks around it)."""
        marks = []
        for mark, key in (("start", "robust_started"), ("end", "robust_ended")):
            found = self.results("%s %s %s" % (host, mark, name), host)
            assert len(found) == 1, "no %s mark of %r on %s\n%r" % (mark, name, host, self)
            marks.append(float(found[0]["result"]["ansible_facts"][key]))
        return marks[1] - marks[0]

    def lines_of(self, host, contains=""):
        """(seconds after the run started, text) of the output lines a host's action printed (`host: ...`)."""
        prefix = host + ": "
        return [(when - self.started, text) for when, text in self.lines if text.startswith(prefix) and contains in text]


def run_timed(playbook, inventory, workdir, *, extra_vars=(), limit=None, args=(), env=None, timeout=900):
    """ansible-playbook (a path, a collection playbook name or YAML text) with each output line timed."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if "\n" in str(playbook):
        path = pathlib.Path(tempfile.mkstemp(prefix="playbook-", suffix=".yml", dir=workdir)[1])
        path.write_text(playbook)
        playbook = path
    record = pathlib.Path(tempfile.mkstemp(prefix="results-", suffix=".jsonl", dir=workdir)[1])
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    for pair in extra_vars:
        command += ["-e", pair]
    if limit:
        command += ["--limit", limit]
    command += list(args)
    environment = ansible_env(workdir, dict(env or {}, ECS_RECORD_FILE=str(record), PYTHONUNBUFFERED="1"))
    started = time.time()
    process = subprocess.Popen(command, cwd=workdir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, bufsize=1)
    lines, errors = [], []

    def read_errors():
        errors.append(process.stderr.read())

    reader = threading.Thread(target=read_errors, daemon=True)
    reader.start()
    deadline = started + timeout
    for line in process.stdout:
        lines.append((time.time(), line.rstrip("\n")))
        if time.time() > deadline:
            process.kill()
            break
    process.wait(timeout=60)
    reader.join(timeout=60)
    ended = time.time()
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    stdout = "\n".join(text for _when, text in lines) + "\n"
    return TimedRun(process.returncode, stdout, "".join(errors), records, lines, started, ended)


def run_side_by_side(*runs):
    """Start several run_timed calls (functools.partial objects) at once; their TimedRuns in order."""
    out = [None] * len(runs)

    def one(index, run):
        out[index] = run()

    threads = [threading.Thread(target=one, args=(index, run), daemon=True) for index, run in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(run is not None for run in out), "a playbook run raised; see the test output"
    return out
