"""Host faults and scenario settings through the wire: the sporadic vEthernet (nat) adapter error,
IIS on port 80, 51679 in an excluded port range, duplicate vEthernet (nat) adapters after sysprep."""

from __future__ import annotations

import pytest
from sim_scripts import init_args, winrm_ops, winrm_probe, winrm_result

ADAPTER_ERROR = "VMNetwork adapter 'vEthernet (nat)*' not found"


@pytest.fixture(scope="module")
def sim(module_sim_factory):
    return module_sim_factory(hosts=4, scheme="http", auth="ntlm")


def test_adapter_not_found_injected_n_times(sim):
    host = sim.hosts[0]
    sim.ctl("fault", host, "init-adapter-not-found", "--count", 2)
    assert winrm_result(sim, host, "init_agent", init_args(attempts=3)) == {
        "attempts": 3, "retried_errors": [ADAPTER_ERROR, ADAPTER_ERROR]}
    assert winrm_probe(sim, host)["endpoints"]["proxy"]["ok"] is True

    sim.ctl("fault", host, "init-adapter-not-found", "--count", 3)
    document = winrm_ops(sim, host, ("init_agent", init_args(attempts=2)))
    assert document["results"] == []
    assert document["error"] == {"op": "init_agent", "index": 0, "category": "init_failed",
                                 "message": "Initialize-ECSAgent failed (attempt 2 of 2): " + ADAPTER_ERROR}
    assert sim.ctl("state", host)["pending_faults"]["init-adapter-not-found"] == 1


def test_iis_holds_port_80(sim):
    host = sim.hosts[1]
    sim.ctl("set", host, "iis=on")
    winrm_result(sim, host, "init_agent", init_args())
    facts = winrm_probe(sim, host)
    assert facts["services"]["W3SVC"]["status"] == "Running"
    assert facts["port80_listeners"][0] == {"local_address": "0.0.0.0", "local_port": 80, "pid": 4,
                                            "process": "System", "service": None}
    assert facts["endpoints"]["proxy"] == {"ok": False, "status": 404, "code": None, "error": None}


def test_excluded_51679_keeps_the_agent_off_tmds(sim):
    host = sim.hosts[2]
    sim.ctl("set", host, "excluded-port=51679")
    winrm_result(sim, host, "init_agent", init_args())
    facts = winrm_probe(sim, host)
    assert facts["excluded_port_ranges"] == [{"start": 51679, "end": 51679}]
    assert facts["registration"]["reachable"] is True
    assert facts["endpoints"]["agent_tmds"]["error"] == "Unable to connect to the remote server"
    assert facts["endpoints"]["proxy"]["ok"] is False


def test_duplicate_nat_adapters_make_init_fail(sim):
    host = sim.hosts[3]
    sim.ctl("set", host, "duplicate-nat=on")
    assert [a["name"] for a in winrm_probe(sim, host)["nat_adapters"]] == [
        "vEthernet (nat)", "vEthernet (nat) 2", "vEthernet (nat) 3"]
    document = winrm_ops(sim, host, ("init_agent", init_args(attempts=5)))
    assert document["error"]["category"] == "init_failed"
    assert document["error"]["message"].endswith("attempt 1 of 5): You cannot call a method on a null-valued expression.")


def test_bad_settings_and_faults_are_refused(sim):
    done = sim.ctl_run("set", sim.hosts[0], "iis=maybe")
    assert done.returncode != 0 and "iis=maybe: value must be one of on|off" in done.stderr
    done = sim.ctl_run("fault", sim.hosts[0], "init-disk-full")
    assert done.returncode != 0
