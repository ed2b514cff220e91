# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real moto server (moto[server], pinned in tests/requirements-dev.txt) on loopback, with request recording,
for the simulator's ECS view tests."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

REGION = "eu-west-1"
BIN = pathlib.Path(sys.executable).parent


class MotoServer:
    def __init__(self, workdir: pathlib.Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % port
        self.log = open(workdir / "moto.log", "wb")
        env = dict(os.environ, MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=str(workdir / "recording.jsonl"),
                   MOTO_EC2_LOAD_DEFAULT_AMIS="false")
        self.proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start: %s" % (workdir / "moto.log").read_text()[-2000:])
                time.sleep(0.2)

    def client(self, service: str):
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.url, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def reset_recording(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/recorder/reset-recording", data=b"",
                                                      method="POST"), timeout=10).read()

    def recorded_actions(self) -> list[str]:
        """AWS actions received since the last reset_recording (X-Amz-Target for ECS, Action= for EC2)."""
        text = urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording", timeout=10).read().decode()
        actions = []
        for line in filter(None, text.splitlines()):
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            if "x-amz-target" in headers:
                actions.append(headers["x-amz-target"].rsplit(".", 1)[-1])
                continue
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            params = dict(p.split("=", 1) for p in body.split("&") if "=" in p)
            actions.append(params.get("Action", "%s %s" % (entry["method"], entry["url"])))
        return actions

    def container_instances(self, cluster: str, ec2_instance_id: str | None = None) -> list[dict]:
        ecs = self.client("ecs")
        arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
        found = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)["containerInstances"] if arns else []
        return [ci for ci in found if ec2_instance_id is None or ci["ec2InstanceId"] == ec2_instance_id]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
