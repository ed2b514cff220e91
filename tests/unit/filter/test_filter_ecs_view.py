# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks' ECS view: joining host results with ECS, the ECS findings, and the quarantine decisions (the cap,
only ever returning what the collection took out of service). Through real ansible-playbook against moto:
tests/integration/ecs/test_fleet_ecs_view.py and test_rolling_reboot.py."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.ecs_windows.task_iam.plugins.filter import ecs_view as ev
from ansible_collections.ecs_windows.task_iam.plugins.filter import fleet_report as fr
from ansible_collections.ecs_windows.task_iam.plugins.filter import findings as ff

ARN = "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/%032x"
TASK_IAM = "com.amazonaws.ecs.capability.task-iam-role"
NOW = "2026-03-01T04:00:00Z"


def probe(n, cluster="prod", healthy=True, findings=(), arn=True):
    """An instance_info result of host n, registered to `cluster`."""
    return {"changed": False, "healthy": healthy, "findings": list(findings),
            "host": {"hostname": "EC2AMAZ-%d" % n, "boot_id": 1, "boot_time": "t"},
            "identity": {"ec2_instance_id": "i-%017x" % n, "error": None},
            "registration": {"reachable": True, "cluster": cluster,
                             "container_instance_arn": (ARN % n).replace("/prod/", "/%s/" % cluster) if arn else None},
            "machine_env": {"ECS_CLUSTER": cluster}}


STALE = {"code": "proxy_stale_after_reboot", "message": "stale", "fix": "recover"}


def instance(n, status="ACTIVE", connected=True, task_iam=True, attributes=None, cluster="prod"):
    attrs = {"ecs.os-type": "windows"}
    if task_iam:
        attrs[TASK_IAM] = None
    attrs.update(attributes or {})
    return {"container_instance_arn": (ARN % n).replace("/prod/", "/%s/" % cluster), "ec2_instance_id": "i-%017x" % n,
            "status": status, "status_reason": None, "agent_connected": connected, "agent_version": "1.105.1",
            "running_tasks_count": 2, "pending_tasks_count": 0, "attributes": attrs, "task_iam_role": task_iam}


def view(*instances, cluster="prod"):
    return {"item": cluster, "changed": False, "cluster": {"name": cluster}, "instances": list(instances)}


def codes(result):
    return [f["code"] for f in result["findings"]]


def test_without_views_the_join_only_flattens_host_module_results():
    proxy = {"changed": True, "repaired": True, "cause": "stale_after_reboot", "facts": probe(1), "findings": [],
             "healthy": True}
    joined = ev.ecs_join({"h1": proxy, "h2": {"unreachable": True, "msg": "refused"}, "h3": None})
    assert joined["h1"]["host"]["hostname"] == "EC2AMAZ-1" and joined["h1"]["repaired"] is True
    assert "facts" not in joined["h1"] and "ecs" not in joined["h1"]
    assert joined["h2"] == {"unreachable": True, "msg": "refused"} and joined["h3"] is None
    # A refusal (credential_proxy refused to act, failed_when: false) carries findings but no `healthy`.
    refused = {"msg": "port 80 ...", "findings": [{"code": "port80_in_use", "message": "m", "fix": "f"}],
               "facts": probe(4), "cause": "port80_in_use", "repaired": False}
    assert ev.ecs_join({"h4": refused})["h4"]["healthy"] is False


def test_clusters_come_from_the_arn_then_the_agent_then_the_inventory():
    results = {"h1": probe(1), "h2": probe(2, cluster="other"), "h3": dict(probe(3, arn=False), machine_env={}),
               "h4": {"unreachable": True}}
    results["h3"]["registration"] = {"reachable": False, "cluster": None, "container_instance_arn": None}
    assert ev.ecs_clusters(results) == ["other", "prod"]
    assert ev.ecs_clusters(results, {"h3": "third"}) == ["other", "prod", "third"]
    # hostvars: the host's container_instance_cluster
    assert ev.ecs_clusters(results, {"h3": {"container_instance_cluster": "fourth"}}) == ["fourth", "other", "prod"]


def test_each_ecs_finding_and_the_ecs_columns():
    results = {"ok": probe(1), "gone": probe(2), "off": probe(3), "norole": probe(4), "drained": probe(5),
               "marked": probe(6)}
    views = [view(instance(1), instance(3, connected=False), instance(4, task_iam=False),
                  instance(5, status="DRAINING"),
                  instance(6, attributes={ev.CREDENTIALS: "broken",
                                          ev.MARKER: "attribute %s proxy_stale_after_reboot" % NOW}))]
    joined = ev.ecs_join(results, views)
    assert codes(joined["ok"]) == [] and joined["ok"]["healthy"] is True
    assert joined["ok"]["ecs"]["status"] == "ACTIVE" and joined["ok"]["ecs"]["quarantined"] is False
    assert joined["ok"]["ecs"]["running_tasks"] == 2
    assert codes(joined["gone"]) == ["ecs_instance_not_found"] and not joined["gone"]["healthy"]
    assert "force_reregister" in joined["gone"]["findings"][0]["fix"]
    assert codes(joined["off"]) == ["ecs_agent_disconnected"]
    assert codes(joined["norole"]) == ["ecs_task_iam_capability_missing"]
    assert "configure" in joined["norole"]["findings"][0]["fix"]
    # Drained by someone else: informational, the host stays healthy (and so does its report row).
    assert codes(joined["drained"]) == ["ecs_instance_draining"] and joined["drained"]["healthy"] is True
    assert joined["drained"]["findings"][0]["informational"] is True
    row = fr.host_row("drained", joined["drained"])
    assert row["health"] == "healthy" and row["findings"] == ["ecs_instance_draining"]
    # Quarantined by the collection: a finding (recover returns it), with when and why.
    assert codes(joined["marked"]) == ["ecs_credentials_marked_broken"] and not joined["marked"]["healthy"]
    assert NOW in joined["marked"]["findings"][0]["message"] and joined["marked"]["ecs"]["quarantined"] is True
    report = fr.fleet_report(joined)
    assert report["summary"]["healthy"] == 2 and report["summary"]["ecs"]["quarantined"] == 1
    assert fr.host_row("marked", joined["marked"])["next_step"] == "ansible-playbook ecs_windows.task_iam.recover"


def test_a_cluster_that_cannot_be_read_is_a_finding_of_its_hosts():
    failed = {"item": "prod", "failed": True, "msg": "An error occurred (ClusterNotFoundException)"}
    joined = ev.ecs_join({"h1": probe(1)}, [failed])
    assert codes(joined["h1"]) == ["ecs_view_failed"] and "ClusterNotFoundException" in joined["h1"]["findings"][0][
        "message"]


def test_marker_value_fits_ecs_and_parses_back():
    value = ev.marker_value("drain", NOW, ["proxy_stale_after_reboot"] * 12)
    assert len(value) <= 128 and value.startswith("drain %s proxy_stale_after_reboot" % NOW) and value.endswith(" +9")
    assert ev.parse_marker(value)["mode"] == "drain" and ev.parse_marker(value)["time"] == NOW
    assert ev.parse_marker("broken") is None and ev.parse_marker(None) is None


def broken_fleet(n_broken, n_healthy):
    results, instances = {}, []
    for n in range(1, n_broken + n_healthy + 1):
        results["h%d" % n] = probe(n, healthy=n > n_broken, findings=[] if n > n_broken else [STALE])
        instances.append(instance(n))
    return results, [view(*instances)]


@pytest.mark.parametrize("mode", ["drain", "attribute"])
def test_quarantine_takes_the_broken_hosts_within_the_cap(mode):
    results, views = broken_fleet(2, 4)
    plan = ev.quarantine_plan(ev.ecs_join(results, views), mode, 50, views, NOW)
    assert [a["host"] for a in plan["actions"]] == ["h1", "h2"] and plan["refused"] == []
    action = plan["actions"][0]
    assert action["container_instance"] == ARN % 1
    assert action["attributes"][ev.MARKER] == "%s %s proxy_stale_after_reboot" % (mode, NOW)
    if mode == "drain":
        assert action["status"] == "DRAINING" and ev.CREDENTIALS not in action["attributes"]
    else:
        assert "status" not in action and action["attributes"][ev.CREDENTIALS] == "broken"
    assert plan["lines"][0].startswith("Quarantine, ")


def test_the_cap_refuses_the_rest_with_a_clear_message():
    results, views = broken_fleet(4, 2)  # 4 of 6 broken; 50% allows 3
    plan = ev.quarantine_plan(ev.ecs_join(results, views), "drain", "50", views, NOW)
    assert [a["host"] for a in plan["actions"]] == ["h1", "h2", "h3"]
    assert [r["host"] for r in plan["refused"]] == ["h4"]
    reason = plan["refused"][0]["reason"]
    assert "4 of the 6 active" in reason and "task_iam_quarantine_max_percent (50%)" in reason
    # Instances the collection already quarantined count against the cap.
    views[0]["instances"][0]["status"] = "DRAINING"
    views[0]["instances"][0]["attributes"][ev.MARKER] = "drain %s proxy_stale_after_reboot" % NOW
    plan = ev.quarantine_plan(ev.ecs_join(results, views), "drain", 50, views, NOW)
    assert [a["host"] for a in plan["actions"]] == ["h2", "h3"] and [r["host"] for r in plan["refused"]] == ["h4"]
    assert plan["skipped"] == [{"host": "h1", "reason": "already quarantined (drain)"}]
    assert ev.quarantine_plan(ev.ecs_join(results, views), "drain", 0, views, NOW)["actions"] == []


def test_quarantine_leaves_what_someone_else_drained_and_hosts_ecs_does_not_list():
    results, views = broken_fleet(2, 2)
    views[0]["instances"][0]["status"] = "DRAINING"
    del views[0]["instances"][1]
    plan = ev.quarantine_plan(ev.ecs_join(results, views), "drain", 100, views, NOW)
    assert plan["actions"] == []
    assert [s["host"] for s in plan["skipped"]] == ["h1", "h2"]
    assert ev.quarantine_plan(ev.ecs_join(results, views), "none", 50, views, NOW)["actions"] == []
    with pytest.raises(AnsibleFilterError):
        ev.quarantine_plan(results, "drian", 50, views, NOW)
    with pytest.raises(AnsibleFilterError):
        ev.quarantine_plan(results, "drain", 101, views, NOW)


def test_release_returns_only_what_the_collection_took_out_and_is_healthy():
    results = {"mine": probe(1), "theirs": probe(2), "marked": probe(3), "still": probe(4, healthy=False, findings=[STALE]),
               "waved": probe(5)}
    views = [view(instance(1, "DRAINING", attributes={ev.MARKER: "drain %s proxy_missing" % NOW}),
                  instance(2, "DRAINING"),
                  instance(3, attributes={ev.MARKER: "attribute %s x" % NOW, ev.CREDENTIALS: "broken"}),
                  instance(4, "DRAINING", attributes={ev.MARKER: "drain %s proxy_stale_after_reboot" % NOW}),
                  instance(5, "DRAINING", attributes={ev.MARKER: "rolling_reboot %s" % NOW}))]
    plan = ev.quarantine_release(ev.ecs_join(results, views))
    actions = {a["host"]: a for a in plan["actions"]}
    assert sorted(actions) == ["marked", "mine", "waved"]
    assert actions["mine"]["status"] == "ACTIVE" and actions["mine"]["remove_attributes"] == [ev.MARKER]
    assert "status" not in actions["marked"]
    assert actions["marked"]["remove_attributes"] == [ev.MARKER, ev.CREDENTIALS]
    assert actions["waved"]["status"] == "ACTIVE"
    assert plan["kept"] == [{"host": "still", "codes": ["proxy_stale_after_reboot"]}]
    # After the calls, the join shows them back in service; recover says what it did.
    changes = [{"item": a, "changed": True, "container_instance": dict(
        instance(int(a["container_instance"][-1])), attributes={"ecs.os-type": "windows", TASK_IAM: None})}
        for a in plan["actions"]]
    after = ev.ecs_join(results, views, None, {"results": changes})
    assert after["mine"]["healthy"] and after["mine"]["ecs"]["status"] == "ACTIVE"
    assert not after["mine"]["ecs"]["quarantined"]
    line = ff.recover_outcome(after["mine"])
    assert line == "healthy, nothing to repair; returned to ACTIVE in ECS (quarantined with drain by this collection at %s)" % NOW
    assert ff.recover_outcome(after["marked"]).startswith(
        "healthy, nothing to repair; attribute %s removed in ECS" % ev.CREDENTIALS)
    assert after["theirs"]["ecs"]["status"] == "DRAINING" and after["theirs"]["healthy"]


def test_a_failed_change_is_kept_in_the_host_row():
    results = {"mine": probe(1)}
    views = [view(instance(1, "DRAINING", attributes={ev.MARKER: "drain %s proxy_missing" % NOW}))]
    action = ev.quarantine_release(ev.ecs_join(results, views))["actions"][0]
    after = ev.ecs_join(results, views, None, [{"item": action, "failed": True, "msg": "AccessDeniedException"}])
    assert after["mine"]["ecs"]["change"]["error"] == "AccessDeniedException"
    assert "could not return it to service in ECS: AccessDeniedException" in ff.recover_outcome(after["mine"])


def test_wave_drain_drains_active_instances_and_watches_every_draining_one():
    results = {"a": probe(1), "b": probe(2), "c": probe(3), "d": probe(4), "e": {"unreachable": True}}
    views = [view(instance(1), instance(2, "DRAINING"),
                  instance(3, "DRAINING", attributes={ev.MARKER: "rolling_reboot %s" % NOW}))]
    plan = ev.wave_drain(ev.ecs_join(results, views), NOW)
    assert [(a["host"], a["status"], a["attributes"]) for a in plan["actions"]] == [
        ("a", "DRAINING", {ev.MARKER: "rolling_reboot %s" % NOW})]
    assert plan["actions"][0]["label"] == "a: set DRAINING; put %s=rolling_reboot %s" % (ev.MARKER, NOW)
    assert [s["host"] for s in plan["skipped"]] == ["b", "c", "d"]
    assert plan["watch"] == [{"cluster": "prod", "container_instances": [ARN % 1, ARN % 2, ARN % 3]}]


def test_host_entries_takes_each_hosts_own_entry_of_its_batch():
    hostvars = {"a": {"batch": {"a": 1, "b": 2}}, "b": {"batch": {"a": 1, "b": 2}}, "c": {"batch": {"c": 3}}, "d": {}}
    assert ev.host_entries(["a", "b", "c", "d", "e"], hostvars, "batch") == {"a": 1, "b": 2, "c": 3, "d": None,
                                                                             "e": None}
    with pytest.raises(AnsibleFilterError):
        ev.host_entries("a", hostvars, "batch")


@pytest.mark.parametrize("bad", [[], "x", None])
def test_bad_input_is_refused(bad):
    for function in (ev.ecs_join, ev.ecs_clusters, ev.quarantine_release, ev.wave_drain):
        with pytest.raises(AnsibleFilterError):
            function(bad)
