# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""verify, recover and configure with the ECS view (issue 12 parts 3 and 4), through real ansible-playbook runs against
simulator hosts served with --ecs-endpoint and a real moto server: the cross-check's findings, the quarantine (drain
and attribute) of exactly the broken hosts within the cap, recover and configure returning exactly those (never a
host someone else drained), check mode making no changing ECS call (moto's request recording) and no host change,
and no AWS call at all without a region. The playbooks make the ECS calls with
ecs_windows.task_iam.ecs_container_instance_info and ecs_windows.task_iam.ecs_container_instance, on the controller
(playbooks/tasks/).

One fleet of six plain user-data hosts (`init-agent`, no boot-time repair), in the states of a patch wave:

    ecs-sim-001, ecs-sim-002  rebooted: proxy_stale_after_reboot
    ecs-sim-003               drained by someone else (DRAINING, no marker): healthy, an informational finding
    ecs-sim-004               initialised without task IAM roles: task_iam_disabled, ecs_task_iam_capability_missing
    ecs-sim-005               healthy (rebooted later, for the attribute quarantine)
    ecs-sim-006               healthy, then deregistered in ECS: ecs_instance_not_found
"""

from __future__ import annotations

import json

import pytest
from aws_moto import REGION
from collection_calls import actions as action_names
from collection_calls import collection_calls, mutating
from ecs_integration import run_playbook

CLUSTER = "winfleet"
MARKER = "ecs_windows.task_iam.quarantine"
CREDENTIALS = "ecs_windows.task_iam.credentials"
STALE = ["ecs-sim-001", "ecs-sim-002"]
THEIRS = "ecs-sim-003"
NO_ROLE = "ecs-sim-004"
LATER = "ecs-sim-005"
GONE = "ecs-sim-006"


@pytest.fixture(scope="module")
def fleet(sim_factory, moto, aws_env, tmp_path_factory):
    moto.client("ecs").create_cluster(clusterName=CLUSTER)
    sim = sim_factory(hosts=6, extra=["--ecs-endpoint", moto.url, "--ecs-region", REGION])
    for host in sim.hosts:
        sim.set(host, "init-agent=%s%s" % (CLUSTER, ":no-task-iam" if host == NO_ROLE else ""), "reboot-downtime=0.3")
    for host in STALE:
        sim.reboot(host, downtime=0.3)
    ecs = moto.client("ecs")
    arns = {host: _arn(sim, host) for host in sim.hosts}
    ecs.update_container_instances_state(cluster=CLUSTER, containerInstances=[arns[THEIRS]], status="DRAINING")
    return {"sim": sim, "arns": arns, "env": aws_env, "work": tmp_path_factory.mktemp("ecs-view")}


def _arn(sim, host):
    return sim.state(host)["agent"]["saved_registration"]["container_instance_arn"]


def playbook(fleet, moto, name, *args, env=None, ecs=True, check=False, step="run"):
    """One run of ecs_windows.task_iam.<name> over the fleet: (PlaybookRun, report rows, ECS actions it made)."""
    work = fleet["work"] / step
    extra = {"task_iam_report_dir": str(work / "reports"), "container_instance_cluster": CLUSTER}
    if ecs:
        extra.update(task_iam_ecs_region=REGION, task_iam_aws_endpoint_url=moto.url)
    moto.reset_recording()
    run = run_playbook("ecs_windows.task_iam.%s" % name, fleet["sim"].inventory, work, check=check,
                       env=dict(fleet["env"], **(env or {})), extra_vars=extra, args=list(args))
    report = work / "reports" / "fleet-report.json"
    rows = {r["host"]: r for r in json.loads(report.read_text())["hosts"]} if report.exists() else {}
    return run, rows, collection_calls(moto)


def ecs_state(moto, fleet):
    """host -> (status, the collection's attributes) as moto has them."""
    arns = fleet["arns"]
    described = moto.client("ecs").describe_container_instances(cluster=CLUSTER, containerInstances=list(arns.values()))
    by_arn = {ci["containerInstanceArn"]: ci for ci in described["containerInstances"]}
    out = {}
    for host, arn in arns.items():
        ci = by_arn.get(arn)
        out[host] = None if ci is None else (ci["status"], {a["name"]: a.get("value") for a in ci["attributes"]
                                                           if a["name"].startswith("ecs_windows.")})
    return out


@pytest.fixture(scope="module")
def without_region(fleet, moto):
    return playbook(fleet, moto, "verify", ecs=False, step="no-region")


@pytest.fixture(scope="module")
def checked(fleet, moto, without_region):
    sim = fleet["sim"]
    before = {host: sim.state(host) for host in sim.hosts}
    state = ecs_state(moto, fleet)
    run, rows, actions = playbook(fleet, moto, "verify", "-e", "task_iam_quarantine=drain", check=True, step="check")
    return run, rows, actions, before, state


@pytest.fixture(scope="module")
def capped(fleet, moto, checked):
    """verify -e task_iam_quarantine=drain with the default cap (50%), after ecs-sim-006 was deregistered."""
    moto.client("ecs").deregister_container_instance(cluster=CLUSTER, containerInstance=fleet["arns"][GONE], force=True)
    return playbook(fleet, moto, "verify", "-e", "task_iam_quarantine=drain", step="capped")


@pytest.fixture(scope="module")
def uncapped(fleet, moto, capped):
    return playbook(fleet, moto, "verify", "-e", "task_iam_quarantine=drain", "-e",
                    "task_iam_quarantine_max_percent=100", step="uncapped")


@pytest.fixture(scope="module")
def recovered(fleet, moto, uncapped):
    # The endpoint from the environment this time (AWS_ENDPOINT_URL), as botocore reads it.
    sim = fleet["sim"]
    sim.reset_counters()
    work = fleet["work"] / "recover"
    moto.reset_recording()
    run = run_playbook("ecs_windows.task_iam.recover", sim.inventory, work,
                       env=dict(fleet["env"], AWS_ENDPOINT_URL=moto.url),
                       extra_vars={"task_iam_report_dir": str(work), "task_iam_ecs_region": REGION})
    rows = {r["host"]: r for r in json.loads((work / "fleet-report.json").read_text())["hosts"]}
    return run, rows, collection_calls(moto), sim.counters()["hosts"]


def test_without_a_region_nothing_calls_aws(without_region):
    run, rows, actions = without_region
    assert run.rc == 2, run
    assert actions == []
    assert all("ecs" not in row for row in rows.values())
    assert [h for h in sorted(rows) if rows[h]["health"] == "broken"] == STALE + [NO_ROLE]


def test_check_mode_makes_no_changing_call_and_changes_no_host(fleet, moto, checked):
    run, rows, actions, before, state = checked
    assert run.rc == 2, run
    assert mutating(actions) == [] and "DescribeContainerInstances" in action_names(actions), actions
    assert ecs_state(moto, fleet) == state
    sim = fleet["sim"]
    assert {host: sim.state(host) for host in sim.hosts} == before
    # What the quarantine would do is in the report, as a real run would do it.
    planned = [r for r in run.results("Change the container instances in ECS (on the controller)")]
    assert len(planned) == 1 and [i["item"]["host"] for i in planned[0]["result"]["results"]] == STALE
    assert all(i["changed"] for i in planned[0]["result"]["results"])


def test_the_cross_check_finds_what_ecs_sees(fleet, capped):
    run, rows, actions = capped
    assert "ecs_task_iam_capability_missing" in rows[NO_ROLE]["findings"]
    assert "task_iam_disabled" in rows[NO_ROLE]["findings"]
    assert rows[NO_ROLE]["ecs"]["status"] == "ACTIVE"
    # The agent still claims the ARN the cluster no longer lists.
    assert rows[GONE]["findings"] == ["ecs_instance_not_found"] and rows[GONE]["health"] == "broken"
    assert "container_instance_force_reregister=true" in rows[GONE]["fix"]
    # Drained by someone else: informational, the host stays healthy and is left as it is.
    assert rows[THEIRS]["health"] == "healthy" and rows[THEIRS]["findings"] == ["ecs_instance_draining"]
    assert rows[THEIRS]["ecs"] == {"status": "DRAINING", "agent_connected": True, "running_tasks": 0,
                                   "pending_tasks": 0, "quarantined": False,
                                   "container_instance_arn": fleet["arns"][THEIRS]}
    assert rows[LATER]["health"] == "healthy" and rows[LATER]["ecs"]["status"] == "ACTIVE"
    markdown = (fleet["work"] / "capped" / "reports" / "fleet-report.md").read_text()
    assert "| ECS status | Agent connected | Tasks running / pending | Quarantined |" in markdown


def test_the_cap_holds_and_refuses_the_rest_with_a_clear_message(fleet, moto, capped):
    run, rows, actions = capped
    assert run.rc == 2, run
    # Active before the quarantine: 001, 002, 004, 005 (003 is someone else's DRAINING, 006 is gone): 50% is 2.
    state = ecs_state(moto, fleet)
    drained = sorted(h for h, s in state.items() if s and s[0] == "DRAINING" and MARKER in s[1])
    assert drained == STALE
    for host in STALE:
        assert state[host][1][MARKER].startswith("drain ") and state[host][1][MARKER].endswith(
            " proxy_stale_after_reboot")
        assert rows[host]["ecs"]["quarantined"] is True and "ecs_instance_draining" in rows[host]["findings"]
    assert state[NO_ROLE] == ("ACTIVE", {}) and state[THEIRS] == ("DRAINING", {})
    assert sorted(mutating(actions)) == ["PutAttributes", "PutAttributes", "UpdateContainerInstancesState",
                                         "UpdateContainerInstancesState"]
    summary = run.result("ecs-sim-001", "Summarise the fleet")["msg"]
    refused = [line for line in summary if line.startswith("quarantine of %s refused" % NO_ROLE)]
    assert refused == ["quarantine of %s refused: it would take 3 of the 4 active container instances of cluster %s out "
                       "of service, more than task_iam_quarantine_max_percent (50%%), so that a fleet-wide false alarm "
                       "cannot empty a cluster; fix the hosts' findings, or raise task_iam_quarantine_max_percent"
                       % (NO_ROLE, CLUSTER)]
    assert "Quarantine skipped for %s: ECS does not list its container instance" % GONE in summary


def test_quarantine_drains_exactly_the_broken_hosts(fleet, moto, uncapped):
    run, rows, actions = uncapped
    state = ecs_state(moto, fleet)
    drained = sorted(h for h, s in state.items() if s and s[0] == "DRAINING" and MARKER in s[1])
    broken = sorted(h for h, row in rows.items() if row["health"] == "broken" and h != GONE)
    assert drained == broken == STALE + [NO_ROLE]
    # Only the new one was changed; the two already quarantined were left as they are.
    assert sorted(mutating(actions)) == ["PutAttributes", "UpdateContainerInstancesState"]
    assert "task_iam_disabled" in state[NO_ROLE][1][MARKER]


def test_recover_returns_exactly_the_hosts_it_repaired_and_quarantined(fleet, moto, recovered):
    run, rows, actions, counters = recovered
    state = ecs_state(moto, fleet)
    for host in STALE:
        assert state[host] == ("ACTIVE", {}), state[host]
        assert rows[host]["health"] == "healthy" and rows[host]["ecs"]["quarantined"] is False
        assert counters[host]["commands"] == 2
    # Still broken (recover does not turn task IAM roles on): stays quarantined. Someone else's: stays DRAINING.
    assert state[NO_ROLE][0] == "DRAINING" and MARKER in state[NO_ROLE][1]
    assert state[THEIRS] == ("DRAINING", {}) and rows[THEIRS]["health"] == "healthy"
    assert counters[THEIRS]["commands"] == 1 and counters[LATER]["commands"] == 1
    outcome = {r["host"]: r["result"]["msg"] for r in run.results("Report the outcome")}
    for host in STALE:
        assert outcome[host].startswith("repaired (cause: stale_after_reboot); returned to ACTIVE in ECS (quarantined "
                                        "with drain by this collection at "), outcome[host]
    assert outcome[THEIRS] == "healthy, nothing to repair"
    assert outcome[NO_ROLE].startswith("not repaired by recover: task_iam_disabled")
    assert outcome[GONE].startswith("not repaired by recover: ecs_instance_not_found (fix: register the instance again")
    assert sorted(mutating(actions)) == ["DeleteAttributes", "DeleteAttributes", "DeleteAttributes",
                                         "DeleteAttributes", "UpdateContainerInstancesState",
                                         "UpdateContainerInstancesState"]
    assert run.rc == 2, run


def test_configure_returns_the_host_it_makes_healthy(fleet, moto, recovered):
    run, rows, actions = playbook(fleet, moto, "configure", "--limit", NO_ROLE, "-e", "container_instance_boot_delay=2",
                                  step="configure")
    assert run.rc == 0, run
    state = ecs_state(moto, fleet)
    assert state[NO_ROLE] == ("ACTIVE", {})
    described = moto.client("ecs").describe_container_instances(
        cluster=CLUSTER, containerInstances=[fleet["arns"][NO_ROLE]])["containerInstances"][0]
    assert "com.amazonaws.ecs.capability.task-iam-role" in {a["name"] for a in described["attributes"]}
    assert state[THEIRS] == ("DRAINING", {})


def test_attribute_quarantine_and_its_return(fleet, moto, recovered):
    sim = fleet["sim"]
    sim.reboot(LATER, downtime=0.3)
    run, rows, actions = playbook(fleet, moto, "verify", "--limit", LATER, "-e", "task_iam_quarantine=attribute",
                                  "-e", "task_iam_quarantine_max_percent=100", step="attribute")
    assert run.rc == 2, run
    status, attributes = ecs_state(moto, fleet)[LATER]
    assert status == "ACTIVE" and attributes[CREDENTIALS] == "broken"
    assert attributes[MARKER].startswith("attribute ") and attributes[MARKER].endswith(" proxy_stale_after_reboot")
    assert "ecs_credentials_marked_broken" in rows[LATER]["findings"] and rows[LATER]["ecs"]["quarantined"] is True
    run, rows, actions = playbook(fleet, moto, "recover", "--limit", LATER, step="attribute-recover")
    assert run.rc == 0, run
    assert ecs_state(moto, fleet)[LATER] == ("ACTIVE", {})
    line = run.result(LATER, "Report the outcome")["msg"]
    assert line.startswith("repaired (cause: stale_after_reboot); attribute %s removed in ECS (quarantined with "
                           "attribute by this collection at " % CREDENTIALS), line
    assert "UpdateContainerInstancesState" not in action_names(actions)
