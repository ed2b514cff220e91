"""The presets: every Windows release and edition the collection supports, fresh from launch, through the probe
op in process and through a real `ecs-windows-sim serve --preset` over WinRM."""

from __future__ import annotations

import pytest
from ecs_windows_sim import model, presets
from ecs_windows_sim.host import Host
from sim_scripts import SALT, init_args, new_host, probe, result, winrm_ops

# preset -> (caption, version, InstallationType, ecs.os-family, ECSTools, reboot task, Docker, image tag)
EXPECTED = {
    "ecs-2019": ("Microsoft Windows Server 2019 Datacenter", "10.0.17763", "Server", "WINDOWS_SERVER_2019_FULL",
                 "1.2.0", False, "20.10.21", "ltsc2019"),
    "ecs-2019-core": ("Microsoft Windows Server 2019 Datacenter", "10.0.17763", "Server Core", "WINDOWS_SERVER_2019_CORE",
                      "1.2.0", False, "20.10.21", "ltsc2019"),
    "ecs-2022": ("Microsoft Windows Server 2022 Datacenter", "10.0.20348", "Server", "WINDOWS_SERVER_2022_FULL",
                 "1.4.0", True, "20.10.21", "ltsc2022"),
    "ecs-2022-core": ("Microsoft Windows Server 2022 Datacenter", "10.0.20348", "Server Core", "WINDOWS_SERVER_2022_CORE",
                      "1.4.0", True, "20.10.21", "ltsc2022"),
    "ecs-2025": ("Microsoft Windows Server 2025 Datacenter", "10.0.26100", "Server", "WINDOWS_SERVER_2025_FULL",
                 "1.4.0", True, "25.0.8", "ltsc2025"),
    "ecs-2025-core": ("Microsoft Windows Server 2025 Datacenter", "10.0.26100", "Server Core", "WINDOWS_SERVER_2025_CORE",
                      "1.4.0", True, "25.0.8", "ltsc2025"),
    "plain-2022": ("Microsoft Windows Server 2022 Datacenter", "10.0.20348", "Server", "WINDOWS_SERVER_2022_FULL",
                   None, False, "20.10.21", "ltsc2022"),
}


def test_every_preset_is_described():
    assert sorted(presets.PRESETS) == sorted(EXPECTED)
    assert presets.PRESETS[:3] == ("ecs-2022", "ecs-2019", "plain-2022") and presets.DEFAULT_PRESET == "ecs-2022"


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_a_preset_is_its_release_and_edition(tmp_path, preset):
    caption, version, installation_type, os_family, ecstools, reboot_task, docker, tag = EXPECTED[preset]
    host = new_host(tmp_path, preset)
    facts = probe(host)
    assert (facts["host"]["os_caption"], facts["host"]["os_version"]) == (caption, version)
    assert host.state["os"]["installation_type"] == installation_type
    assert model.ecs_os_family(host.state) == os_family
    assert host.state["docker_version"] == docker
    assert facts["ecstools"]["present"] is (ecstools is not None)
    assert host.state["ecstools"]["version"] == ecstools and host.state["ecstools"]["creates_reboot_task"] is reboot_task
    assert facts["agent"]["version"] == (model.LATEST_AGENT if preset.startswith("ecs-") else None)
    assert presets.container_image_tag(host.state) == tag


@pytest.mark.parametrize("preset", ["ecs-2019-core", "ecs-2025", "ecs-2025-core"])
def test_containers_run_the_image_of_the_hosts_release(tmp_path, preset):
    tag = EXPECTED[preset][-1]
    host = new_host(tmp_path, preset, init_agent="prod", containers=1, containers_cmd=1, containers_awsvpc=1)
    images = sorted(c["image"] for c in probe(host)["containers"])
    assert images == ["mcr.microsoft.com/windows/nanoserver:" + tag, "mcr.microsoft.com/windows/servercore:" + tag,
                      "mcr.microsoft.com/windows/servercore:" + tag]


@pytest.mark.parametrize("preset", ["ecs-2019-core", "ecs-2022-core", "ecs-2025", "ecs-2025-core"])
def test_the_agent_initialises_and_registers_on_the_new_presets(tmp_path, preset):
    host = new_host(tmp_path, preset)
    result(host, "init_agent", init_args("prod"))
    facts = probe(host)
    assert facts["registration"]["reachable"] is True and facts["registration"]["cluster"] == "prod"
    assert facts["endpoints"]["proxy"]["ok"] is True
    tasks = [t["name"] for t in facts["scheduled_tasks"]]
    assert ("Initialize-ECSHostReboot" in tasks) is EXPECTED[preset][5]


def test_unknown_preset_names_every_known_one(tmp_path):
    with pytest.raises(ValueError) as err:
        Host.create("h1", tmp_path, "ecs-2016")
    assert str(err.value) == "unknown preset 'ecs-2016' (known: %s)" % ", ".join(presets.PRESETS)


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_serve_preset_answers_the_probe_over_winrm(sim_factory, preset):
    caption, version = EXPECTED[preset][:2]
    sim = sim_factory(hosts=1, scheme="http", auth="ntlm", preset=preset)
    document = winrm_ops(sim, sim.hosts[0], ("probe", {"container_detail": "none", "files": [], "salt": SALT}))
    assert document["error"] is None, document["error"]
    host = document["results"][0]["result"]["host"]
    assert (host["os_caption"], host["os_version"]) == (caption, version)
    state = sim.ctl("state", sim.hosts[0])
    assert state["os"]["installation_type"] == EXPECTED[preset][2] and state["preset"] == preset
