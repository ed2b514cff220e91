# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the moto-backed tests: the moto server's recording, ansible-playbook JSON results."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import socket
import sys
import urllib.request

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
# Calls that change something; an idempotent run or a refused input must make none of them.
MUTATING_PREFIXES = ("Create", "Put", "Attach", "Detach", "Register", "Deregister", "Update", "Tag", "Untag", "Delete")


def ansible_env(home):
    """Environment for ansible-* commands: the venv, this checkout as the collection (amazon.aws, and community.aws
    for the molecule ec2 scenario's test, come from the venv's site-packages), dummy AWS credentials, no user AWS
    files."""
    link = home / "collections" / "ansible_collections" / "ecs_windows" / "task_iam"
    if not link.exists():
        link.parent.mkdir(parents=True)
        link.symlink_to(ROOT)
    env = dict(
        os.environ,
        PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
        ANSIBLE_COLLECTIONS_PATH=str(home / "collections"),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_PIPELINING="true",
        ANSIBLE_DEPRECATION_WARNINGS="false",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_URL", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Moto:
    """One moto server: its URL, boto3 clients for assertions, and its request recording."""

    def __init__(self, url):
        self.url = url

    def client(self, service):
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    def _post(self, path):
        urllib.request.urlopen(urllib.request.Request(self.url + path, data=b"", method="POST"), timeout=10).read()

    def reset_recording(self):
        self._post("/moto-api/recorder/reset-recording")

    def recorded_actions(self):
        """AWS API actions received since the last reset_recording, in order (X-Amz-Target or Action=)."""
        text = urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording", timeout=10).read().decode()
        actions = []
        for line in filter(None, text.splitlines()):
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            if "x-amz-target" in headers:  # JSON protocol (ECS): "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"
                actions.append(headers["x-amz-target"].rsplit(".", 1)[-1])
                continue
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            params = dict(p.split("=", 1) for p in body.split("&") if "=" in p)  # query protocol (IAM, STS)
            actions.append(params.get("Action", "%s %s" % (entry["method"], entry["url"])))
        return actions


class Run:
    """Result of one ansible-playbook run with the json callback."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON (rc %s):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))

    @property
    def stats(self):
        return self.data["stats"]["localhost"]

    def results(self, task_name):
        """Host results of the tasks whose name ends with task_name."""
        found = []
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].endswith(task_name):
                    found.append(task["hosts"]["localhost"])
        return found

    def facts(self, name):
        """Every value the role's report task set for fact `name`, in run order."""
        return [r["ansible_facts"][name] for r in self.results("Report the role and task definition") if name in r.get("ansible_facts", {})]

    def fact(self, name):
        values = self.facts(name)
        assert len(values) == 1, "fact %s set %d times; stats %s" % (name, len(values), self.stats)
        return values[0]

    def failure(self):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                result = task["hosts"].get("localhost", {})
                if result.get("failed"):
                    return task["task"]["name"], result.get("msg", "")
        return None
