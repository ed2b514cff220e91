# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real moto server for the ECS view tests (its own, module-scoped, recording requests), and the environment
ansible-playbook needs to reach it. Simulator hosts come from tests/integration/conftest.py (sim_factory)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "aws"))

from aws_moto import BIN, Moto, free_port  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    port = free_port()
    workdir = tmp_path_factory.mktemp("moto")
    log = open(workdir / "moto.log", "wb")
    env = dict(os.environ, MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=str(workdir / "recording.jsonl"),
               MOTO_EC2_LOAD_DEFAULT_AMIS="false")
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
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


@pytest.fixture(scope="module")
def aws_env():
    """Dummy credentials and no user AWS configuration (removed from this process's environment, which
    ansible-playbook inherits): the modules get region and endpoint from the play unless a test sets them."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                     "AWS_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS"):
            patch.delenv(name, raising=False)
        yield {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
