#!/usr/bin/env python3
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the collection end to end against a small simulated fleet, in about a minute.

Four simulated ECS-optimized Windows Server 2022 instances (tests/simulator, real WinRM over HTTPS/NTLM), each an EC2
instance whose agent registers a container instance in a local moto server (the ECS API; nothing reaches AWS):
configure all four (one of them "the way plain user data does it", without the boot-time repair task),
reboot that one and a self-healing one, verify with the ECS view and the quarantine (the report shows the plain one
broken, with cause and fix, and drained in ECS so that no task lands on it), recover, which repairs it, returns it to
ACTIVE and writes the report again (all healthy). The playbooks are the ones users run; their full output is kept in
tests/output/demo/*.log.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
from ecs_integration import Simulator  # noqa: E402  pylint: disable=wrong-import-position
OUT = REPO / "tests" / "output" / "demo"
HOSTS = ["ecs-sim-001", "ecs-sim-002", "ecs-sim-003", "ecs-sim-004"]
SELF_HEALING, PLAIN = "ecs-sim-001", "ecs-sim-004"
CLUSTER = "demo-windows"
REGION = "eu-west-1"
# moto accepts any keys; a value that appears nowhere else, since Ansible masks it in every output.
DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "moto-demo-access-key", "AWS_SECRET_ACCESS_KEY": "moto-demo-secret-key-not-a-real-one",
              "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

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
        self.moto = None
        self.moto_url = None
        self.env = dict(os.environ)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                     "AWS_ENDPOINT_URL_ECS"):
            self.env.pop(name, None)
        self.env.update(DUMMY_KEYS)
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

    def start_moto(self):
        """A local moto server (the ECS and EC2 APIs) with the demo's cluster."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log = open(OUT / "moto.log", "wb")
        env = dict(self.env, MOTO_EC2_LOAD_DEFAULT_AMIS="false")
        self.moto = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
        self.moto_url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.moto_url + "/moto-api/", timeout=2).read()
                break
            except OSError:
                if self.moto.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("moto_server did not start; see %s" % (OUT / "moto.log"))
                time.sleep(0.2)
        import boto3

        boto3.client("ecs", region_name=REGION, endpoint_url=self.moto_url, aws_access_key_id="x",
                     aws_secret_access_key="x").create_cluster(clusterName=CLUSTER)
        # The playbooks reach it the way they reach any ECS endpoint: botocore reads AWS_ENDPOINT_URL.
        self.env["AWS_ENDPOINT_URL"] = self.moto_url

    @staticmethod
    def ecs_words(row):
        ecs = row.get("ecs")
        if not ecs:
            return ""
        words = "ECS %s" % (ecs["status"] or "-")
        if ecs["quarantined"]:
            words += ", quarantined by the collection"
        return words

    def report(self, path):
        return {row["host"]: row for row in json.loads(path.read_text())["hosts"]}

    def show_report(self, rows):
        for host in HOSTS:
            row = rows[host]
            ecs = self.ecs_words(row)
            if row["health"] == "healthy":
                note = "heals itself at boot" if row["on_boot"] else "no boot-time repair task"
                if row["healed_at_boot"]:
                    note = "repaired its credential proxy itself during the reboot"
                print("    %s  %s  %s  %s" % (host, style("healthy", "green"), style(ecs, "cyan"), style(note, "dim")))
                continue
            print("    %s  %s  %s  %s" % (host, style(row["health"].upper(), "red", "bold"), style(ecs, "yellow"),
                                          ", ".join(row["findings"])))
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

        self.step("Start the simulated fleet and a local ECS API (moto)")
        self.start_moto()
        print("  moto server (ECS, EC2) on %s, cluster %s in %s" % (self.moto_url, CLUSTER, REGION))
        self.sim = Simulator.start(self.state_dir, hosts=len(HOSTS),
                                   extra=["--ecs-endpoint", self.moto_url, "--ecs-region", REGION])
        print("  " + self.sim.ready_line)
        print(style("  Each host is an EC2 instance there; its agent registers a container instance in the cluster.",
                    "dim"))
        (OUT / "demo-hosts.yml").write_text(
            "# The demo's own inventory variables (merged with the simulator's inventory).\n"
            "windows_ecs:\n"
            "  vars:\n"
            "    container_instance_cluster: %s\n"
            "    # The startup task waits 30 s after a boot by default; a few are enough for the demo.\n"
            "    container_instance_boot_delay: 5\n"
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

        self.step("verify with the ECS view: read-only on the hosts, fleet report, broken hosts drained in ECS")
        (OUT / "after-reboot").mkdir(exist_ok=True)
        ecs = ["-e", "task_iam_ecs_region=%s" % REGION]
        text, seconds, rc = self.playbook("verify", "2-verify-after-reboot.log", "-e",
                                          "task_iam_report_dir=after-reboot", *ecs, "-e", "task_iam_quarantine=drain",
                                          expect_rc=(2,))
        counts = sorted(set(self.commands_per_host().values()))
        rows = self.report(OUT / "after-reboot" / "fleet-report.json")
        self.show_report(rows)
        if not (rows[PLAIN]["ecs"] or {}).get("quarantined"):
            raise SystemExit("verify did not drain %s; see %s" % (PLAIN, OUT / "2-verify-after-reboot.log"))
        print("  %s is DRAINING in ECS, marked ecs_windows.task_iam.quarantine (by this collection, and why): ECS "
              "places no new task on it." % PLAIN)
        print(style("  %.1f s, %s WinRM command%s per host. verify exits %d because a host is broken, so a scheduled "
                    "run or an AWX job fails visibly." % (seconds, " to ".join(map(str, counts)),
                                                          "" if counts == [1] else "s", rc), "dim"))

        self.step("recover: repair only the broken credential proxies, return what the collection drained, report")
        text, seconds, dummy = self.playbook("recover", "3-recover.log", *ecs)
        outcome = dict(re.findall(r'^ok: \[(\S+)\] => \{\s*"msg": "([^"]*)"', text, re.MULTILINE))
        # The hosts the repair task changed (the recap would also count the ECS calls, made once on the controller in
        # the name of the first host).
        repair = text.split("TASK [Repair the credential proxy]", 1)[1].split("TASK [", 1)[0]
        repaired = set(re.findall(r"^changed: \[(\S+)\]", repair, re.MULTILINE))
        commands = self.commands_per_host()
        for host in HOSTS:
            print("    %s  %-9s  %d WinRM command%s  %s" % (
                host, "changed" if host in repaired else "unchanged", commands[host],
                "" if commands[host] == 1 else "s", outcome.get(host, "?")))
        print("  recover ends with the fleet report, from what its own probes read:")
        rows = self.report(OUT / "fleet-report.json")
        self.show_report(rows)
        print(style("  %.1f s. A healthy host costs one WinRM command, a repaired one two." % seconds, "dim"))
        if any(row["health"] != "healthy" for row in rows.values()):
            raise SystemExit("the fleet is not healthy after recover; see %s" % (OUT / "3-recover.log"))
        if any((row["ecs"] or {}).get("status") != "ACTIVE" for row in rows.values()):
            raise SystemExit("a host is not ACTIVE in ECS after recover; see %s" % (OUT / "3-recover.log"))

        print()
        print(style("All %d instances healthy and ACTIVE in ECS." % len(HOSTS), "green", "bold"))
        print("Fleet report:        %s (and .json)" % (OUT / "fleet-report.md"))
        print("After the reboot:    %s" % (OUT / "after-reboot" / "fleet-report.md"))
        print("Playbook output:     %s" % (OUT / "*.log"))

    def cleanup(self):
        if self.sim:
            self.sim.stop()
        if self.moto:
            self.moto.terminate()
            try:
                self.moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.moto.kill()
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
