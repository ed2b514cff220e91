# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator in a user's CI, done the way extensions/molecule/README.md tells a user to do it.

The collection is built (ansible-galaxy collection build) and installed offline into a fresh collections path, its
dependencies coming from the `ansible` package; the simulator is pip-installed without -e from a copy of
tests/simulator into a fresh venv of its own (so it has no checkout to find the op contract in, and no ansible-core);
a user project (a plain git repository) gets a role of its own that uses the modules and the shipped `default`
scenario copied from the installed collection with its converge.yml replaced; `molecule test` must pass.
molecule and ansible-core come from the dev venv.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import venv

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent

USER_ROLE = """\
---
- name: Register the instance with the cluster, IAM roles for tasks on
  ecs_windows.task_iam.agent:
    cluster: "{{ container_instance_cluster }}"

- name: Keep the credential proxy healthy, also after reboots
  ecs_windows.task_iam.credential_proxy:
    on_boot: true

- name: Read the instance
  ecs_windows.task_iam.instance_info:
    container_detail: none
  register: web_host_info

- name: Fail when the instance is not healthy
  ansible.builtin.assert:
    that: web_host_info.healthy
    fail_msg: "{{ web_host_info.findings | map(attribute='fix') | join('; ') }}"
    quiet: true
"""

USER_CONVERGE = """\
---
- name: Converge the web hosts with our own role
  hosts: windows_ecs
  gather_facts: false
  roles:
    - role: web_host
"""


def run(command, **kwargs):
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False, **kwargs)
    return done


def must(command, **kwargs):
    done = run(command, **kwargs)
    assert done.returncode == 0, "%s failed (rc %s)\n%s\n%s" % (
        " ".join(map(str, command)), done.returncode, done.stdout[-4000:], done.stderr[-4000:])
    return done


@pytest.fixture
def home():
    """A short home: molecule's ephemeral directory (ANSIBLE_HOME/tmp/...) holds the simulator's control socket, whose
    path must stay under the 107 bytes of a Unix socket address."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="ecs-user-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built collection installed offline in a fresh collections path, and the simulator in a fresh venv."""
    base = tmp_path_factory.mktemp("user")
    dist, collections = base / "dist", base / "collections"
    must([BIN / "ansible-galaxy", "collection", "build", "--output-path", dist], cwd=ROOT)
    (tarball,) = dist.glob("ecs_windows-task_iam-*.tar.gz")
    env = dict(os.environ, ANSIBLE_HOME=str(base / "ansible-home"))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    installed_run = must([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarball],
                         env=env, cwd=base)
    collection = collections / "ansible_collections" / "ecs_windows" / "task_iam"
    assert (collection / "MANIFEST.json").is_file(), installed_run.stdout

    source = base / "ecs-windows-sim-src"
    shutil.copytree(ROOT / "tests" / "simulator", source,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "tests"))
    sim_venv = base / "sim-venv"
    venv.EnvBuilder(with_pip=True).create(sim_venv)
    must([sim_venv / "bin" / "python", "-m", "pip", "install", "-q", source])
    return {"base": base, "collections": collections, "collection": collection, "sim_venv": sim_venv,
            "install_output": installed_run.stdout}


def user_env(installed, home):
    env = dict(os.environ)
    for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_CONFIG", "ECS_WINDOWS_SIM_CONTRACT", "MOLECULE_GLOB", "VIRTUAL_ENV"):
        env.pop(name, None)
    env.update(
        # The simulator's venv first (its ecs-windows-sim), then molecule and ansible-core of the dev venv.
        PATH=os.pathsep.join([str(installed["sim_venv"] / "bin"), str(BIN), env.get("PATH", "")]),
        ANSIBLE_COLLECTIONS_PATH=str(installed["collections"]),
        ANSIBLE_HOME=str(home / ".ansible"),
        HOME=str(home),
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
    )
    return env


def user_project(installed, path, scenario_edit=None):
    """A plain repository with a role using the modules and the default scenario copied from the installed collection
    (README: copy the directory to molecule/<name>/, put your own playbook in converge.yml, and let Ansible find
    your project's roles with ANSIBLE_ROLES_PATH under ansible.env in molecule.yml)."""
    role = path / "roles" / "web_host" / "tasks"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(USER_ROLE)
    scenario = path / "molecule" / "default"
    shutil.copytree(installed["collection"] / "extensions" / "molecule" / "default", scenario)
    (scenario / "converge.yml").write_text(USER_CONVERGE)
    config = yaml.safe_load((scenario / "molecule.yml").read_text())
    config["ansible"]["env"]["ANSIBLE_ROLES_PATH"] = "${MOLECULE_PROJECT_DIRECTORY}/roles"
    if scenario_edit:
        scenario_edit(config)
    (scenario / "molecule.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    must(["git", "init", "-q", path])
    return path


def test_the_installed_simulator_finds_the_installed_collections_contract(installed, tmp_path):
    sim_python = installed["sim_venv"] / "bin" / "python"
    assert run([sim_python, "-c", "import ansible"]).returncode != 0, "the simulator's venv must not have ansible-core"
    code = "from ecs_windows_sim import opscript; print(opscript.contract_path())"
    found = must([sim_python, "-c", code], env=user_env(installed, tmp_path), cwd=tmp_path)
    assert pathlib.Path(found.stdout.strip()) == (
        installed["collection"] / "plugins" / "plugin_utils" / "powershell" / "contract.json")

    nowhere = dict(user_env(installed, tmp_path), ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "empty"))
    missing = run([sim_python, "-c", code], env=nowhere, cwd=tmp_path)
    assert missing.returncode != 0
    assert "cannot find the op contract of the collection ecs_windows.task_iam" in missing.stderr
    assert "collections path %s" % (tmp_path / "empty") in missing.stderr
    assert "ECS_WINDOWS_SIM_CONTRACT" in missing.stderr


def test_molecule_test_of_a_user_project_passes(installed, home):
    project = user_project(installed, home / "project")
    done = run([BIN / "molecule", "test", "-s", "default"], cwd=project, env=user_env(installed, home),
               timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    assert "idempotence" in output and "verify" in output
    # The role came from the project, the playbooks and modules from the installed collection.
    collection = str(installed["collection"])
    listed = must([BIN / "ansible-galaxy", "collection", "list", "ecs_windows.task_iam"],
                  env=user_env(installed, home), cwd=project)
    assert collection.rsplit("/ansible_collections/", 1)[0] in listed.stdout, listed.stdout


def test_the_shipped_scenario_runs_in_place_in_the_installed_collection(installed, home):
    """README: without galaxy.yml (an installed collection has MANIFEST.json) molecule needs MOLECULE_GLOB."""
    before = sorted(p.relative_to(installed["collection"]) for p in installed["collection"].rglob("*"))
    env = dict(user_env(installed, home), MOLECULE_GLOB="extensions/molecule/*/molecule.yml")
    done = run([BIN / "molecule", "test", "-s", "default"], cwd=installed["collection"], env=env, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-8000:]
    after = sorted(p.relative_to(installed["collection"]) for p in installed["collection"].rglob("*"))
    assert after == before, "molecule wrote into the installed collection: %s" % sorted(set(after) - set(before))


def test_a_scenario_without_the_simulator_inventory_says_what_is_missing(installed, home):
    def drop_inventory(config):
        del config["ansible"]["executor"]["args"]

    project = user_project(installed, home / "project", drop_inventory)
    env = user_env(installed, home)
    try:
        done = run([BIN / "molecule", "create", "-s", "default"], cwd=project, env=env, timeout=300)
    finally:
        destroyed = run([BIN / "molecule", "destroy", "-s", "default"], cwd=project, env=env, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-4000:]
    assert "expected 2 simulated instances in group windows_ecs, found 0" in output, output[-4000:]
    assert "molecule did not pass the simulator's inventory" in output
    assert ".config/molecule/config.yml" in output
    assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
