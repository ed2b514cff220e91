# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main scenario - configure, reboot, detect, recover, verify - on every ECS-optimized Windows variant the
collection supports (issue 13): one mixed simulated fleet, two hosts of each preset, one without the boot-time
repair (detected broken after the reboot, repaired by recover) and one with it (healed at boot by itself)."""

from __future__ import annotations

import json

import pytest

from ecs_integration import run_playbook

CLUSTER = "presets"
# preset -> (build, edition, caption)
PRESETS = {
    "ecs-2019": (17763, "Full", "Microsoft Windows Server 2019 Datacenter"),
    "ecs-2022": (20348, "Full", "Microsoft Windows Server 2022 Datacenter"),
    "ecs-2025": (26100, "Full", "Microsoft Windows Server 2025 Datacenter"),
    "ecs-2019-core": (17763, "Core", "Microsoft Windows Server 2019 Datacenter"),
    "ecs-2022-core": (20348, "Core", "Microsoft Windows Server 2022 Datacenter"),
    "ecs-2025-core": (26100, "Core", "Microsoft Windows Server 2025 Datacenter"),
}
NAMES = list(PRESETS)
# Host N has preset NAMES[(N - 1) % 6] (serve --preset with a list): 1-6 without on_boot, 7-12 with it.
PLAIN = {"ecs-sim-%03d" % (n + 1): NAMES[n] for n in range(6)}
SELF_HEALING = {"ecs-sim-%03d" % (n + 7): NAMES[n] for n in range(6)}
HOSTS = {**PLAIN, **SELF_HEALING}


@pytest.fixture(scope="module")
def story(sim_factory, tmp_path_factory):
    sim = sim_factory(hosts=12, preset=",".join(NAMES))
    work = tmp_path_factory.mktemp("presets")
    variables = work / "fleet-vars.yml"
    variables.write_text(json.dumps({"windows_ecs": {
        "vars": {"container_instance_cluster": CLUSTER, "container_instance_boot_delay": 2},
        "hosts": {name: {"container_instance_on_boot": False} for name in PLAIN},
    }}))
    inventory = ["-i", str(variables), "-f", "12"]

    def playbook(name, step):
        folder = work / step
        folder.mkdir()
        run = run_playbook("ecs_windows.task_iam." + name, sim.inventory, folder, args=inventory)
        report = folder / "fleet-report.json"
        return run, json.loads(report.read_text()) if report.is_file() else None

    out = {"configure": playbook("configure", "configure")}
    for host in HOSTS:
        sim.reboot(host, downtime=0.2, wait=False)
    for host in HOSTS:
        sim.wait_up(host)  # and the startup tasks: the self-healing hosts repair themselves meanwhile
    out["states"] = {host: sim.state(host) for host in HOSTS}
    out["verify"] = playbook("verify", "verify")
    out["recover"] = playbook("recover", "recover")
    out["after"] = {host: sim.state(host) for host in HOSTS}
    return out


def rows(report):
    return {row["host"]: row for row in report["hosts"]}


def test_configure_succeeds_on_every_variant_and_reports_edition_and_build(story):
    run, _report = story["configure"]
    assert run.rc == 0, run
    results = {r["host"]: r["result"] for r in run.records if r["action"] == "ecs_windows.task_iam.instance"}
    assert sorted(results) == sorted(HOSTS)
    for host, preset in HOSTS.items():
        build, edition, caption = PRESETS[preset]
        facts = results[host]["facts"]["host"]
        assert (facts["build"], facts["edition"], facts["os_caption"]) == (build, edition, caption), (host, facts)
        assert results[host]["healthy"] is True, (host, results[host]["findings"])


def test_the_reboot_breaks_the_proxy_only_where_no_boot_repair_is_installed(story):
    for host in PLAIN:
        assert story["states"][host]["derived"]["proxy_endpoint"]["ok"] is False, host
    for host in SELF_HEALING:
        assert story["states"][host]["derived"]["proxy_endpoint"]["ok"] is True, host


def test_verify_detects_the_broken_proxies_and_says_how_to_recover(story):
    run, report = story["verify"]
    assert run.rc != 0 and report is not None, run
    by_host = rows(report)
    for host in PLAIN:
        row = by_host[host]
        assert (row["health"], row["findings"]) == ("broken", ["proxy_stale_after_reboot"]), row
        assert row["next_step"] == "ansible-playbook ecs_windows.task_iam.recover", row
    for host in SELF_HEALING:
        assert by_host[host]["health"] == "healthy" and by_host[host]["healed_at_boot"], by_host[host]


def test_recover_repairs_every_variant_and_verify_then_passes(story):
    run, report = story["recover"]
    assert run.rc == 0, run
    assert {row["host"]: row["health"] for row in report["hosts"]} == {host: "healthy" for host in HOSTS}
    for host in HOSTS:
        assert story["after"][host]["derived"]["proxy_endpoint"]["ok"] is True, host
