# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version lanes of `make test` refuse what would make them test less than they claim: tests/matrix.py (the
list of scenarios), tests/lane.sh (a lane without its venv) and the Makefile (lane venvs follow their pins)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
MATRIX = ROOT / "tests" / "matrix.py"


def matrix(tmp_path, text, *args):
    listed = tmp_path / "matrix.txt"
    listed.write_text(text)
    env = dict(os.environ, ECS_MATRIX=str(listed))
    return subprocess.run([sys.executable, str(MATRIX)] + list(args), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_the_lanes_of_the_real_matrix_pass_the_check():
    for lane in ("core2.17", "core2.21"):
        done = subprocess.run([sys.executable, str(MATRIX), "--check", lane], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert "tests/integration/test_roles_playbooks.py" in done.stdout.split()


def test_an_entry_that_does_not_exist_is_refused(tmp_path):
    done = matrix(tmp_path, "tests/integration/test_roles_playbooks.py all\ntests/integration/test_nothing.py all\n",
                  "--check", "core2.17")
    assert done.returncode == 1
    assert "tests/integration/test_nothing.py does not exist" in done.stderr


def test_a_module_or_playbook_no_entry_runs_is_refused(tmp_path):
    done = matrix(tmp_path, "tests/integration/test_agent.py all\n", "--check", "core2.21")
    assert done.returncode == 1
    assert "no test of lane core2.21 runs module container_routes" in done.stderr
    assert "playbook configure" in done.stderr and "playbook register_task" in done.stderr


def test_a_lane_the_matrix_does_not_know_is_refused(tmp_path):
    done = matrix(tmp_path, "tests/integration/test_agent.py core2.17\n", "--check", "core2.99")
    assert done.returncode == 1 and "names no test for lane core2.99" in done.stderr


COVERING = ("tests/integration/test_roles_playbooks.py all\ntests/integration/test_instance_info.py all\n"
            "tests/integration/test_agent.py all\ntests/integration/test_credential_proxy.py all\n"
            "tests/integration/test_container_routes.py all\ntests/integration/aws/test_task_role.py all\n"
            "tests/integration/ecs/test_ecs_container_instance.py all\ntests/integration/ecs/test_fleet_ecs_view.py all\n"
            "tests/integration/ecs/test_rolling_reboot.py all\n")


def test_an_entry_that_collects_nothing_stops_the_lane_before_any_test_runs(tmp_path):
    # A file without tests: pytest alone would run the other entries and pass.
    done = matrix(tmp_path, COVERING + "tests/integration/ecs_integration.py all\n", "core2.17", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    assert "these entries collect no test: tests/integration/ecs_integration.py" in done.stdout + done.stderr
    assert " passed" not in done.stdout
    # A test that does not exist: pytest itself stops (rc 4).
    done = matrix(tmp_path, COVERING + "tests/integration/test_lanes.py::test_no_such_test all\n", "core2.17", "-q")
    assert done.returncode == 4 and "not found" in done.stderr and " passed" not in done.stdout


def test_a_lane_without_its_venv_is_reported_skipped_and_fails_when_required(tmp_path):
    status = tmp_path / "status"
    env = dict(os.environ, STATUS=str(status), REQUIRE_LANES="0")
    done = subprocess.run(["bash", str(ROOT / "tests" / "lane.sh"), "core0.0"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "=== lane core0.0 SKIPPED" in done.stdout, done.stdout + done.stderr
    assert status.read_text() == "core0.0 (whole lane)|skipped|0\n"
    env.update(REQUIRE_LANES="1")
    done = subprocess.run(["bash", str(ROOT / "tests" / "lane.sh"), "core0.0"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1 and "SKIPPED" in done.stdout


def test_a_lane_venv_is_rebuilt_when_its_pins_change():
    for lane in ("core2.17", "core2.21"):
        done = subprocess.run(["make", "-n", "-W", "tests/requirements-%s.txt" % lane, "lanes"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "pip install -q -r tests/requirements-%s.txt" % lane in done.stdout
        other = "core2.21" if lane == "core2.17" else "core2.17"
        assert "tests/requirements-%s.txt" % other not in done.stdout
