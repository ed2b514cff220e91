# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-doc renders the AWS-side role and filters (what `ansible-doc -t role/-t filter` users see)."""

from __future__ import annotations

import json
import subprocess

from aws_moto import BIN, ansible_env

FILTERS = ["user_data", "host_port_conflicts", "bootstrap_script", "task_role_problems"]


def _doc(tmp_path, *args):
    proc = subprocess.run([str(BIN / "ansible-doc"), *args], env=ansible_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    return proc.stdout


def test_filters_render_with_options_and_examples(tmp_path):
    names = ["ecs_windows.task_iam.%s" % name for name in FILTERS]
    docs = json.loads(_doc(tmp_path, "--json", "-t", "filter", *names))
    for name in names:
        doc = docs[name]
        assert doc["doc"]["short_description"] and "_input" in doc["doc"]["options"], name
        assert "ecs_windows.task_iam.%s" % name.rsplit(".", 1)[1] in doc["examples"], name
    text = _doc(tmp_path, "-t", "filter", *names)  # the text renderer fails on descriptions that are not strings
    assert all(name in text for name in names)


def test_role_renders_with_its_options(tmp_path):
    text = _doc(tmp_path, "-t", "role", "ecs_windows.task_iam.task_role")
    for option in ("task_role_name", "task_role_family", "task_role_containers", "task_role_network_mode", "task_role_manage_iam"):
        assert option in text
