#!/usr/bin/env python3
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the collection end to end against a small simulated fleet, in under a minute.

Four simulated ECS-optimized Windows Server 2022 instances (tests/simulator, real WinRM over HTTPS/NTLM):
configure all four (one of them "the way plain user data does it", without the boot-time repair task),
reboot that one and a self-healing one, verify (the report shows the plain one broken, with cause and fix),
recover, which repairs it and ends by running verify again (all healthy). The playbooks are the ones users run; their full output is kept in
tests/output/demo/*.log.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
from ecs_integration import Simulator  # noqa: E402  pylint: disable=wrong-import-position
OUT = REPO / "tests" / "output" / "demo"
HOSTS = ["ecs-sim-001", "ecs-sim-002", "ecs-sim-003", "ecs-sim-004"]
SELF_HEALING, PLAIN = "ecs-sim-001", "ecs-sim-004"
CLUSTER = "demo-windows"

COLOR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def style(text, *names):
    if not COLOR:
        return text
    return "\033[%sm%s\033[0m" % (";".join(STYLES[n] for n in names), text)


class Demo:
    def __init__(self):
        self.started = time.monotonic()
        self.state_dir = pathlib.Path(tempfile.mkdtemp(prefix="ecs-demo-"))
        self.sim = None
        self.env = dict(os.environ)
        self.env["PATH"] = "%s%s%s" % (BIN, os.pathsep, self.env.get("PATH", ""))
        self.env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".venv" / "collections"))
        self.env.setdefault("ANSIBLE_HOME", str(REPO / ".ansible"))
        self.env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0")
        self.step_no = 0

    # -- plumbing -------------------------------------------------------------------------------

    def commands_per_host(self):
        """WinRM commands each host ran since the last call (the simulator's counters, then reset)."""
        counters = self.sim.reset_counters()["hosts"]
        return {host: counters[host]["commands"] for host in HOSTS}

    def playbook(self, name, log, *extra, expect_rc=(0,)):
        cmd = ["ansible-playbook", "ecs_windows.task_iam.%s" % name, "-i", str(self.sim.inventory),
               "-i", str(OUT / "demo-hosts.yml")] + list(extra)
        shown = " ".join(["ansible-playbook", "ecs_windows.task_iam.%s" % name, "-i", "inventory.yml",
                          "-i", "demo-hosts.yml"] + list(extra))
        print("  " + style("$ " + shown, "cyan"))
        began = time.monotonic()
        with open(OUT / log, "w") as stream:
            done = subprocess.run([str(BIN / cmd[0])] + cmd[1:], env=self.env, cwd=OUT, stdout=stream,
                                  stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - began
        text = (OUT / log).read_text()
        if done.returncode not in expect_rc:
            print(text[-4000:])
            raise SystemExit("ansible-playbook %s exited %d (expected %s); full output in %s"
                             % (name, done.returncode, expect_rc, OUT / log))
        return text, seconds, done.returncode

    @staticmethod
    def recap(text):
        """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from the PLAY RECAP."""
        found = {}
        for host, fields in re.findall(r"^(\S+)\s+: (ok=.*)$", text, re.MULTILINE):
            found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
        return found

    def step(self, title):
        self.step_no += 1
        print()
        print(style("[%d/5] %s" % (self.step_no, title), "bold"))

    def report(self, path):
        return {row["host"]: row for row in json.loads(path.read_text())["hosts"]}

    def show_report(self, rows):
        for host in HOSTS:
            row = rows[host]
            if row["health"] == "healthy":
                note = "heals itself at boot" if row["on_boot"] else "no boot-time repair task"
                if row["healed_at_boot"]:
                    note = "repaired its credential proxy itself during the reboot"
                print("    %s  %s  %s" % (host, style("healthy", "green"), style(note, "dim")))
                continue
            print("    %s  %s  %s" % (host, style(row["health"].upper(), "red", "bold"), ", ".join(row["findings"])))
            print(textwrap.fill(row["cause"], 110, initial_indent="        cause: ", subsequent_indent=" " * 15))
            print(textwrap.fill(row["fix"], 110, initial_indent="        fix:   ", subsequent_indent=" " * 15))
            print("        next:  %s" % style(row["next_step"], "cyan"))

    # -- the story ------------------------------------------------------------------------------

    def run(self):
        OUT.mkdir(parents=True, exist_ok=True)
        for old in OUT.glob("*"):
            if old.is_file():
                old.unlink()
        print(style("ecs_windows.task_iam demo", "bold") + ": IAM roles for tasks on Windows ECS container instances")
        print(style("Simulated fleet: %d ECS-optimized Windows Server 2022 instances over WinRM (HTTPS, NTLM)."
                    % len(HOSTS), "dim"))

        self.step("Start the simulated fleet")
        self.sim = Simulator.start(self.state_dir, hosts=len(HOSTS))
        print("  " + self.sim.ready_line)
        (OUT / "demo-hosts.yml").write_text(
            "# The demo's own inventory variables (merged with the simulator's inventory).\n"
            "windows_ecs:\n"
            "  vars:\n"
            "    container_instance_cluster: %s\n"
            "  hosts:\n"
            "    %s:\n"
            "      # Set up the way plain user data does it: no startup task that repairs the proxy at boot.\n"
            "      container_instance_on_boot: false\n" % (CLUSTER, PLAIN))
        self.commands_per_host()

        self.step("configure: ECS agent with task IAM roles, credential proxy, boot-time self-healing")
        text, seconds, dummy = self.playbook("configure", "1-configure.log")
        recap, commands = self.recap(text), self.commands_per_host()
        for host in HOSTS:
            how = "without boot-time repair (like plain user data)" if host == PLAIN else "with boot-time repair"
            print("    %s  changed=%d  %d WinRM commands  %s" % (
                host, recap[host]["changed"], commands[host], style(how, "dim")))
        print(style("  %.1f s." % seconds, "dim"))

        self.step("Reboot %s (self-healing) and %s (plain)" % (SELF_HEALING, PLAIN))
        for host in (SELF_HEALING, PLAIN):
            self.sim.reboot(host, downtime=2, wait=False)
        began = time.monotonic()
        for host in (SELF_HEALING, PLAIN):
            self.sim.wait_up(host)
        print("  Both are back after %.1f s: the reboot dropped the 169.254.170.2 address; the portproxy rule"
              % (time.monotonic() - began))
        print("  survived. %s's startup task has already run." % SELF_HEALING)
        self.commands_per_host()

        self.step("verify: read-only check of every host, fleet report")
        (OUT / "after-reboot").mkdir(exist_ok=True)
        text, seconds, rc = self.playbook("verify", "2-verify-after-reboot.log", "-e", "report_dir=after-reboot",
                                          expect_rc=(2,))
        counts = sorted(set(self.commands_per_host().values()))
        self.show_report(self.report(OUT / "after-reboot" / "fleet-report.json"))
        print(style("  %.1f s, %s WinRM command%s per host. verify exits %d because a host is broken, so a scheduled "
                    "run or an AWX job fails visibly." % (seconds, " to ".join(map(str, counts)),
                                                          "" if counts == [1] else "s", rc), "dim"))

        self.step("recover: repair only the hosts whose credential proxy is broken, then verify again")
        text, seconds, dummy = self.playbook("recover", "3-recover.log")
        outcome = dict(re.findall(r'^ok: \[(\S+)\] => \{\s*"msg": "([^"]*)"', text, re.MULTILINE))
        recap, commands = self.recap(text), self.commands_per_host()
        for host in HOSTS:
            print("    %s  changed=%d  %d WinRM commands  %s" % (
                host, recap[host]["changed"], commands[host], outcome.get(host, "?")))
        print("  recover ends by running verify; its fleet report:")
        rows = self.report(OUT / "fleet-report.json")
        self.show_report(rows)
        print(style("  %.1f s. A healthy host costs one probe for recover and one for verify." % seconds, "dim"))
        if any(row["health"] != "healthy" for row in rows.values()):
            raise SystemExit("the fleet is not healthy after recover; see %s" % (OUT / "3-recover.log"))

        print()
        print(style("All %d instances healthy." % len(HOSTS), "green", "bold"))
        print("Fleet report:        %s (and .json)" % (OUT / "fleet-report.md"))
        print("After the reboot:    %s" % (OUT / "after-reboot" / "fleet-report.md"))
        print("Playbook output:     %s" % (OUT / "*.log"))

    def cleanup(self):
        if self.sim:
            self.sim.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        print(style("Simulator stopped and its state removed. Demo took %.0f s." % (time.monotonic() - self.started),
                    "dim"))


def main():
    demo = Demo()
    try:
        demo.run()
    finally:
        demo.cleanup()


if __name__ == "__main__":
    main()
