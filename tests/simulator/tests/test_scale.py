"""100 hosts from one simulator process answer one op script each, concurrently, without errors.

The throughput printed here is a measurement (recorded in tests/simulator/README.md), not an assertion:
pywinrm clients and the simulator share the same two cores.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sim_scripts import pack, probe_args, winrm_stdin

HOSTS = 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
PROBE = pack([("probe", probe_args("none"))])


def probe_host(sim, host: str) -> str:
    rc, stdout, stderr = winrm_stdin(sim, host, PROBE)
    assert rc == 0, stderr
    return json.loads(stdout)["results"][0]["result"]["host"]["hostname"]


@pytest.mark.parametrize("scheme, auth", [("http", "ntlm")])
def test_hundred_hosts_answer_concurrently(sim_factory, scheme, auth, record_property):
    start = time.monotonic()
    sim = sim_factory(hosts=HOSTS, scheme=scheme, auth=auth)
    startup = time.monotonic() - start
    assert len(sim.hosts) == HOSTS

    server_cpu = cpu_seconds(sim.proc.pid)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=HOSTS) as pool:
        futures = {host: pool.submit(probe_host, sim, host) for host in sim.hosts}
        errors = {}
        for host, future in futures.items():
            try:
                assert future.result() == host.upper()
            except Exception as exc:  # collected: the test reports every failing host at once
                errors[host] = repr(exc)
    wall = time.monotonic() - start
    server_cpu = cpu_seconds(sim.proc.pid) - server_cpu

    total = sim.control("counters")["total"]
    assert errors == {}
    assert total["commands"] == HOSTS and total["auth_failures"] == 0
    rate = total["http_requests"] / wall
    record_property("wall_seconds", round(wall, 2))
    record_property("requests_per_second", round(rate, 1))
    record_property("server_cpu_seconds", round(server_cpu, 2))
    print("\n%d hosts (%s/%s): startup %.1f s; %d commands, %d HTTP requests in %.2f s = %.0f requests/s, %.0f commands/s; "
          "server CPU %.2f s (%.1f ms per request)" % (HOSTS, scheme, auth, startup, total["commands"], total["http_requests"], wall,
                                                      rate, total["commands"] / wall, server_cpu, 1000 * server_cpu / total["http_requests"]))
