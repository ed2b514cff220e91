# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows PowerShell 5.1 catalog check (`shared/ps51/check.py`, outside the repository) for generated scripts.

    problems = ps51.check_script(text)     # [] when the catalog check reports nothing; pytest.skip when it is absent

The catalog lives beside the project checkout (`../shared/ps51`, or `../../shared/ps51` from a worktree under
`wt/`), or where PS51_DIR points; it is never copied into the repository, so a user's clone skips these checks.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def catalog_dir() -> pathlib.Path | None:
    candidates = [os.environ.get("PS51_DIR")] if os.environ.get("PS51_DIR") else []
    candidates += [str(ROOT.parent / "shared" / "ps51"), str(ROOT.parents[1] / "shared" / "ps51")]
    for candidate in candidates:
        path = pathlib.Path(candidate)
        if (path / "check.py").is_file() and (path / "catalog.json").is_file():
            return path
    return None


def check_script(text: str) -> list[str]:
    """The catalog check's report lines for `text` ([] when it has nothing to report); skips the calling test when
    the catalog is not there."""
    import pytest

    folder = catalog_dir()
    if folder is None:
        pytest.skip("the Windows PowerShell 5.1 catalog (../shared/ps51, or PS51_DIR) is not here: catalog check skipped")
    with tempfile.TemporaryDirectory() as temp:
        path = pathlib.Path(temp) / "generated.ps1"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run([sys.executable, str(folder / "check.py"), "--script", str(path)], capture_output=True,
                              text=True, timeout=120, check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == 0 and lines and lines[-1].endswith(": 0 problems"):
        return []
    return lines[:-1] or [done.stdout + done.stderr]
