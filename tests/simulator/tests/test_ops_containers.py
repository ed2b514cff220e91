"""container_routes: routes inside running containers, PowerShell and cmd-only images."""

from __future__ import annotations

import pytest

from sim_scripts import new_host, probe, result, run

CREDS = {"destination": "169.254.170.2/32", "next_hop": "172.29.80.1"}
IMDS = {"destination": "169.254.169.254/32", "next_hop": "172.29.80.1"}


def routes(host, requests, timeout_s=60):
    return result(host, "container_routes", {"containers": requests, "timeout_s": timeout_s})["containers"]


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
        {"id": "NOT-HEX", "shell": "cmd", "add": [], "remove": []}], "timeout_s": 60}))
    assert document["error"]["message"] == "container id must be 12 to 64 lower-case hex characters, got 'NOT-HEX'"


def test_docker_hang_in_one_container(tmp_path, sleeps):
    host = new_host(tmp_path, init_agent="prod", containers=2)
    first, second = probe(host)["containers"]
    host.inject_fault("docker-hang", 1, container=first["name"])
    out = routes(host, [{"id": c["id"], "shell": "powershell", "add": [CREDS], "remove": []} for c in (first, second)],
                 timeout_s=7)
    assert out[0] == {"id": first["id"], "added": [], "removed": [],
                      "error": "docker inspect %s did not finish within 7 s and was stopped" % first["id"]}
    assert out[1] == {"id": second["id"], "added": ["169.254.170.2/32"], "removed": [], "error": None}
    assert sleeps == [7]  # only the hung container cost its timeout
    facts = probe(host)
    assert sleeps == [7, 15]  # probe.ps1 gives each docker exec 15 s
    assert facts["containers_error"] is None
    hung, answered = facts["containers"]
    assert (hung["shell"], hung["gateway"], hung["routes"]) == (None, None, None)
    assert hung["error"] == "docker exec %s (powershell) did not finish within 15 s and was stopped" % first["id"][:12]
    assert answered["error"] is None and CREDS in answered["routes"]


def test_docker_hang_of_docker_itself(tmp_path, sleeps):
    host = new_host(tmp_path, init_agent="prod", containers=1)
    cid = probe(host)["containers"][0]["id"]
    host.inject_fault("docker-hang", 1)
    facts = probe(host)
    assert (facts["containers"], facts["containers_error"]) == (None, "docker ps did not finish within 20 s and was stopped")
    assert sleeps == [20]
    assert probe(host, "none")["containers"] == [] and sleeps == [20]  # nothing asked of docker
    out = routes(host, [{"id": cid, "shell": "powershell", "add": [CREDS], "remove": []}], timeout_s=5)
    assert out[0]["error"] == "docker inspect %s did not finish within 5 s and was stopped" % cid and sleeps == [20, 5]
    # docker-hang lasts until it is cleared (--count 0): docker does not recover by itself.
    assert probe(host)["containers"] is None
    host.inject_fault("docker-hang", 0)
    assert probe(host)["containers"][0]["id"] == cid


def test_docker_hang_fault_arguments(tmp_path):
    host = new_host(tmp_path)
    with pytest.raises(ValueError, match="--container applies only to the docker-hang fault"):
        host.inject_fault("init-hang", 1, container="x")
    with pytest.raises(ValueError, match="fault count must be 0 or more, got -1"):
        host.inject_fault("docker-hang", -1)
