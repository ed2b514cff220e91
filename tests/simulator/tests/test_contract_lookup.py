# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a simulator installed without -e finds the op contract: the collection installed where Ansible looks.

A copy of the ecs_windows_sim package outside the checkout stands for a non-editable install; it runs in this
venv's Python, which has ansible-core, so Ansible's own configuration (ansible.cfg) counts. The test without
ansible-core is tests/integration/test_user_project.py (a fresh venv with only the simulator).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

SIM_PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "ecs_windows_sim"
CONTRACT = pathlib.Path(__file__).resolve().parents[3] / "plugins" / "plugin_utils" / "powershell" / "contract.json"
COLLECTION = pathlib.Path("ansible_collections", "ecs_windows", "task_iam")
RELATIVE = pathlib.Path("plugins", "plugin_utils", "powershell", "contract.json")
CODE = "from ecs_windows_sim import opscript; print(opscript.contract_path())"


@pytest.fixture
def installed_copy(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(SIM_PACKAGE, site / "ecs_windows_sim", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def collections(root):
    contract = root / COLLECTION / RELATIVE
    contract.parent.mkdir(parents=True)
    shutil.copy2(CONTRACT, contract)
    return contract


def lookup(site, cwd, **env):
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("ANSIBLE_", "ECS_WINDOWS_SIM_"))}
    environ.update(PYTHONPATH=str(site), HOME=str(cwd), **env)
    return subprocess.run([sys.executable, "-c", CODE], cwd=cwd, env=environ, capture_output=True, text=True,
                          check=False)


def test_found_through_ansible_collections_path(installed_copy, tmp_path):
    contract = collections(tmp_path / "colls")
    done = lookup(installed_copy, tmp_path, ANSIBLE_COLLECTIONS_PATH="%s:%s" % (tmp_path / "other", tmp_path / "colls"))
    assert done.returncode == 0, done.stderr
    assert pathlib.Path(done.stdout.strip()) == contract


def test_found_through_ansible_cfg(installed_copy, tmp_path):
    contract = collections(tmp_path / "from-cfg")
    (tmp_path / "ansible.cfg").write_text("[defaults]\ncollections_path = %s\n" % (tmp_path / "from-cfg"))
    done = lookup(installed_copy, tmp_path)
    assert done.returncode == 0, done.stderr
    assert pathlib.Path(done.stdout.strip()) == contract


def test_found_in_the_default_user_path(installed_copy, tmp_path):
    contract = collections(tmp_path / ".ansible" / "collections")  # HOME is tmp_path
    done = lookup(installed_copy, tmp_path)
    assert pathlib.Path(done.stdout.strip()) == contract, done.stderr


def test_the_override_comes_first(installed_copy, tmp_path):
    collections(tmp_path / "colls")
    done = lookup(installed_copy, tmp_path, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "colls"),
                  ECS_WINDOWS_SIM_CONTRACT=str(tmp_path / "mine.json"))
    assert pathlib.Path(done.stdout.strip()) == tmp_path / "mine.json"


def test_not_found_says_where_it_looked(installed_copy, tmp_path):
    done = lookup(installed_copy, tmp_path, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "empty"))
    assert done.returncode != 0
    message = done.stderr
    assert "cannot find the op contract of the collection ecs_windows.task_iam" in message
    assert "the repository this simulator was installed from: %s" % (tmp_path.parent / RELATIVE) in message
    assert "collections path %s: %s" % (tmp_path / "empty", tmp_path / "empty" / COLLECTION / RELATIVE) in message
    assert "set ANSIBLE_COLLECTIONS_PATH" in message and "ECS_WINDOWS_SIM_CONTRACT" in message
