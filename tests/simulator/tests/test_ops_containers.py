"""container_routes: routes inside running containers, PowerShell and cmd-only images."""

from __future__ import annotations

from sim_scripts import new_host, probe, result, run

CREDS = {"destination": "169.254.170.2/32", "next_hop": "172.29.80.1"}
IMDS = {"destination": "169.254.169.254/32", "next_hop": "172.29.80.1"}


def routes(host, requests):
    return result(host, "container_routes", {"containers": requests})["containers"]


def test_add_and_remove_routes(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1, containers_cmd=1)
    ps, cmd = probe(host)["containers"]
    out = routes(host, [{"id": ps["id"], "shell": "powershell", "add": [CREDS, IMDS], "remove": []},
                        {"id": cmd["id"], "shell": "cmd", "add": [CREDS], "remove": []}])
    assert out == [{"id": ps["id"], "added": ["169.254.170.2/32", "169.254.169.254/32"], "removed": [], "error": None},
                   {"id": cmd["id"], "added": ["169.254.170.2/32"], "removed": [], "error": None}]
    assert probe(host)["containers"][0]["routes"] == [ps["routes"][0], CREDS, IMDS]
    out = routes(host, [{"id": ps["id"], "shell": "powershell", "add": [], "remove": ["169.254.169.254/32"]}])
    assert out[0]["removed"] == ["169.254.169.254/32"]
    assert probe(host)["containers"][0]["routes"] == [ps["routes"][0], CREDS]


def test_probe_reports_only_the_managed_routes(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1)
    cid = probe(host)["containers"][0]["id"]
    routes(host, [{"id": cid, "shell": "powershell", "add": [{"destination": "10.9.9.9/32", "next_hop": "172.29.80.1"}, CREDS],
                   "remove": []}])
    assert [r["destination"] for r in probe(host)["containers"][0]["routes"]] == ["0.0.0.0/0", "169.254.170.2/32"]


def test_errors_are_per_container(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1, containers_cmd=1)
    ps, cmd = probe(host)["containers"]
    routes(host, [{"id": ps["id"], "shell": "powershell", "add": [CREDS], "remove": []}])
    out = routes(host, [
        {"id": "0" * 64, "shell": "powershell", "add": [CREDS], "remove": []},
        {"id": cmd["id"], "shell": "powershell", "add": [CREDS], "remove": []},
        {"id": ps["id"], "shell": "powershell", "add": [IMDS, CREDS], "remove": []},
        {"id": ps["id"], "shell": "cmd", "add": [], "remove": ["10.9.9.9/32"]},
    ])
    assert out[0]["error"] == "No such container: " + "0" * 64
    assert out[1]["error"] == 'exec: "powershell": executable file not found in %PATH%'
    assert out[2] == {"id": ps["id"], "added": ["169.254.169.254/32"], "removed": [],
                      "error": "169.254.170.2/32: New-NetRoute : Instance MSFT_NetRoute already exists"}
    assert out[3]["error"] == "10.9.9.9/32: Element not found."


def test_routes_are_gone_with_the_containers_after_reboot(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1)
    cid = probe(host)["containers"][0]["id"]
    host.reboot()
    assert routes(host, [{"id": cid, "shell": "powershell", "add": [CREDS], "remove": []}])[0]["error"].startswith(
        "No such container")


def test_ids_are_checked_and_prefixes_resolve(tmp_path):
    host = new_host(tmp_path, init_agent="prod", containers=1)
    cid = probe(host)["containers"][0]["id"]
    out = routes(host, [{"id": cid[:12], "shell": "powershell", "add": [CREDS], "remove": []}])
    assert out[0]["error"] is None and out[0]["id"] == cid[:12]
    document = run(host, ("container_routes", {"containers": [
        {"id": "NOT-HEX", "shell": "cmd", "add": [], "remove": []}]}))
    assert document["error"]["message"] == "container id must be 12 to 64 lower-case hex characters, got 'NOT-HEX'"
