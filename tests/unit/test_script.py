"""The script builder: compaction keeps every PowerShell token, and the built script is what the contract says."""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import zlib

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
    assert batch == {"contract": 2, "lock": None, "store": False,
                     "ops": [{"op": "probe", "args": {"container_detail": "none", "files": ["C:\\x'$(y)`z"]}}]}
    assert "$(y)" not in script.replace(lines[-2], "")
    assert script.isascii()


def test_an_ops_dependencies_travel_with_it():
    script = _script.build_script([("recover_proxy", {})])
    assert script.split("\n", 1)[0].endswith(" init_agent,recover_proxy,remove_proxy,wait_registered")
    for name in ("Invoke-EcsOpInitAgent", "Invoke-EcsOpRemoveProxy", "Invoke-EcsOpWaitRegistered", "Invoke-EcsOpRecoverProxy"):
        assert "function %s" % name in script


# --- what a batch carries (issue 10 item 2) -------------------------------------------------------------------


def test_a_batch_carries_only_the_prelude_it_uses():
    probe = _script.code([("probe", {})])
    service = _script.code([("service", {})])
    assert "function Get-EcsProbeBoot" in probe and "function Get-EcsProbeBoot" not in service
    assert "function Invoke-EcsInitializeAgent" not in probe
    # What the probe does not reference stays home: the lock (only mutating batches take it), the install helpers.
    assert "function Enter-EcsHostLock" not in probe and "function Enter-EcsHostLock" in _script.code([("service", {})], lock=True)
    assert "function Save-EcsLibrary" not in service and "function Save-EcsLibrary" in _script.code([("probe", {})], saves=True)
    for name in _script.needed([probe], _script.LOCK_DEFINITIONS | _script.STORE_DEFINITIONS):
        assert name in probe  # everything it names is defined


def test_a_definition_is_included_only_when_something_included_references_it():
    definitions, _pattern = _script._definitions()
    code = _script.code([("wait_registered", {})])
    included = [name for name in definitions if (("function %s " % name) in code or ("$%s = " % name) in code)]
    skip = _script.LOCK_DEFINITIONS | _script.STORE_DEFINITIONS
    assert set(included) == set(_script.needed([_script.compact(_script._read("wait_registered.ps1")), "Invoke-EcsBatch"], skip))


def test_constants_come_from_the_contract_and_the_host_vocabulary():
    code = _script.code([("probe", {})])
    assert "$EcsContractVersion = %d" % _script.CONTRACT_VERSION in code
    assert "$EcsCredentialsIp = '169.254.170.2'" in code
    assert "$EcsAgentDataDir" not in code  # only what the probe reads


def _inflate(text):
    return zlib.decompress(base64.b64decode(text), -15).decode("utf-8")


def test_stdin_is_the_bootstrap_the_library_hash_the_deflated_code_and_the_batch():
    calls = [("probe", {"container_detail": "none", "files": [], "salt": "0" * 16})]
    lines = _script.pack(calls).decode("ascii").split("\n")
    assert len(lines) == 6 and lines[5] == ""
    assert _inflate(lines[0]) == _script.bootstrap() and "function Expand-EcsText" in _script.bootstrap()
    assert lines[1] == _script.library_sha256() == hashlib.sha256(_script.library().encode()).hexdigest()
    assert _inflate(lines[2]) == _script.code(calls) and lines[3] == ""
    assert json.loads(base64.b64decode(lines[4]))["ops"] == [{"op": "probe", "args": calls[0][1]}]
    only_batch = _script.pack(calls, send_code=False).decode("ascii").split("\n")
    assert only_batch[2] == "" and len(_script.pack(calls, send_code=False)) < 2000 < len(_script.pack(calls))


def test_the_library_defines_every_op_and_ends_running_the_batch():
    library = _script.library()
    for spec in _script.CONTRACT["ops"].values():
        assert "function %s {" % spec["function"] in library
    assert library.rstrip("\n").endswith("Invoke-EcsBatch -EncodedBatch $EcsBatch")


def test_the_loader_is_small_and_runs_the_bootstrap_from_the_first_stdin_line():
    loader = _script._read("loader.ps1")
    assert loader.splitlines()[0] == _script.CONTRACT["loader_marker"]
    assert "FromBase64String($EcsLines[0])" in loader and len(_script.LOADER_COMMAND) < 1600


def test_the_bootstrap_uses_the_cache_folder_of_the_host_vocabulary():
    from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _host

    assert "$EcsCacheDir = '%s'" % _host.CACHE_DIR in _script.bootstrap()


def test_what_every_command_needs_is_built_at_import():
    # Ansible imports an action plugin in its main process, then forks a worker per host and task: what is built at
    # import is inherited, what is built on first use is built again in every worker (docs/benchmarks.md).
    import importlib

    fresh = importlib.reload(_script)  # runs the module again, with empty caches
    sizes = [f.cache_info().currsize for f in (fresh.bootstrap, fresh.library, fresh.library_sha256, fresh._code)]
    assert sizes == [1, 1, 1, 3]  # _code: the library's, the probe's, and the probe's that keeps the library
