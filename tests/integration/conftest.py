# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for integration tests: simulated hosts and real ansible-playbook runs (see ecs_integration.py).

    def test_x(sim_factory, playbook):
        sim = sim_factory(hosts=2)                       # module-scoped: stopped after the test module
        run = playbook(PLAYBOOK_TEXT, sim)               # ansible-playbook -i <sim inventory> ...
        assert run.rc == 0, run
"""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import ecs_integration  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def sim_factory(tmp_path_factory):
    """Start simulators (`ecs-windows-sim serve --background`); all are stopped after the test module."""
    started = []

    def start(hosts=1, **kwargs):
        sim = ecs_integration.Simulator.start(tmp_path_factory.mktemp("sim"), hosts=hosts, **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def playbook(tmp_path):
    """run(playbook_text_or_path, sim_or_inventory, **options) -> PlaybookRun."""

    def run(text, target, **kwargs):
        inventory = target.inventory if isinstance(target, ecs_integration.Simulator) else target
        return ecs_integration.run_playbook(text, inventory, tmp_path, **kwargs)

    return run

