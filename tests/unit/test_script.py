"""The script builder: compaction keeps every PowerShell token, and the built script is what the contract says."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _script
from test_powershell_static import PARSER

PS_DIR = pathlib.Path(_script.__file__).parent / "powershell"


def tokens(text):
    """Leaf tokens of the parse tree, without comments: what PowerShell executes."""
    out, stack = [], [PARSER.parse(text.encode()).root_node]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            continue
        if node.child_count == 0:
            out.append(node.text)
        stack.extend(reversed(node.children))
    return out


@pytest.mark.parametrize("path", sorted(PS_DIR.glob("*.ps1")), ids=lambda p: p.name)
def test_compaction_keeps_every_token(path):
    text = path.read_text(encoding="ascii")
    compacted = _script.compact(text)
    assert tokens(compacted) == tokens(text)
    assert len(compacted) < len(text)


def test_compaction_keeps_here_string_bodies_verbatim():
    text = "$a = @'\n    # not a comment\n\n  indented\n'@\n  # a comment\n    Write-Output -InputObject $a\n"
    assert _script.compact(text) == "$a = @'\n    # not a comment\n\n  indented\n'@\nWrite-Output -InputObject $a"


def test_compaction_check_can_fail():
    # A comment-looking line inside a multi-line string is data; dropping it changes the tokens, which the test sees.
    text = "$a = 'one\n# two\nthree'\n"
    assert tokens(_script.compact(text)) != tokens(text)


def test_built_script_layout():
    script = _script.build_script([("probe", {"container_detail": "none", "files": ["C:\\x'$(y)`z"]})])
    lines = script.rstrip("\n").split("\n")
    assert lines[0] == "%s probe" % _script.CONTRACT["marker_prefix"]
    assert lines[-1] == "Invoke-EcsBatch -EncodedBatch $EcsBatch"
    assert lines[-2].startswith("$EcsBatch = '") and lines[-2].endswith("'")
    batch = json.loads(base64.b64decode(lines[-2][len("$EcsBatch = '"):-1]))
    assert batch == {"contract": 1, "ops": [{"op": "probe", "args": {"container_detail": "none", "files": ["C:\\x'$(y)`z"]}}]}
    assert "$(y)" not in script.replace(lines[-2], "")
    assert script.isascii()


def test_an_ops_dependencies_travel_with_it():
    script = _script.build_script([("recover_proxy", {})])
    assert script.split("\n", 1)[0].endswith(" init_agent,recover_proxy,remove_proxy,wait_registered")
    for name in ("Invoke-EcsOpInitAgent", "Invoke-EcsOpRemoveProxy", "Invoke-EcsOpWaitRegistered", "Invoke-EcsOpRecoverProxy"):
        assert "function %s" % name in script
