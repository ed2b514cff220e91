# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tasks see (issue 12 items 6 and 7), through real ansible-playbook runs: each running task's last credential
request from the agent's audit log, `task_credentials_failing` naming the task that has not succeeded since requests
started failing (the agent logs a failed request without its task), and `imds_fallback_risk` where nat containers
would fall back to the instance role while the proxy is broken."""

from __future__ import annotations

import time

import pytest

from ecs_integration import run_playbook

FAILING, FALLBACK, HEALTHY = "ecs-sim-001", "ecs-sim-002", "ecs-sim-003"

ROUTES_THEN_READ = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Routes
      ecs_windows.task_iam.container_routes:
"""
READ = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Read
      ecs_windows.task_iam.instance_info:
        container_detail: routes
"""


@pytest.fixture(scope="module")
def fleet(sim_factory, tmp_path_factory):
    sim = sim_factory(hosts=3)
    for host in (FAILING, FALLBACK, HEALTHY):
        sim.set(host, "init-agent=prod", "containers=2")
    work = tmp_path_factory.mktemp("tasks")
    routed = run_playbook(ROUTES_THEN_READ, sim.inventory, work)
    assert routed.rc == 0, routed
    for host in (FAILING, FALLBACK, HEALTHY):
        sim.set(host, "task-credentials=ok")  # every task asks once, through its new route: 200
    tasks = [c["labels"]["com.amazonaws.ecs.task-arn"] for c in sim.state(FAILING)["containers"]]
    ids = [arn.rsplit("/", 1)[1] for arn in tasks]
    time.sleep(1.1)  # audit log times have whole seconds
    sim.set(FAILING, "task-credentials=%s:fail" % ids[0])  # the agent logs the failure without the task
    time.sleep(1.1)
    sim.set(FAILING, "task-credentials=%s:ok" % ids[1])  # the other task refreshes its credentials afterwards
    sim.set(FALLBACK, "agent=stopped")  # the proxy is broken while the containers keep their IMDS route
    run = run_playbook(READ, sim.inventory, work)
    return sim, tasks, {r["host"]: r["result"] for r in run.records}


def codes(result):
    return [f["code"] for f in result["findings"]]


def finding(result, code):
    return next(f for f in result["findings"] if f["code"] == code)


def test_each_task_has_its_last_credential_request(fleet):
    _sim, _tasks, results = fleet
    tasks = results[HEALTHY]["tasks"]
    assert len(tasks) == 2 and all(t["known_status"] == "RUNNING" for t in tasks)
    assert all(t["last_credentials"]["status"] == 200 for t in tasks), tasks
    assert results[HEALTHY]["findings"] == []


def test_a_task_whose_credentials_fail_is_named_with_the_fix(fleet):
    _sim, tasks, results = fleet
    assert codes(results[FAILING]) == ["task_credentials_failing"]
    found = finding(results[FAILING], "task_credentials_failing")
    # The agent cannot say which task a failed request came from: the task that has not succeeded since is named.
    assert tasks[0] + " (no successful request since" in found["message"] and tasks[1] not in found["message"]
    assert "1 task may not get its credentials" in found["message"]
    assert "1 credential request failed from" in found["message"] and "(the last with HTTP 400)" in found["message"]
    assert results[FAILING]["credential_failures"]["count"] == 1
    assert "aws ecs stop-task --cluster prod" in found["fix"]


def test_nat_containers_with_the_imds_route_and_a_broken_proxy_are_a_fallback_risk(fleet):
    _sim, _tasks, results = fleet
    assert "imds_fallback_risk" in codes(results[FALLBACK]) and "agent_not_running" in codes(results[FALLBACK])
    found = finding(results[FALLBACK], "imds_fallback_risk")
    assert "169.254.169.254" in found["message"] and "imds: block" in found["fix"]
    assert "imds_fallback_risk" not in codes(results[HEALTHY])
