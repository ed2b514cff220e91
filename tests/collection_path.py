# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A collections root in which this checkout is `ecs_windows.task_iam`, for tests and ansible-lint.

`python tests/collection_path.py` prints it. Outside an ansible_collections/ecs_windows/task_iam tree
it is `.ansible/collections` (git-ignored) with a symlink to the checkout; ansible-lint looks there first
and, offline, would otherwise keep using a stale copy it once installed there.
"""

from __future__ import annotations

import os
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[1]


def collections_root():
    if ROOT.parent.name == "ecs_windows" and ROOT.parent.parent.name == "ansible_collections":
        return ROOT.parents[2]
    base = ROOT / ".ansible" / "collections"
    link = base / "ansible_collections" / "ecs_windows" / "task_iam"
    if not (link.is_symlink() and link.resolve() == ROOT):
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() and not link.is_symlink():
            shutil.rmtree(link)
        temp = link.with_name("task_iam.%d" % os.getpid())
        temp.symlink_to(ROOT)
        os.replace(temp, link)  # atomic, so concurrent test runs never see it missing
    return base


if __name__ == "__main__":
    print(collections_root())
