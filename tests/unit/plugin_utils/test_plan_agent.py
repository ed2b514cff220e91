# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent planner (pure: probe facts + args -> plan) and its argument rules."""

from __future__ import annotations

import pytest

import plan_scenarios as sc
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _host, _plan
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_agent as pa

DEFAULTS = {"cluster": "windows", "task_iam_role": True, "version": None, "logging_drivers": None, "enable_task_eni": False,
            "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None, "environment": {}, "http_proxy": None,
            "no_proxy": None, "install_ecstools": False, "ecstools_region": None, "ecstools_sha256": None,
            "ecstools_signature": ["ECSTools.psm1"], "force_reregister": False, "registration_timeout": 300, "init_attempts": 5,
            "init_retry_delay": 10, "init_timeout": 900, "state": "present"}
SETTINGS = {"cluster": "windows", "enable_task_iam_role": True, "version": None, "logging_drivers": None, "enable_task_eni": False,
            "awsvpc_block_imds": False, "awsvpc_additional_local_routes": None}
GUARD = "wait_task_idle"  # ECSTools' own reboot task must be idle before Initialize-ECSAgent


def args(**kw):
    return pa.check_args(dict(DEFAULTS, **kw))


ops, call = sc.ops, sc.call
PENDING = _host.ENV_INIT_PENDING


# --- fresh host, idempotence -----------------------------------------------------------------------------


def test_fresh_host_is_initialised_with_task_iam_and_made_automatic_with_restart():
    plan = pa.plan(sc.fresh(), args())
    assert ops(plan) == ["set_machine_env", "init_agent", "set_machine_env", "service", "wait_registered"]
    assert plan.calls[0][1] == {"set": {"ECS_CLUSTER": "windows", "ECS_ENABLE_TASK_IAM_ROLE": "true", PENDING: "true"}, "remove": []}
    assert plan.calls[2][1] == {"set": {}, "remove": [PENDING]}
    assert call(plan, "init_agent") == {"settings": SETTINGS, "timeout_s": 900, "attempts": 5, "retry_delay_s": 10}
    assert call(plan, "service") == {"name": "AmazonECS", "start_type": "Automatic", "state": "running", "failure_restart": True,
                                     "timeout_s": pa.SERVICE_TIMEOUT_S}
    # One short round inside the batch; the controller waits on in rounds (Plan.waits) for the whole timeout.
    assert call(plan, "wait_registered") == {"cluster": "windows", "timeout_s": 20, "interval_s": 2}
    assert plan.waits == [_plan.Wait("windows", 300)]
    assert any("does not exist yet" in c and "Initialize-ECSAgent -Cluster windows -EnableTaskIAMRole" in c for c in plan.changes)


def test_configured_host_needs_nothing():
    plan = pa.plan(sc.configured(), args())
    assert plan.calls == [] and plan.changes == []
    assert plan.before == plan.after


def test_flags_compare_by_truth_and_lists_by_content():
    facts = sc.configured(ECS_ENABLE_TASK_ENI="True", ECS_AVAILABLE_LOGGING_DRIVERS='[ "json-file", "awslogs" ]')
    facts["machine_env"]["ECS_ENABLE_TASK_IAM_ROLE"] = "TRUE"
    plan = pa.plan(facts, args(enable_task_eni=True, logging_drivers=["json-file", "awslogs"]))
    assert plan.calls == []


def test_version_latest_does_not_reinitialise_and_a_pin_does():
    assert pa.plan(sc.configured(), args(version="latest")).calls == []
    assert pa.plan(sc.configured(), args(version="v1.105.1")).calls == []
    plan = pa.plan(sc.configured(), args(version="1.69.0"))
    assert call(plan, "init_agent")["settings"]["version"] == "1.69.0"
    assert any("agent 1.105.1 is installed, 1.69.0 is wanted" in c for c in plan.changes)


# --- settings changes ---------------------------------------------------------------------------------------


def test_init_setting_change_sets_env_then_initialises():
    plan = pa.plan(sc.configured(), args(enable_task_eni=True, awsvpc_block_imds=True, awsvpc_additional_local_routes=["172.31.42.23/32"],
                                         logging_drivers=["json-file", "awslogs"]))
    assert ops(plan) == ["set_machine_env", GUARD, "init_agent", "set_machine_env", "wait_registered"]
    assert plan.calls[0][1]["set"] == {
        "ECS_ENABLE_TASK_ENI": "true", "ECS_AWSVPC_BLOCK_IMDS": "true", "ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES": '["172.31.42.23/32"]',
        "ECS_AVAILABLE_LOGGING_DRIVERS": '["json-file","awslogs"]', PENDING: "true"}
    assert "-EnableTaskENI -AwsvpcBlockIMDS" in " ".join(plan.changes)


def test_switch_turned_off_is_removed_from_the_environment():
    plan = pa.plan(sc.configured(ECS_ENABLE_TASK_ENI="true"), args())
    assert plan.calls[0] == ("set_machine_env", {"set": {PENDING: "true"}, "remove": ["ECS_ENABLE_TASK_ENI"]})
    assert "init_agent" in ops(plan)


def test_an_initialisation_that_did_not_finish_is_run_again():
    # A failed Initialize-ECSAgent leaves the new settings written but the agent running with the old ones.
    plan = pa.plan(sc.configured(ECS_AVAILABLE_LOGGING_DRIVERS='["json-file","awslogs"]', **{PENDING: "true"}),
                   args(logging_drivers=["json-file", "awslogs"]))
    assert ops(plan) == [GUARD, "init_agent", "set_machine_env", "wait_registered"]
    assert call(plan, "set_machine_env") == {"set": {}, "remove": [PENDING]}
    assert any("the last initialisation did not finish" in c for c in plan.changes)
    assert PENDING not in plan.after["machine_env"]


def test_settings_that_need_no_initialisation_are_not_marked():
    plan = pa.plan(sc.configured(), args(environment={"ECS_RESERVED_MEMORY": "256"}))
    assert PENDING not in call(plan, "set_machine_env")["set"]


def test_extra_environment_only_restarts_the_agent():
    plan = pa.plan(sc.configured(), args(environment={"ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE": True, "ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true"}))
    assert ops(plan) == ["set_machine_env", "service", "wait_registered"]
    assert call(plan, "set_machine_env")["set"] == {"ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE": "true",
                                                    "ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true"}
    assert call(plan, "service")["state"] == "restarted"


def test_environment_null_removes_a_setting():
    plan = pa.plan(sc.configured(ECS_RESERVED_MEMORY="256"), args(environment={"ECS_RESERVED_MEMORY": None}))
    assert call(plan, "set_machine_env") == {"set": {}, "remove": ["ECS_RESERVED_MEMORY"]}


def test_http_proxy_sets_no_proxy_with_the_required_entries_and_hides_the_password():
    plan = pa.plan(sc.configured(), args(http_proxy="http://ops:s3cret@proxy.example.com:3128", no_proxy=["10.0.0.0/8", "169.254.170.2"]))
    env = call(plan, "set_machine_env")["set"]
    assert env["HTTP_PROXY"] == "http://ops:s3cret@proxy.example.com:3128"
    assert env["NO_PROXY"] == "169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine,10.0.0.0/8"
    shown = repr(plan.changes) + repr(plan.before) + repr(plan.after)
    assert "s3cret" not in shown and "ops" not in shown and "http://********@proxy.example.com:3128" in shown


def test_http_proxy_without_no_proxy_keeps_the_hosts_entries():
    # Omitted no_proxy means keep: the required entries are added, the host's own stay (issue 9.5).
    facts = sc.configured(HTTP_PROXY="http://proxy.example.com:3128", NO_PROXY="10.0.0.0/8,.corp.example.com")
    plan = pa.plan(facts, args(http_proxy="http://proxy.example.com:3128"))
    assert call(plan, "set_machine_env")["set"]["NO_PROXY"] == \
        "169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine,10.0.0.0/8,.corp.example.com"
    replaced = pa.plan(facts, args(http_proxy="http://proxy.example.com:3128", no_proxy=["10.1.0.0/16"]))
    assert call(replaced, "set_machine_env")["set"]["NO_PROXY"].endswith("docker_engine,10.1.0.0/16")


def test_lower_case_proxy_variables_are_updated_under_their_own_spelling():
    # Windows matches Machine variable names case-insensitively and keeps the first spelling (issue 9.1).
    facts = sc.configured(http_proxy="http://proxy.example.com:3128",
                          no_proxy="169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine")
    assert pa.plan(facts, args(http_proxy="http://proxy.example.com:3128")).calls == []
    plan = pa.plan(facts, args(http_proxy="http://proxy2.example.com:3128"))
    assert call(plan, "set_machine_env")["set"] == {"http_proxy": "http://proxy2.example.com:3128"}


def test_a_masked_proxy_url_is_compared_by_its_hash():
    facts = sc.configured(HTTP_PROXY="http://ops:s3cret@proxy.example.com:3128",
                          NO_PROXY="169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine")
    assert facts["machine_env"]["HTTP_PROXY"] == "http://********@proxy.example.com:3128"
    assert pa.plan(facts, args(http_proxy="http://ops:s3cret@proxy.example.com:3128")).calls == []
    plan = pa.plan(facts, args(http_proxy="http://ops:new-pw@proxy.example.com:3128"))
    assert call(plan, "set_machine_env")["set"]["HTTP_PROXY"] == "http://ops:new-pw@proxy.example.com:3128"
    assert any("the masked parts differ" in c for c in plan.changes) and "new-pw" not in repr(plan.changes)


def test_empty_http_proxy_removes_proxy_settings():
    plan = pa.plan(sc.configured(HTTP_PROXY="http://p:3128", NO_PROXY="x"), args(http_proxy=""))
    assert call(plan, "set_machine_env") == {"set": {}, "remove": ["HTTP_PROXY", "NO_PROXY"]}


def test_auth_data_is_never_shown():
    plan = pa.plan(sc.configured(), args(environment={"ECS_ENGINE_AUTH_DATA": '{"registry":{"password":"pw"}}'}))
    assert '"pw"' not in repr(plan.changes) + repr(plan.before) + repr(plan.after)


# --- service ------------------------------------------------------------------------------------------------


def test_service_without_restart_on_failure_gets_it_without_a_restart():
    plan = pa.plan(sc.configured(), args())  # baseline
    assert plan.calls == []
    facts = sc.configured()
    facts["services"]["AmazonECS"]["failure_restart"] = False
    plan = pa.plan(facts, args())
    assert plan.calls == [("service", {"name": "AmazonECS", "start_type": None, "state": None, "failure_restart": True,
                                       "timeout_s": pa.SERVICE_TIMEOUT_S})]


def test_disabled_service_is_enabled_before_init():
    facts = sc.agent_stopped(sc.stale(), start_type="Disabled")
    plan = pa.plan(facts, args())
    assert ops(plan) == ["remove_proxy", "service", GUARD, "init_agent", "wait_registered"]
    assert call(plan, "service")["start_type"] == "Automatic" and call(plan, "service")["state"] is None


def test_stopped_agent_is_started_and_the_proxy_judged_again_after():
    # A rule may be dead behind a stopped agent: the verifying probe tells, and a second pass repairs it.
    plan = pa.plan(sc.agent_stopped(), args())
    assert ops(plan) == ["service", "wait_registered"]
    assert call(plan, "service")["state"] == "running"
    assert pa.projected(sc.agent_stopped(), plan, args())["endpoints"]["proxy"]["ok"]


def test_running_but_unregistered_agent_is_restarted_and_waited_for():
    facts = sc.configured()
    facts["registration"].update(container_instance_arn=None)
    plan = pa.plan(facts, args())
    assert ops(plan) == ["service", "wait_registered"] and call(plan, "service")["state"] == "restarted"


# --- the credential proxy -------------------------------------------------------------------------------------


def test_stale_proxy_is_removed_before_reinitialising():
    plan = pa.plan(sc.stale(), args())
    assert ops(plan) == ["remove_proxy", GUARD, "init_agent", "wait_registered"]
    assert call(plan, "remove_proxy")["portproxy"] == [{"listen_address": "169.254.170.2", "listen_port": 80}]


def test_broken_proxy_is_ignored_without_task_iam_roles():
    plan = pa.plan(sc.stale(), args(task_iam_role=False))
    assert plan.calls[0] == ("set_machine_env", {"set": {PENDING: "true"}, "remove": ["ECS_ENABLE_TASK_IAM_ROLE"]})
    assert "remove_proxy" not in ops(plan)


@pytest.mark.parametrize("facts, code", [
    (sc.with_iis(sc.fresh()), "port80_in_use"),
    (sc.with_excluded(sc.fresh()), "agent_port_excluded"),
    (sc.with_duplicate_nat(sc.fresh()), "duplicate_nat_adapters"),
], ids=["iis", "excluded", "duplicate-nat"])
def test_refuses_host_state_no_initialisation_fixes(facts, code):
    with pytest.raises(_plan.Refusal) as caught:
        pa.plan(facts, args())
    assert caught.value.problems[0]["code"] == code and "Fix:" in str(caught.value)


def test_iis_is_fine_without_task_iam_roles():
    plan = pa.plan(sc.with_iis(sc.fresh()), args(task_iam_role=False))
    assert "init_agent" in ops(plan)


# --- cluster change ---------------------------------------------------------------------------------------------


def test_cluster_change_is_refused_saying_tasks_are_stranded():
    facts = sc.with_containers(sc.configured(), sc.container("web"))
    with pytest.raises(_plan.Refusal) as caught:
        pa.plan(facts, args(cluster="other"))
    message = str(caught.value)
    assert "registered to cluster 'windows'" in message and "strands the tasks" in message and "1 task container" in message
    assert "force_reregister: true" in message


def test_cluster_change_of_a_stopped_agent_is_refused_too():
    with pytest.raises(_plan.Refusal, match="configured for cluster 'windows'"):
        pa.plan(sc.agent_stopped(), args(cluster="other"))


def test_forced_cluster_change_resets_registration_before_init():
    plan = pa.plan(sc.configured(), args(cluster="other", force_reregister=True))
    assert ops(plan) == ["reset_agent_data", "set_machine_env", GUARD, "init_agent", "set_machine_env", "wait_registered"]
    assert plan.calls[1][1]["set"] == {"ECS_CLUSTER": "other", PENDING: "true"}
    assert any("stranded" in c for c in plan.changes)


# --- ECSTools --------------------------------------------------------------------------------------------------


def test_missing_ecstools_is_refused_unless_installed():
    facts = sc.fresh()
    facts["ecstools"] = {"present": False, "version": None}
    with pytest.raises(_plan.Refusal, match="install_ecstools"):
        pa.plan(facts, args())
    plan = pa.plan(facts, args(install_ecstools=True, ecstools_region="eu-west-1", ecstools_sha256={"ECSTools.psm1": "A" * 64}))
    assert ops(plan)[0] == "install_ecstools"
    # The code needs its pin or Amazon's signature; the manifest is checked as data (issue 11.8).
    assert call(plan, "install_ecstools") == {"proxy": None, "files": [
        {"name": "ECSTools.psm1", "url": "https://s3.eu-west-1.amazonaws.com/amazon-ecs-agent-eu-west-1/ECSTools.psm1", "sha256": "a" * 64,
         "require_signature": True},
        {"name": "ECSTools.psd1", "url": "https://s3.eu-west-1.amazonaws.com/amazon-ecs-agent-eu-west-1/ECSTools.psd1", "sha256": None,
         "require_signature": False}]}


def test_ecstools_is_downloaded_through_the_configured_proxy_unless_no_proxy_covers_the_bucket():
    facts = sc.fresh()
    facts["ecstools"] = {"present": False, "version": None}
    wanted = dict(install_ecstools=True, ecstools_region="us-east-1", http_proxy="http://proxy.example.com:3128")
    assert call(pa.plan(facts, args(**wanted)), "install_ecstools")["proxy"] == "http://proxy.example.com:3128"
    covered = pa.plan(facts, args(no_proxy=[".amazonaws.com"], **wanted))
    assert call(covered, "install_ecstools")["proxy"] is None


def test_installed_ecstools_is_reinstalled_only_when_a_pinned_hash_differs():
    facts = sc.configured()
    pinned = args(install_ecstools=True, ecstools_region="us-east-1", ecstools_sha256={"ECSTools.psm1": "b" * 64})
    assert pa.probe_files(pinned) == pa.ecstools_paths()
    assert pa.plan(facts, pinned).calls == []  # probe could not hash the file
    facts["files"] = {pa.ecstools_paths()[0]: "b" * 64}
    assert pa.plan(facts, pinned).calls == []
    facts["files"] = {pa.ecstools_paths()[0]: "c" * 64}
    assert ops(pa.plan(facts, pinned)) == ["install_ecstools"]


def test_without_hyperv_powershell_task_iam_is_refused_before_any_change():
    facts = sc.fresh()
    facts["hyperv_powershell"] = False
    with pytest.raises(_plan.Refusal, match="Install-WindowsFeature -Name Hyper-V-PowerShell"):
        pa.plan(facts, args())
    assert "init_agent" in ops(pa.plan(facts, args(task_iam_role=False)))


# --- state: absent -------------------------------------------------------------------------------------------


def test_absent_stops_and_disables_and_removes_managed_env():
    plan = pa.plan(sc.configured(ECS_ENABLE_TASK_ENI="true", ECS_OTHER="x"), args(state="absent", cluster=None))
    assert plan.calls == [
        ("service", {"name": "AmazonECS", "start_type": "Disabled", "state": "stopped", "failure_restart": None,
                     "timeout_s": pa.SERVICE_TIMEOUT_S}),
        ("set_machine_env", {"set": {}, "remove": ["ECS_CLUSTER", "ECS_ENABLE_TASK_ENI", "ECS_ENABLE_TASK_IAM_ROLE"]}),
    ]
    assert pa.plan(sc.fresh(), args(state="absent", cluster=None)).calls == []


# --- arguments ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, match", [
    ({"cluster": None}, "cluster is required"),
    ({"cluster": "x'; Remove-Item C:\\ -Recurse; '"}, "not a valid ECS cluster name"),
    ({"version": "1.2"}, "version"),
    ({"logging_drivers": ["json file"]}, "logging_drivers"),
    ({"logging_drivers": ["my-plugin"]}, "unknown driver"),
    ({"environment": {"ECS_X": "a\x00b"}}, "without NUL"),
    ({"environment": {"ECS_X": "a" * 32768}}, "at most 32767 characters"),
    ({"awsvpc_additional_local_routes": ["10.0.0.300/32"]}, "awsvpc_additional_local_routes"),
    ({"awsvpc_additional_local_routes": ["10.0.0.1"]}, "awsvpc_additional_local_routes"),
    ({"environment": {"ECS_CLUSTER": "x"}}, "its own option"),
    ({"environment": {"ECS_DATADIR": "x"}}, "Initialize-ECSAgent"),
    ({"environment": {"PATH": "x"}}, "ECS agent setting name"),
    ({"environment": {"ECS_X": ["a"]}}, "the value of ECS_X"),
    ({"environment": {"ECS_X": ""}}, "use null"),
    ({"http_proxy": "proxy:3128"}, "http_proxy must be a URL"),
    ({"http_proxy": "http://ops:pa/ss@proxy.example.com:3128"}, "http_proxy must be a URL"),
    ({"http_proxy": "http://ops:12/ss@proxy.example.com:3128"}, "http_proxy must be a URL"),
    ({"http_proxy": "http://ops:pa#ss@proxy.example.com:3128"}, "http_proxy must be a URL"),
    ({"http_proxy": "http://proxy.example.com:31a8"}, "http_proxy must be a URL"),
    ({"no_proxy": ["10.0.0.0/8"]}, "no_proxy needs http_proxy"),
    ({"install_ecstools": True}, "ecstools_region"),
    ({"install_ecstools": True, "ecstools_region": "us-east-1", "ecstools_sha256": {"ECSTools.dll": "a" * 64}}, "unknown file"),
    ({"install_ecstools": True, "ecstools_region": "us-east-1", "ecstools_sha256": {"ECSTools.psm1": "abc"}}, "64 hex"),
    ({"ecstools_sha256": {"ECSTools.psm1": "a" * 64}}, "install_ecstools: true"),
])
def test_bad_arguments_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        args(**bad)


@pytest.mark.parametrize("url, shown", [
    ("http://ops:p@ss@proxy.example.com:3128", "http://********@proxy.example.com:3128"),
    ("http://ops@corp:pw@proxy.example.com:3128", "http://********@proxy.example.com:3128"),
    ("http://ops:pw:x@proxy.example.com:3128/", "http://********@proxy.example.com:3128/"),
    ("http://t0ken@proxy.example.com:3128", "http://********@proxy.example.com:3128"),
    ("http://proxy.example.com:3128", "http://proxy.example.com:3128"),
])
def test_a_proxy_password_with_at_or_colon_is_masked_whole(url, shown):
    plan = pa.plan(sc.configured(), args(http_proxy=url))
    assert call(plan, "set_machine_env")["set"]["HTTP_PROXY"] == url
    assert plan.after["machine_env"]["HTTP_PROXY"] == shown
    assert any(shown in c for c in plan.changes)
    for secret in ("p@ss", "pw", "t0ken", "ops"):
        if secret in url:
            assert secret not in repr(plan.changes) + repr(plan.before) + repr(plan.after)


def test_returned_facts_carry_the_values_masked_on_the_host_and_no_hashes():
    from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _findings
    facts = sc.configured(HTTP_PROXY="http://ops:s3cret@proxy:3128", ECS_ENGINE_AUTH_DATA='{"r":{"password":"pw"}}')
    shown = _findings.instance_facts(facts)
    assert shown["machine_env"]["HTTP_PROXY"] == "http://********@proxy:3128" and shown["machine_env"]["ECS_ENGINE_AUTH_DATA"] == "********"
    assert "machine_env_hashes" not in shown and "salt" not in shown
