# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make `ansible_collections.ecs_windows.task_iam` importable from the repository checkout."""

from __future__ import annotations

import atexit
import pathlib
import shutil
import tempfile

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _collections_root():
    # Under ansible-test (or any checkout at .../ansible_collections/ecs_windows/task_iam) use the real tree.
    if ROOT.parent.name == "ecs_windows" and ROOT.parent.parent.name == "ansible_collections":
        return ROOT.parents[2]
    base = pathlib.Path(tempfile.mkdtemp(prefix="ecs-unit-"))
    atexit.register(shutil.rmtree, base, True)
    (base / "ansible_collections" / "ecs_windows").mkdir(parents=True)
    (base / "ansible_collections" / "ecs_windows" / "task_iam").symlink_to(ROOT)
    return base


_AnsibleCollectionFinder(paths=[str(_collections_root())])._install()
