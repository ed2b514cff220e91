# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows PowerShell 5.1 catalog check: every command and named parameter the collection's PowerShell uses must
exist in Windows PowerShell 5.1 on Windows Server 2016/2019 (`shared/ps51/check.py` and its catalog, see its README).

Checked: every plugins/plugin_utils/powershell/*.ps1 (their functions count as defined for each other), and, each on
its own (`--script`), the scripts the collection generates - the boot script the startup task runs, the op library a
host caches, the bootstrap the loader runs first, the launch user data of the `user_data` filter in the option
combinations its tests use, and the PowerShell form of the `bootstrap_script` filter.

The catalog is reference data of the project's workspace and is not part of the repository (its README says so): it
is looked up as `shared/ps51/` next to the checkout or to a folder above it (a git worktree), or in
$ECS_WINDOWS_PS51_DIR. Where it is absent (a user's clone) the module is skipped, saying so.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.filter.bootstrap_script import bootstrap_script
from ansible_collections.ecs_windows.task_iam.plugins.filter.user_data import user_data
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _boot_task, _script

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS_DIR = ROOT / "plugins" / "plugin_utils" / "powershell"


def find_catalog() -> pathlib.Path | None:
    """The folder holding check.py and catalog.json: $ECS_WINDOWS_PS51_DIR, else the first shared/ps51 beside the
    checkout or one of the folders above it."""
    configured = os.environ.get("ECS_WINDOWS_PS51_DIR")
    candidates = [pathlib.Path(configured)] if configured else [p / "shared" / "ps51" for p in ROOT.parents]
    for folder in candidates:
        if (folder / "check.py").is_file() and (folder / "catalog.json").is_file():
            return folder
    return None


CATALOG = find_catalog()
# Collected and skipped (not a module-level skip: pytest exits 5 when it collects nothing, which tests/run-all.sh
# counts as a failure).
pytestmark = pytest.mark.skipif(
    CATALOG is None,
    reason="Windows PowerShell 5.1 catalog check skipped: %s. The catalog is reference data of the project's "
    "workspace, not part of the repository (a clone has none)."
    % (
        "ECS_WINDOWS_PS51_DIR=%s holds no check.py with its catalog.json" % os.environ["ECS_WINDOWS_PS51_DIR"]
        if os.environ.get("ECS_WINDOWS_PS51_DIR")
        else "no shared/ps51/check.py with its catalog.json beside this checkout (%s) or above it" % ROOT.parent
    ),
)


def check(*args: str) -> subprocess.CompletedProcess:
    """check.py with this interpreter (it needs tree-sitter-powershell, which the dev venv has)."""
    return subprocess.run(
        [sys.executable, str(CATALOG / "check.py"), *args], capture_output=True, text=True, timeout=300, check=False
    )


def summary(done: subprocess.CompletedProcess) -> str:
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


# --- what the collection generates -----------------------------------------------------------------------------------

# The user_data combinations of tests/unit/filter/test_filter_user_data.py: the AWS form, every option at once, and
# each option on its own.
USER_DATA = {
    "minimal": {},
    "all-options": dict(
        agent_version="v1.105.1",
        logging_drivers=["json-file", "awslogs"],
        enable_task_eni=True,
        awsvpc_block_imds=True,
        awsvpc_additional_local_routes=["172.31.42.23/32", "10.0.0.0/8"],
        awslogs_executionrole_override=True,
        http_proxy="http://proxy.example.com:3128",
        https_proxy="http://proxy.example.com:3129",
        no_proxy=[".internal.example.com", "10.0.0.0/8"],
        agent_env={"ECS_ENABLE_SPOT_INSTANCE_DRAINING": True, "ECS_CONTAINER_STOP_TIMEOUT": "2m"},
        winrm_https=True,
        initialize_attempts=5,
        persist=True,
    ),
    "version": dict(agent_version="latest"),
    "logging-drivers": dict(logging_drivers=["json-file"]),
    "task-eni": dict(enable_task_eni=True),
    "awsvpc": dict(enable_task_eni=True, awsvpc_block_imds=True, awsvpc_additional_local_routes=["10.0.0.0/8"]),
    "awslogs-override": dict(awslogs_executionrole_override=True),
    "proxy": dict(http_proxy="https://p.example.com"),
    "proxies": dict(http_proxy="http://p.example.com:3128", https_proxy="http://p.example.com:3129", no_proxy=["a.b"]),
    "agent-env": dict(agent_env={"ECS_MY_SETTING": "x'; Remove-Item C:\\ -Recurse; '"}),
    "winrm-https": dict(winrm_https=True),
    "attempts": dict(initialize_attempts=1),
    "persist": dict(persist=True),
}


def user_data_script(options: dict) -> str:
    """The PowerShell between the <powershell> tags."""
    text = user_data("windows", **options)
    body = text.split("<powershell>\n", 1)[1].split("\n</powershell>", 1)[0]
    assert body.strip() and "<powershell>" not in body, text
    return body + "\n"


def generated_scripts() -> dict[str, str]:
    """name -> PowerShell text of every script the collection generates."""
    scripts = {
        "boot-script-defaults": _boot_task.script(_boot_task.recover_args(5, 10, 300, 900)),
        "boot-script-single-attempt": _boot_task.script(_boot_task.recover_args(1, 0, 0, 30)),
        "op-library": _script.library(),
        "bootstrap": _script.bootstrap(),
        "bootstrap_script-powershell": bootstrap_script("powershell"),
        "bootstrap_script-powershell-no-imds": bootstrap_script("powershell", imds=False),
    }
    for name, options in USER_DATA.items():
        scripts["user_data-" + name] = user_data_script(options)
    return scripts


# --- the checks ------------------------------------------------------------------------------------------------------


def test_the_collection_ps1_files_use_only_what_windows_powershell_51_has():
    files = sorted(PS_DIR.glob("*.ps1"))
    assert len(files) >= 15
    done = check(*map(str, files))
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(done).endswith("in %d files checked against Windows PowerShell 5.1 (Server 2016/2019): 0 problems"
                                  % len(files)), done.stdout


def test_the_generated_scripts_use_only_what_windows_powershell_51_has(tmp_path):
    scripts = generated_scripts()
    args = []
    for name, text in scripts.items():
        path = tmp_path / (name + ".ps1")
        path.write_text(text, encoding="utf-8")
        args += ["--script", str(path)]
    done = check(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(done).endswith("in %d files checked against Windows PowerShell 5.1 (Server 2016/2019): 0 problems"
                                  % len(scripts)), done.stdout
    # The checker really saw the commands: a boot script alone calls dozens.
    calls = int(summary(done).split("ps51 catalog check: ", 1)[1].split(" command calls", 1)[0])
    assert calls > 100, summary(done)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Get-Service -Nmae 'docker'\n", "Nmae"),
        ("Stop-Service -Name 'docker' -TimeoutSec 5\n", "TimeoutSec"),
        ("$r = Get-ScheduledTaskInformation -TaskName 'x'\n", "Get-ScheduledTaskInformation"),
        ("Invoke-WebRequest -Uri 'https://example.com' -NoProxy\n", "NoProxy"),
    ],
)
def test_the_check_fails_on_what_windows_powershell_51_lacks(tmp_path, text, expected):
    # The wiring above must be able to fail: a generated script with a parameter or command 5.1 does not have.
    path = tmp_path / "bad.ps1"
    path.write_text(text, encoding="utf-8")
    done = check("--script", str(path))
    assert done.returncode == 1 and expected in done.stdout, done.stdout + done.stderr
    assert not summary(done).endswith(": 0 problems")
