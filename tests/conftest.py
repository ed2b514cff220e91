# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Only `ansible-test units` loads this file (it runs pytest with the collection root as rootdir and confcutdir).

ansible-test imports every test file as a package of the collection (ansible_collections.ecs_windows.task_iam.
tests.unit...), so the directories of the test files are not on sys.path, and the helpers the unit tests import by
bare name (probe_data, plan_scenarios, pwsh_grammar, test_powershell_static) would not be found. A plain
`pytest tests/unit` puts those directories on sys.path itself (its rootdir is tests/unit, so it never reads this file).
"""

from __future__ import annotations

import pathlib
import sys

_UNIT = pathlib.Path(__file__).resolve().parent / "unit"
for _directory in (_UNIT, _UNIT / "filter", _UNIT / "plugin_utils"):
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))
