"""Ansible's real `winrm` connection plugin (ansible-playbook, the generated inventory) against the simulator,
with the pinned ansible-core 2.19 (.venv) and ansible-core 2.18 (double encoding, old transfer scripts)."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from sim_scripts import LOADER_COMMAND, pack, probe_args

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
PLAYBOOK = HERE / "ansible" / "connection.yml"
MAIN_BIN = pathlib.Path(sys.executable).parent


# ansible-core under test -> the exact release and the Python it needs (None: this interpreter's).
CORES = {"2.18": ("2.18.19", None), "2.21": ("2.21.5", "python3.12")}


def find_python(name: str):
    """A working interpreter called `name`: on PATH, else pyenv's (its shims exist but fail when not selected)."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [shutil.which(name)] + sorted(glob.glob(os.path.join(pyenv_root, "versions", "*", "bin", name)))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def core_bin(version: str) -> pathlib.Path:
    if version == "2.19":
        return MAIN_BIN
    release, python = CORES[version]
    env = dict(os.environ)
    if python:
        found = find_python(python)
        if found is None:
            pytest.skip("ansible-core %s needs %s, which is not installed" % (release, python))
        env["PYTHON"] = found
    done = subprocess.run([str(HERE / "make_core_venv.sh"), release], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    return pathlib.Path(done.stdout.strip()) / "bin"


def ansible_playbook(bin_dir: pathlib.Path, inventories: list, extra_vars: dict, tmp_path: pathlib.Path):
    site_packages = next((MAIN_BIN.parent / "lib").glob("python3*/site-packages"))
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(bin_dir), os.environ["PATH"]]),
        # our collection (for the op script builder) and ansible.windows (win_stat, used by fetch)
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(MAIN_BIN.parent / "collections"), str(site_packages)]),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORKS="5",
    )
    return subprocess.run(
        [str(bin_dir / "ansible-playbook")] + [arg for inv in inventories for arg in ("-i", str(inv))]
        + [str(PLAYBOOK), "-e", json.dumps(extra_vars)],
        capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.mark.parametrize("core, scheme", [("2.19", "http"), ("2.18", "https"), ("2.21", "https")])
def test_winrm_connection_plugin(sim_factory, tmp_path, core, scheme):
    bin_dir = core_bin(core)
    version = subprocess.run([str(bin_dir / "ansible-playbook"), "--version"], capture_output=True, text=True).stdout
    assert "core %s." % core in version
    sim = sim_factory(hosts=2, scheme=scheme, auth="ntlm")
    local = tmp_path / "local"
    local.mkdir()
    payload = os.urandom(700_000)  # > put_file's 250000-byte blocks and > fetch_file's 512 KiB buffer
    (local / "payload.bin").write_bytes(payload)
    for host in sim.hosts:
        (local / ("%s-small.txt" % host)).write_text("small file\n")
    # One more inventory host: ecs-sim-001's port with a wrong password (host var beats the group's).
    bad = tmp_path / "bad-password.yml"
    bad.write_text(json.dumps({"all": {"children": {"windows_ecs": {"hosts": {"ecs-sim-badpass": {
        "ansible_host": "127.0.0.1", "ansible_port": sim.port("ecs-sim-001"), "ansible_password": "not-the-password"}}}}}}))
    before = sim.control("counters")["total"]

    done = ansible_playbook(bin_dir, [sim.state_dir / "inventory.yml", bad], {
        "local_dir": str(local),
        "loader_command": LOADER_COMMAND,
        "probe_stdin": pack([("probe", probe_args("none"))]).decode("ascii"),
    }, tmp_path)
    assert done.returncode == 4, done.stdout[-6000:] + done.stderr[-3000:]  # 4: a host was unreachable
    recap = {line.split()[0]: line for line in done.stdout.split("PLAY RECAP")[1].strip().splitlines()[1:]}
    assert set(recap) == set(sim.hosts) | {"ecs-sim-badpass"}
    assert "unreachable=1" in recap["ecs-sim-badpass"]
    assert "the specified credentials were rejected by the server" in done.stdout
    for host in sim.hosts:
        assert "failed=0" in recap[host] and "unreachable=0" in recap[host], done.stdout[-6000:]

    digest = hashlib.sha256(payload).hexdigest()
    for host in sim.hosts:
        assert hashlib.sha256((local / ("%s-fetch_file.bin" % host)).read_bytes()).hexdigest() == digest
        assert hashlib.sha256((local / ("%s-fetch_module.bin" % host)).read_bytes()).hexdigest() == digest
        assert (local / ("%s-small.txt.back" % host)).read_text() == "small file\n"
        state = sim.control("state", host)
        assert state["files"]["C:\\Windows\\Temp\\sim-payload.bin"]["sha256"] == digest
        tmpdir = (local / ("%s-tmpdir.txt" % host)).read_text()
        assert tmpdir.lower().startswith("c:\\users\\administrator\\appdata\\local\\temp\\ansible-tmp-")
        assert tmpdir.lower() not in [d.lower() for d in state["dirs"]]  # removed again
        assert not any(path.lower().startswith(tmpdir.lower()) for path in state["files"])
    after = sim.control("counters")["total"]
    assert after["auth_failures"] > before["auth_failures"]
    kinds = after["command_kinds"]
    if core == "2.18":  # exec_command double-encodes every line; put/fetch_file run the old inline scripts
        transfers = kinds["ansible:put_file (2.17/2.18)"] + kinds["ansible:fetch_file (2.17/2.18)"]
        assert after["double_encoded"] == after["commands"] - transfers - before["commands"]
        assert kinds["ops"] == kinds["unknown"] == 2
        assert {"ansible:put_file (2.17/2.18)", "ansible:fetch_file (2.17/2.18)", "ansible:mkdtemp (2.17/2.18)",
                "ansible:bootstrap_wrapper (2.17/2.18)", "ansible:remove"} <= set(kinds)
    else:
        assert after["double_encoded"] == 0 and kinds["ops"] == kinds["unknown"] == 2
        assert {"ansible:bootstrap_wrapper (2.19+)", "ansible:remove"} <= set(kinds)
        assert not any("2.17/2.18" in kind for kind in kinds)
