# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container_routes planner (pure: probe facts + args -> plan) and its report after apply."""

from __future__ import annotations

import pytest

import plan_scenarios as sc
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_routes as pr

CRED, IMDS, GW = "169.254.170.2/32", "169.254.169.254/32", "172.29.80.1"


def args(**kw):
    return pr.check_args(dict({"names": ["*"], "task_families": [], "imds": "allow"}, **kw))


def host(*containers):
    return sc.with_containers(sc.configured(), *containers)


def by_name(plan):
    return {entry["name"]: entry for entry in plan.detail["containers"]}


def test_nat_container_gets_both_routes_via_its_gateway_in_its_shell():
    facts = host(sc.container("web"), sc.container("legacy", shell="cmd", gateway="172.29.80.9"))
    plan = pr.plan(facts, args())
    web, legacy = facts["containers"]
    assert plan.calls == [("container_routes", {"containers": [
        {"id": web["id"], "shell": "powershell", "add": [{"destination": CRED, "next_hop": GW}, {"destination": IMDS, "next_hop": GW}],
         "remove": []},
        {"id": legacy["id"], "shell": "cmd", "add": [{"destination": CRED, "next_hop": "172.29.80.9"},
                                                     {"destination": IMDS, "next_hop": "172.29.80.9"}], "remove": []},
    ], "timeout_s": pr.CONTAINER_TIMEOUT_S})]
    report = by_name(plan)
    assert report["web"]["action"] == "added" and report["web"]["added"] == [CRED, IMDS]
    assert "New-NetRoute" in report["web"]["reason"] and "netsh" in report["legacy"]["reason"]


def test_containers_with_routes_are_unchanged():
    plan = pr.plan(host(sc.container("web", routes=[CRED, IMDS])), args())
    assert plan.calls == [] and plan.changes == []
    assert by_name(plan)["web"]["action"] == "unchanged"


def test_awsvpc_is_skipped_because_the_agent_routes_it():
    plan = pr.plan(host(sc.container("task", network_mode="awsvpc")), args())
    assert plan.calls == []
    assert by_name(plan)["task"]["action"] == "skipped" and "awsvpc" in by_name(plan)["task"]["reason"]


def test_selection_by_name_pattern_and_task_family():
    facts = host(sc.container("web-1"), sc.container("web-2", family="batch"), sc.container("db"))
    plan = pr.plan(facts, args(names=["web-*"], task_families=["web-task"]))
    report = by_name(plan)
    assert report["web-1"]["action"] == "added"
    assert report["web-2"]["action"] == "skipped" and "task family" in report["web-2"]["reason"]
    assert report["db"]["action"] == "skipped" and "names" in report["db"]["reason"]
    assert [c["id"] for c in plan.calls[0][1]["containers"]] == [facts["containers"][0]["id"]]


def test_imds_block_removes_the_metadata_route_and_adds_only_credentials():
    plan = pr.plan(host(sc.container("web", routes=[IMDS])), args(imds="block"))
    assert plan.calls[0][1]["containers"][0]["add"] == [{"destination": CRED, "next_hop": GW}]
    assert plan.calls[0][1]["containers"][0]["remove"] == [IMDS]
    assert plan.before != plan.after
    assert pr.plan(host(sc.container("web", routes=[CRED])), args(imds="block")).calls == []


def test_route_via_the_wrong_gateway_is_replaced():
    facts = host(sc.container("web", routes=[CRED, IMDS]))
    facts["containers"][0]["routes"][1]["next_hop"] = "172.29.80.99"
    op = pr.plan(facts, args()).calls[0][1]["containers"][0]
    assert op["remove"] == [CRED] and op["add"] == [{"destination": CRED, "next_hop": GW}]


@pytest.mark.parametrize("change, reason", [({"gateway": None}, "gateway"), ({"shell": None}, "neither")])
def test_containers_that_cannot_be_routed_fail_with_the_reason(change, reason):
    entry = sc.container("web")
    entry.update(change)
    plan = pr.plan(host(entry), args())
    assert plan.calls == [] and by_name(plan)["web"]["action"] == "failed" and reason in by_name(plan)["web"]["reason"]


def test_report_after_apply_uses_op_outcome_and_final_probe():
    facts = host(sc.container("ok"), sc.container("bad"), sc.container("lost"))
    plan = pr.plan(facts, args())
    ids = [c["id"] for c in facts["containers"]]
    final = host(sc.container("ok", routes=[CRED, IMDS]), sc.container("bad"), sc.container("lost"))
    op_result = {"containers": [
        {"id": ids[0], "added": [CRED, IMDS], "removed": [], "error": None},
        {"id": ids[1], "added": [], "removed": [], "error": 'exec: "powershell": executable file not found in %PATH%'},
        {"id": ids[2], "added": [CRED, IMDS], "removed": [], "error": None},
    ]}
    report = {e["name"]: e for e in pr.merge_results(plan.detail["containers"], op_result, final)}
    assert report["ok"]["action"] == "added"
    assert report["bad"]["action"] == "failed" and "executable file not found" in report["bad"]["reason"]
    assert report["lost"]["action"] == "failed" and "still shows" in report["lost"]["reason"]


def test_empty_name_pattern_is_refused():
    with pytest.raises(ValueError, match="names"):
        args(names=[""])
