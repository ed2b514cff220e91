# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real moto server on loopback (one for the session: tests use their own names), and real ansible-playbook runs."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

from aws_moto import BIN, REGION, Moto, Run, ansible_env, free_port


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    port = free_port()
    workdir = tmp_path_factory.mktemp("moto")
    recording, log = workdir / "recording.jsonl", open(workdir / "moto.log", "wb")
    env = dict(
        os.environ,
        MOTO_ENABLE_RECORDING="true",
        MOTO_RECORDER_FILEPATH=str(recording),
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",  # AWS managed policies (AmazonECSTaskExecutionRolePolicy...) exist
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",  # faster EC2 start; launch templates do not check the AMI
    )
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto_server did not start: %s" % (workdir / "moto.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
    try:
        yield Moto(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def aws_playbook(moto, tmp_path_factory):
    """Run a playbook (register_task by default) through the real ansible-playbook, pointed at moto, with these vars."""
    home = tmp_path_factory.mktemp("ansible-home")
    env = ansible_env(home)
    counter = iter(range(1000))

    def run(variables, check=False, playbook="ecs_windows.task_iam.register_task", diff=False):
        variables = dict({"task_role_region": REGION, "task_role_aws_endpoint_url": moto.url}, **variables)
        extra = home / ("vars-%d.json" % next(counter))
        extra.write_text(json.dumps(variables))
        command = [str(BIN / "ansible-playbook"), playbook, "-e", "@%s" % extra]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        return Run(subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=str(home)))

    return run
