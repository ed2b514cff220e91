# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make `ansible_collections.ecs_windows.task_iam` importable from the repository checkout."""

from __future__ import annotations

import pathlib
import sys

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from collection_path import collections_root  # noqa: E402  pylint: disable=wrong-import-position

_AnsibleCollectionFinder(paths=[str(collections_root())])._install()
