#!/usr/bin/env python3
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: cost of the playbooks per host and wall time over simulated fleets.

For each fleet size N it starts `ecs-windows-sim serve --hosts N` (HTTPS, NTLM, like a real fleet), runs
`configure --check --diff` and `configure` twice (first run on fresh ECS-optimized instances, then the idempotent
second run), `verify`, `recover` on the healthy fleet and again after rebooting every host (configured without the
boot-time repair, so recover repairs them), and reads the simulator's per-host counters after each: WinRM commands (round trips), HTTP
requests and bytes. Then it runs `verify` over the largest fleet with several fork counts, and finally
`verify` at scale: 1,000 fresh (so all unhealthy) hosts, forks 50, twice (the first contact, when the hosts do not
have the op library yet, then again with it cached), with the wall time of every step of the playbook (the bench_steps callback next to this file), which shows whether any step grows faster than the fleet.

    .venv/bin/python tests/bench/bench.py                      # N = 10, 50, 100; forks 25
    .venv/bin/python tests/bench/bench.py --sizes 10 --forks 10 --fork-sweep 5,10
    .venv/bin/python tests/bench/bench.py --scale-only --scale-size 1000 --scale-forks 50   # verify at scale only
    .venv/bin/python tests/bench/bench.py --sizes 10 --probe-latency services:800 --probe-latency containers:1500

Results: a Markdown summary on stdout (docs/benchmarks.md holds a recorded run) and
tests/output/bench/results.json. Everything runs on this machine, so the simulator and ansible-playbook
share its CPUs: wall times are an upper bound of what the controller alone needs.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
OUT = REPO / "tests" / "output" / "bench"
sys.path.insert(0, str(REPO / "tests" / "integration"))
from ecs_integration import Simulator  # noqa: E402  pylint: disable=wrong-import-position


def environment():
    env = dict(os.environ)
    env["PATH"] = "%s%s%s" % (BIN, os.pathsep, env.get("PATH", ""))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".venv" / "collections"))
    env.setdefault("ANSIBLE_HOME", str(REPO / ".ansible"))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_HOST_KEY_CHECKING="0")
    return env


class Fleet:
    def __init__(self, size, env):
        self.env = env
        self.state_dir = pathlib.Path(tempfile.mkdtemp(prefix="ecs-bench-"))
        self.sim = Simulator.start(self.state_dir, hosts=size)
        # Without the boot-time repair, so that recover has proxies to repair after the reboot.
        (self.state_dir / "vars.yml").write_text("windows_ecs:\n  vars:\n    container_instance_cluster: bench\n"
                                                 "    container_instance_on_boot: false\n")

    def counters(self):
        """Per-host counters since the last call (then reset)."""
        return self.sim.reset_counters()["hosts"]

    def playbook(self, name, forks, log, expect_rc=0, extra=()):
        cmd = [str(BIN / "ansible-playbook"), "ecs_windows.task_iam.%s" % name, "-i", str(self.sim.inventory),
               "-i", str(self.state_dir / "vars.yml"), "-f", str(forks), "-e", "task_iam_report_dir=%s" % self.state_dir]
        cmd += list(extra)
        began = time.monotonic()
        with open(log, "w") as stream:
            done = subprocess.run(cmd, env=self.env, stdout=stream, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - began
        if done.returncode != expect_rc:
            raise SystemExit("%s exited %d; output in %s" % (" ".join(cmd), done.returncode, log))
        return seconds

    def reboot_all(self):
        names = list(self.counters())
        for name in names:
            self.sim.reboot(name, downtime=0.2, wait=False)
        for name in names:
            self.sim.wait_up(name)
        self.counters()

    def stop(self):
        self.sim.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def per_host(counters):
    hosts = list(counters.values())

    def stats(key):
        values = [h[key] for h in hosts]
        return {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}

    return {key: stats(key) for key in ("commands", "http_requests", "bytes_in", "bytes_out")}


def measure(size, forks, env, probe_latency=()):
    fleet = Fleet(size, env)
    try:
        for name in fleet.counters():
            for setting in probe_latency:  # a slow host: SECTION:MS added to that probe section, on every host
                fleet.sim.set(name, "probe-latency=%s" % setting)
        runs = {}
        # (label, playbook, extra arguments, reboot the fleet first); recover ends with its verify.
        stages = (("configure --check --diff (fresh)", "configure", ["--check", "--diff"], False),
                  ("configure (first run)", "configure", [], False),
                  ("configure (second run)", "configure", [], False),
                  ("verify", "verify", [], False),
                  ("recover (healthy fleet)", "recover", [], False),
                  ("recover (after a reboot)", "recover", [], True))
        for label, playbook, extra, reboot in stages:
            if reboot:
                fleet.reboot_all()
            log = OUT / ("%s-%d-%s.log" % (playbook, size, len(runs)))
            seconds = fleet.playbook(playbook, forks, log, extra=extra)
            runs[label] = {"wall_s": round(seconds, 2), "per_host": per_host(fleet.counters())}
            print("  N=%-4d %-34s %6.1f s  %.1f WinRM commands/host" % (
                size, label, seconds, runs[label]["per_host"]["commands"]["mean"]), flush=True)
        return runs
    finally:
        fleet.stop()


def fork_sweep(size, forks_list, env):
    fleet = Fleet(size, env)
    try:
        fleet.playbook("configure", max(forks_list), OUT / ("sweep-configure-%d.log" % size))
        results = {}
        for forks in forks_list:
            seconds = fleet.playbook("verify", forks, OUT / ("sweep-verify-%d-f%d.log" % (size, forks)))
            results[forks] = round(seconds, 2)
            print("  N=%-4d verify -f %-3d %6.1f s" % (size, forks, seconds), flush=True)
        return results
    finally:
        fleet.stop()


STEPS_CALLBACK_DIR = pathlib.Path(__file__).resolve().parent / "callback_plugins"


def verify_at_scale(size, forks, env):
    """verify twice over `size` fresh (all unhealthy) hosts: the first contact (the hosts do not have the op library
    yet: 2 commands each) and again (the library cached by the first run: 1 command each). Wall time, time of each
    step and commands per host of both runs."""
    began = time.monotonic()
    fleet = Fleet(size, env)
    started_s = time.monotonic() - began
    try:
        fleet.counters()
        runs = {}
        for label in ("first contact", "again"):
            steps_file = OUT / ("verify-scale-%d-%s-steps.json" % (size, label.replace(" ", "-")))
            steps_file.unlink(missing_ok=True)
            fleet.env = dict(env, ANSIBLE_CALLBACK_PLUGINS=str(STEPS_CALLBACK_DIR),
                             ANSIBLE_CALLBACKS_ENABLED="bench_steps", BENCH_STEPS_FILE=str(steps_file))
            load_before = os.getloadavg()
            controller_cpu, simulator_cpu = children_cpu_s(), process_cpu_s(fleet.sim.pid)
            seconds = fleet.playbook("verify", forks, OUT / ("verify-scale-%d-%s.log" % (size, label.replace(" ", "-"))),
                                     expect_rc=2)
            steps = json.loads(steps_file.read_text())
            run = {"wall_s": round(seconds, 2), "load_before": [round(v, 2) for v in load_before],
                   "cpu_s": {"ansible-playbook": round(children_cpu_s() - controller_cpu, 1),
                             "simulator": round(process_cpu_s(fleet.sim.pid) - simulator_cpu, 1)},
                   "per_host": per_host(fleet.counters()),
                   "steps": [{"task": s["task"], "seconds": s["seconds"], "hosts": s["hosts"]} for s in steps["steps"]]}
            runs[label] = run
            print("  N=%-4d verify -f %-3d %-13s %6.1f s, %.1f WinRM commands/host, CPU s %s (load before: %s)"
                  % (size, forks, label, seconds, run["per_host"]["commands"]["mean"], run["cpu_s"], run["load_before"]),
                  flush=True)
            for step in run["steps"]:
                print("    %7.2f s  %s" % (step["seconds"], step["task"]), flush=True)
        return {"size": size, "forks": forks, "simulator_start_s": round(started_s, 1), "runs": runs}
    finally:
        fleet.stop()


def children_cpu_s():
    """CPU seconds (user + system) of the finished child processes (ansible-playbook and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid):
    """CPU seconds (user + system) of a running process (the simulator), from /proc."""
    fields = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scale_markdown(scale):
    labels = list(scale["runs"])
    first = scale["runs"][labels[0]]
    lines = ["`verify` over %d fresh (all unhealthy) hosts, HTTPS + NTLM, forks %d, run twice:" % (scale["size"],
                                                                                                scale["forks"]), ""]
    lines += ["- %s: %.1f s, %.1f WinRM commands/host, %s KiB sent/host, CPU: ansible-playbook %.0f s, simulator %.0f s "
              "(load average before: %s)"
              % (label, run["wall_s"], run["per_host"]["commands"]["mean"], kib(run["per_host"]["bytes_in"]["mean"]),
                 run["cpu_s"]["ansible-playbook"], run["cpu_s"]["simulator"],
                 ", ".join(str(v) for v in run["load_before"])) for label, run in scale["runs"].items()]
    lines += ["", "| step | hosts | %s |" % " | ".join("%s (s)" % label for label in labels),
              "|---|---|" + "---|" * len(labels)]
    for index, step in enumerate(first["steps"]):
        cells = []
        for label in labels:
            other = scale["runs"][label]["steps"]
            cells.append("%.1f" % other[index]["seconds"] if index < len(other) else "-")
        lines.append("| %s | %d | %s |" % (step["task"], step["hosts"], " | ".join(cells)))
    return "\n".join(lines)


def kib(value):
    return "%.1f" % (value / 1024.0)


def markdown(results):
    lines = ["Machine: %s, %d CPUs, Python %s; forks %d (fork sweep: verify over N=%d)." % (
        platform.platform(), os.cpu_count(), platform.python_version(), results["forks"], results["sweep_size"]), "",
        "| N | run | wall (s) | hosts/s | WinRM commands/host | HTTP requests/host | KiB sent/host | KiB received/host |",
        "|---|---|---|---|---|---|---|---|"]
    for size, runs in results["sizes"].items():
        for label, run in runs.items():
            p = run["per_host"]
            lines.append("| %s | %s | %.1f | %.1f | %.1f (%d-%d) | %.1f | %s | %s |" % (
                size, label, run["wall_s"], int(size) / run["wall_s"], p["commands"]["mean"], p["commands"]["min"],
                p["commands"]["max"], p["http_requests"]["mean"], kib(p["bytes_in"]["mean"]), kib(p["bytes_out"]["mean"])))
    if results["sweep"]:
        lines += ["", "| forks | verify wall (s), N=%d |" % results["sweep_size"], "|---|---|"]
        lines += ["| %s | %.1f |" % (forks, seconds) for forks, seconds in results["sweep"].items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--forks", type=int, default=25)
    parser.add_argument("--fork-sweep", default="5,10,25,50", help="fork counts for verify over the largest fleet ('' to skip)")
    parser.add_argument("--scale-size", type=int, default=1000, help="hosts of the verify-at-scale run (0 to skip)")
    parser.add_argument("--scale-forks", type=int, default=50)
    parser.add_argument("--scale-only", action="store_true", help="only the verify-at-scale run")
    parser.add_argument("--probe-latency", action="append", default=[], metavar="SECTION:MS",
                        help="model slow hosts: every probe's SECTION takes MS longer (repeatable; e.g. services:800)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    env = environment()
    if args.scale_only:
        scale = verify_at_scale(args.scale_size, args.scale_forks, env)
        (OUT / "results-scale.json").write_text(json.dumps(scale, indent=2) + "\n")
        print()
        print(scale_markdown(scale))
        return
    results = {"forks": args.forks, "sizes": {}, "sweep": {}, "sweep_size": max(args.sizes)}
    print("Benchmark: configure (check, first, second), verify, recover (healthy, after a reboot), forks %d" % args.forks,
          flush=True)
    for size in args.sizes:
        results["sizes"][size] = measure(size, args.forks, env, args.probe_latency)
    sweep = [int(f) for f in args.fork_sweep.split(",") if f.strip()]
    if sweep:
        print("Fork sweep: verify over %d hosts" % results["sweep_size"], flush=True)
        results["sweep"] = fork_sweep(results["sweep_size"], sweep, env)
    if args.scale_size:
        print("Verify at scale: %d hosts, forks %d" % (args.scale_size, args.scale_forks), flush=True)
        results["scale"] = verify_at_scale(args.scale_size, args.scale_forks, env)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(markdown(results))
    if results.get("scale"):
        print()
        print(scale_markdown(results["scale"]))
    print()
    print("Raw results: %s" % (OUT / "results.json"))


if __name__ == "__main__":
    main()
