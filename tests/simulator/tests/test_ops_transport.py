# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The loader's five stdin lines (bootstrap, library sha256, code, library, batch) on a Host, dispatched as the server
dispatches a loader command: the library cache (absent, present, hit, miss, stored), and what the loader refuses."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib

import pytest
from ansible.plugins.shell.powershell import _parse_clixml
from ecs_windows_sim import model
from sim_scripts import loader, loader_document, new_host, pack, probe_args, script_module

PROBE = ("probe", probe_args("none"))
SET_X = ("set_machine_env", {"set": {"ECS_INSTANCE_ATTRIBUTES": '{"x":"1"}'}, "remove": []})
CACHE_DIR = r"C:\ProgramData\Amazon\ECS\ecs_windows.task_iam\cache"
LIBRARY = script_module.library()
LIBRARY_SHA256 = script_module.library_sha256()
CACHED = CACHE_DIR + "\\" + LIBRARY_SHA256 + ".ps1"
MISS = {"contract": 2, "cache": "miss", "results": [], "error": None}


@pytest.fixture
def host(tmp_path):
    return new_host(tmp_path)


def lines(stdin: bytes) -> list[str]:
    return stdin.decode("ascii").split("\n")


def joined(parts: list[str]) -> bytes:
    return "\n".join(parts).encode("ascii")


def deflate(text: str) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(text.encode("utf-8")) + packer.flush()).decode("ascii")


def refused(host, stdin: bytes) -> str:
    rc, stdout, stderr = loader(host, stdin)
    assert (rc, stdout) == (1, b"") and stderr.startswith(b"#< CLIXML\r\n")
    return _parse_clixml(stderr).decode("utf-8")


def attributes(host):
    return model.env_get(host.state, "ECS_INSTANCE_ATTRIBUTES")


def test_code_sent_runs_and_the_cache_is_absent(host):
    document = loader_document(host, pack([PROBE, SET_X]))
    assert document["cache"] == "absent" and document["error"] is None
    assert [r["op"] for r in document["results"]] == ["probe", "set_machine_env"]
    assert attributes(host) == '{"x":"1"}'


def test_a_batch_without_code_on_a_host_without_the_library_is_a_miss_and_runs_nothing(host):
    before = json.dumps(host.state, sort_keys=True)
    assert loader_document(host, pack([SET_X], send_code=False)) == MISS
    assert json.dumps(host.state, sort_keys=True) == before
    # Sending the library along changes nothing: there is no code to run it with.
    assert loader_document(host, pack([SET_X], store=True, send_code=False, send_library=True)) == MISS
    assert host.read_file(CACHED) is None


def test_a_library_sent_with_store_is_kept_then_used(host):
    document = loader_document(host, pack([PROBE], store=True, send_library=True))
    assert document["cache"] == "stored" and document["error"] is None
    assert host.read_file(CACHED) == LIBRARY.encode("utf-8")  # UTF-8 without BOM, under its sha256
    assert hashlib.sha256(host.read_file(CACHED)).hexdigest() == LIBRARY_SHA256
    # Kept in the boot folder, which Save-EcsLibrary secures first.
    assert model.acl_trusted(model.acl_facts(host.state, model.BOOT_DIR))
    # A batch that carries only its arguments now runs the cached library.
    document = loader_document(host, pack([SET_X], send_code=False))
    assert document["cache"] == "hit" and document["error"] is None and document["results"][0]["op"] == "set_machine_env"
    assert attributes(host) == '{"x":"1"}'
    # Code sent to a host that has the library: it runs the code and reports the library present.
    assert loader_document(host, pack([PROBE]))["cache"] == "present"
    again = loader_document(host, pack([PROBE], store=True, send_library=True))
    assert again["cache"] == "present"  # not stored twice


def test_a_library_is_kept_only_when_the_batch_may_store_it(host):
    """check mode: the controller sends store=false; nothing is written on the host."""
    assert loader_document(host, pack([PROBE], store=False, send_library=True))["cache"] == "absent"
    assert loader_document(host, pack([PROBE], store=True, send_library=False))["cache"] == "absent"
    assert host.read_file(CACHED) is None and host.path_kind(CACHE_DIR) is None


def test_the_library_is_stored_whatever_the_ops_did(host):
    host.apply_setting("ecstools", "absent")
    init = ("init_agent", {"settings": {"cluster": "prod", "enable_task_iam_role": True, "version": None,
                                        "logging_drivers": None, "enable_task_eni": False, "awsvpc_block_imds": False,
                                        "awsvpc_additional_local_routes": None}, "timeout_s": 60,
                           "attempts": 1, "retry_delay_s": 0})
    document = loader_document(host, pack([init], lock={"wait_s": 5, "holder": "t"}, store=True, send_library=True))
    assert document["error"]["category"] == "init_failed" and document["cache"] == "stored"
    assert loader_document(host, pack([PROBE], send_code=False))["cache"] == "hit"


def test_storing_replaces_older_libraries(host):
    loader_document(host, pack([PROBE], store=True, send_library=True))
    old = CACHE_DIR + "\\" + "0" * 64 + ".ps1"
    host.write_file(old, b"an older library")
    host.remove_path(CACHED, recurse=False)
    assert loader_document(host, pack([PROBE], store=True, send_library=True))["cache"] == "stored"
    assert host.read_file(old) is None and host.read_file(CACHED) is not None


def test_a_tampered_cached_library_is_not_run(host):
    loader_document(host, pack([PROBE], store=True, send_library=True))
    # Whoever could write there replaced it: same name, other text. Its sha256 no longer matches its name.
    tampered = LIBRARY.replace("function Invoke-EcsOpProbe", "function Invoke-EcsOpProbe2", 1)
    host.write_file(CACHED, tampered.encode("utf-8"))
    before = json.dumps(host.state, sort_keys=True)
    assert loader_document(host, pack([SET_X], send_code=False)) == MISS
    assert json.dumps(host.state, sort_keys=True) == before
    # The controller then sends the code, which runs.
    document = loader_document(host, pack([SET_X], store=True, send_library=True))
    assert document["error"] is None and attributes(host) == '{"x":"1"}'


def test_a_library_that_does_not_match_its_hash_is_not_stored(host):
    parts = lines(pack([PROBE], store=True, send_library=True))
    parts[1] = "ab" * 32
    assert loader_document(host, joined(parts))["cache"] == "absent"
    assert host.path_kind(CACHE_DIR) is None


def test_a_hash_that_is_not_hex_is_never_looked_up(host):
    parts = lines(pack([PROBE], send_code=False))
    parts[1] = "..\\..\\..\\Windows\\System32\\evil"
    assert loader_document(host, joined(parts)) == MISS


def test_the_bootstrap_must_be_the_collections(host):
    parts = lines(pack([PROBE]))
    parts[0] = deflate("Write-Output 'other bootstrap'")
    assert "the loader's first stdin line is not the collection's bootstrap" in refused(host, joined(parts))


def test_bad_base64_and_bad_deflate_fail_as_dotnet_does(host):
    parts = lines(pack([PROBE]))
    bad = list(parts)
    bad[0] = "not*base64"
    assert refused(host, joined(bad)).startswith('Exception calling "FromBase64String" with "1" argument(s)')
    bad = list(parts)
    bad[2] = base64.b64encode(b"\xff" * 40).decode("ascii")
    assert refused(host, joined(bad)).startswith('Exception calling "ReadToEnd" with "0" argument(s): "Block length '
                                                 'does not match with its complement."')
