# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The masking rule of Machine environment values, held together: the controller's (_env.mask, for wanted values in
diffs and changes) and the simulator's emulation of the probe's ConvertTo-EcsMaskedValue (prelude.ps1)."""

from __future__ import annotations

import pytest

import probe_data as pd
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _env, _findings

ecs_sim_prelude = pytest.importorskip("ecs_windows_sim.ops._prelude")

CASES = [
    ("HTTP_PROXY", "http://proxy.example.com:3128", "http://proxy.example.com:3128"),
    ("HTTP_PROXY", "http://ops:pw@proxy.example.com:3128", "http://********@proxy.example.com:3128"),
    ("HTTPS_PROXY", "ops:pw@proxy.example.com:3128", "********@proxy.example.com:3128"),
    ("http_proxy", "https://ghp_token@proxy.example.com:3128", "https://********@proxy.example.com:3128"),
    ("HTTP_PROXY", "http://ops:p@ss@proxy.example.com:3128", "http://********@proxy.example.com:3128"),
    # A URL the userinfo shape does not match whole: masked whole (issue 9: these were shown in clear).
    ("HTTPS_PROXY", " http://ops:pw@proxy.example.com:3128", "********"),
    ("HTTP_PROXY", '"http://ops:pw@proxy.example.com:3128"', "********"),
    ("ECS_SOME_URLS", "http://a.example,http://ops:pw@b.example", "http://a.example,http://********@b.example"),
    ("ECS_HOSTILE", "@' x '@ #comment", "@' x '@ #comment"),
    ("NO_PROXY", "a, ops:pw@b", "********"),
    ("ECS_ENGINE_AUTH_DATA", '{"r":{"password":"pw"}}', "********"),
    ("ECS_SQL_PWD", "pw", "********"),
    ("NO_PROXY", "169.254.169.254,169.254.170.2,.corp.example", "169.254.169.254,169.254.170.2,.corp.example"),
]


@pytest.mark.parametrize("name, value, shown", CASES)
def test_controller_and_probe_mask_alike(name, value, shown):
    assert _env.mask(name, value) == shown
    assert ecs_sim_prelude.masked(name, value) == shown
    assert "pw" not in shown and "ghp_token" not in shown


def test_a_no_proxy_fix_never_writes_a_masked_value_back():
    facts = pd.configured()
    facts["machine_env"].update(HTTP_PROXY="http://proxy.example.com:3128", NO_PROXY=_env.mask("NO_PROXY", "a, u:pw@b"))
    [fix] = [f["fix"] for f in _findings.findings(facts) if f["code"] == "no_proxy_missing"]
    assert "SetEnvironmentVariable" not in fix and _env.MASK not in fix
    assert fix.endswith("add 169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine to Machine NO_PROXY and "
                        "Restart-Service -Name AmazonECS")
