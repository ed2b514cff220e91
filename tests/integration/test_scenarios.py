# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end stories across the modules, through real ansible-playbook runs against simulated hosts.

FLOW: configure a fresh 2022 host, reboot it, instance_info finds proxy_stale_after_reboot, credential_proxy
repairs it in one run, on_boot installs the startup task, and the next reboot heals itself without Ansible.
The other hosts: sporadic initialisation failures retried, IIS and an excluded 51679 refused with the remedy,
and the agent module itself repairing a stale proxy.
"""

from __future__ import annotations

import pytest

from configure_plays import control, reboot, run_phase, setup, task

FLOW, RETRY, IIS, EXCLUDED, AGENT_FIX = ("ecs-sim-%03d" % n for n in range(1, 6))
AGENT = {"cluster": "windows", "init_retry_delay": 0}
PROXY = {"init_retry_delay": 0}
MAX_CHANGED_COMMANDS = 3


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=5)
    control(sim, "fault", RETRY, kind="init-adapter-not-found", count=2, ms=None)
    setup(sim, IIS, "iis=on")
    setup(sim, EXCLUDED, "excluded-port=51679")
    setup(sim, AGENT_FIX, "init-agent=windows")
    reboot(sim, AGENT_FIX)
    return sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("scenarios")


@pytest.fixture(scope="module")
def configured(sim, workdir):
    return run_phase(sim, workdir, {
        FLOW: [task("agent", AGENT), task("credential_proxy", PROXY)],
        RETRY: [task("agent", AGENT)],
        IIS: [task("agent", AGENT, ignore_errors=True)],
        EXCLUDED: [task("agent", AGENT, ignore_errors=True)],
        AGENT_FIX: [task("agent", AGENT)],
    })


@pytest.fixture(scope="module")
def after_first_reboot(sim, workdir, configured):
    reboot(sim, FLOW)
    return run_phase(sim, workdir, {FLOW: [task("instance_info", {"container_detail": "none"}), task("credential_proxy", PROXY),
                                           task("credential_proxy", dict(PROXY, on_boot=True), name="install on_boot")]})


@pytest.fixture(scope="module")
def after_second_reboot(sim, workdir, after_first_reboot):
    reboot(sim, FLOW)
    healed = control(sim, "state", FLOW)
    return healed, run_phase(sim, workdir, {FLOW: [task("instance_info", {"container_detail": "none"})]})


def test_fresh_2022_host_is_configured_and_healthy(configured):
    agent = configured.result(FLOW, "agent")
    assert configured.status(FLOW, "agent") == "ok" and agent["changed"] is True, configured.run
    assert agent["facts"]["endpoints"]["proxy"]["ok"] and agent["container_instance_arn"]
    assert agent["commands"] <= MAX_CHANGED_COMMANDS
    proxy = configured.result(FLOW, "credential_proxy")
    assert proxy["changed"] is False and proxy["cause"] == "healthy" and proxy["commands"] == 1


def test_reboot_leaves_the_proxy_stale_and_instance_info_says_so(after_first_reboot):
    info = after_first_reboot.result(FLOW, "instance_info")
    assert [f["code"] for f in info["findings"]] == ["proxy_stale_after_reboot"]
    assert info["healthy"] is False


def test_credential_proxy_repairs_it_in_one_run(after_first_reboot):
    proxy = after_first_reboot.result(FLOW, "credential_proxy")
    assert after_first_reboot.status(FLOW, "credential_proxy") == "ok", after_first_reboot.run
    assert proxy["changed"] is True and proxy["cause"] == "stale_after_reboot" and proxy["repaired"] is True
    assert proxy["commands"] <= MAX_CHANGED_COMMANDS
    assert proxy["facts"]["endpoints"]["proxy"]["ok"] is True


def test_with_on_boot_the_next_reboot_heals_itself_without_ansible(after_first_reboot, after_second_reboot):
    assert after_first_reboot.result(FLOW, "install on_boot")["changed"] is True
    healed, phase = after_second_reboot
    assert healed["derived"]["proxy_endpoint"]["ok"] is True  # read from the simulator before any Ansible run
    info = phase.result(FLOW)
    assert info["healthy"] is True and info["findings"] == []
    assert info["boot_recovery"]["installed"] is True and info["boot_recovery"]["last"]["action"] == "repaired"


def test_sporadic_adapter_not_found_is_retried_and_succeeds(configured):
    agent = configured.result(RETRY)
    assert configured.status(RETRY) == "ok", configured.run
    assert agent["init"]["attempts"] == 3
    assert agent["init"]["retried_errors"] and all("VMNetwork adapter 'vEthernet (nat)*' not found" in e
                                                   for e in agent["init"]["retried_errors"])
    assert len(agent["init"]["retried_errors"]) == 2
    assert agent["facts"]["endpoints"]["proxy"]["ok"] and agent["commands"] <= MAX_CHANGED_COMMANDS


@pytest.mark.parametrize("host, code, remedy", [
    (IIS, "port80_in_use", "name: W3SVC, state: stopped, start_mode: disabled"),
    (EXCLUDED, "agent_port_excluded", "netsh int ipv4 add excludedportrange protocol=tcp startport=51678 numberofports=2"),
], ids=["iis", "excluded-51679"])
def test_iis_and_excluded_port_are_refused_with_the_remedy(configured, host, code, remedy):
    agent = configured.result(host)
    assert configured.status(host) == "failed" and agent["changed"] is False
    assert remedy in agent["msg"] and code in [f["code"] for f in agent["findings"]]
    assert configured.states[host] == configured.before[host] and configured.commands[host] == 1


def test_agent_module_repairs_a_stale_proxy_removing_it_first(configured):
    agent = configured.result(AGENT_FIX)
    assert configured.status(AGENT_FIX) == "ok", configured.run
    assert "remove the broken credential proxy pieces before re-initialising: portproxy 169.254.170.2:80 -> 127.0.0.1:51679" in "\n".join(agent["changes"])
    assert agent["facts"]["endpoints"]["proxy"]["ok"] is True
    assert [r["live"] for r in configured.states[AGENT_FIX]["portproxy"]] == [True]
    assert configured.commands[AGENT_FIX] == 2
