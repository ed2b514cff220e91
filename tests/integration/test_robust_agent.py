# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 11 through real ansible-playbook, the quick ones: what the agent module and instance_info see and do.

- Finding 6: with the agent stopped, its version comes from `amazon-ecs-agent.exe -version`, so a version pin still
  compares.
- Finding 7: install_ecstools in a VPC whose only way out is a proxy (`ecstools-download=proxy-only`) downloads
  through the proxy it is given, and goes direct when NO_PROXY covers the bucket.
- Finding 8: the default checks are ones the bucket's files can pass (the manifest need not be signed); every
  failure names the file and the check; leaving the module code unchecked is refused before anything is sent.
- Finding 11: a firewall rule whose port filter is a range holding 51679 is the proxy's rule; a REG_EXPAND_SZ Machine
  variable is never written.
- init_timeout is validated like every argument (nothing is sent for a bad value).
- Findings 4 and 5 together: after a clock step LastBootUpTime reads later than the time ECSTools' boot task ran
  (`clock-step`); the wait for that task allows for it instead of waiting its whole timeout.
"""

from __future__ import annotations

import hashlib

import pytest
from ecs_windows_sim import presets

from configure_plays import control, reboot, setup
from robust_plays import run_timed, stories_playbook, task

STOPPED, PROXIED, BYPASSED, UNSIGNED, MANIFEST, BASELINE, EXPAND, BAD, STEPPED = ("ecs-sim-%03d" % n for n in range(1, 10))
CLUSTER = "windows"
REGION = "eu-west-1"
BUCKET = "https://s3.%s.amazonaws.com/amazon-ecs-agent-%s/" % (REGION, REGION)
INSTALL = {"cluster": CLUSTER, "install_ecstools": True, "ecstools_region": REGION, "init_retry_delay": 0}
PROXY = "http://proxy.internal.example:3128"
UNSIGNED_PSM1 = hashlib.sha256(presets.ecstools_files(signed=False)["ECSTools.psm1"]).hexdigest()


@pytest.fixture(scope="module")
def sim(sim_factory):
    sim = sim_factory(hosts=9)
    setup(sim, STOPPED, "init-agent=%s" % CLUSTER, "agent=stopped")
    for host in (PROXIED, BYPASSED):
        setup(sim, host, "ecstools=absent", "ecstools-download=proxy-only")
    setup(sim, UNSIGNED, "ecstools=absent", "ecstools-download=unsigned")
    setup(sim, MANIFEST, "ecstools=absent", "ecstools-download=manifest-unsigned")
    setup(sim, BASELINE, "init-agent=%s" % CLUSTER, "firewall-rule=51000-52000", "firewall-rule=ecstools:51678-51680")
    setup(sim, EXPAND, "init-agent=%s" % CLUSTER)
    setup(sim, STEPPED, "init-agent=%s" % CLUSTER, "clock-step=20")
    reboot(sim, STEPPED, downtime=0.5)  # ECSTools' task runs at the boot; then the clock is stepped 20 s forward
    return sim


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory):
    check = {"check_mode": True}
    stories = {
        STOPPED: [
            task("instance_info", {}, "info"),
            task("agent", {"cluster": CLUSTER, "version": "1.106.0"}, "newer", **check),
            task("agent", {"cluster": CLUSTER, "version": "v1.105.1"}, "same", **check),
        ],
        PROXIED: [
            task("agent", INSTALL, "direct", ignore_errors=True),
            task("agent", dict(INSTALL, http_proxy=PROXY), "proxied"),
        ],
        BYPASSED: [task("agent", dict(INSTALL, http_proxy=PROXY, no_proxy=[".amazonaws.com"]), "bypassed",
                        ignore_errors=True)],
        UNSIGNED: [
            task("agent", INSTALL, "default", ignore_errors=True),
            task("agent", dict(INSTALL, ecstools_signature=[]), "unchecked", ignore_errors=True),
            task("agent", dict(INSTALL, ecstools_signature=["ECSTools.psd1"],
                               ecstools_sha256={"ECSTools.psm1": UNSIGNED_PSM1}), "manifest-signed", ignore_errors=True),
            task("agent", dict(INSTALL, ecstools_signature=[], ecstools_sha256={"ECSTools.psm1": UNSIGNED_PSM1}),
                 "pinned"),
        ],
        MANIFEST: [task("agent", INSTALL, "default")],
        BASELINE: [task("instance_info", {}, "info"),
                   task("credential_proxy", {"state": "absent"}, "teardown", check_mode=True, diff=True)],
        EXPAND: [
            task("ansible.legacy.ecs_test_ops", {"calls": [{"op": "set_machine_env", "args": {"set": {"Path": "C:\\Tools"}, "remove": []}}]},
                 "path", ignore_errors=True),
            task("ansible.legacy.ecs_test_ops", {"calls": [{"op": "set_machine_env", "args": {"set": {}, "remove": ["TEMP"]}}]},
                 "temp", ignore_errors=True),
        ],
        STEPPED: [
            task("ansible.legacy.ecs_test_ops", {"calls": [{"op": "wait_task_idle", "args": {
                "task_path": "\\", "task_name": "Initialize-ECSHostReboot", "timeout_s": 0, "busy_error": False}}]},
                "idle"),
            task("credential_proxy", {}, "proxy"),
        ],
        BAD: [task("agent", {"cluster": CLUSTER, "init_timeout": 29}, "short", ignore_errors=True),
              task("credential_proxy", {"init_timeout": 3601}, "long", ignore_errors=True),
              task("instance", {"cluster": CLUSTER, "init_timeout": "soon"}, "word", ignore_errors=True)],
    }
    control(sim, "counters", reset=True)
    out = run_timed(stories_playbook(stories), sim.inventory, tmp_path_factory.mktemp("robust-agent"),
                    args=("--forks", "10"))
    return out, control(sim, "counters")["hosts"], {host: control(sim, "state", host) for host in stories}


# --- finding 6: the agent's version while it is stopped ------------------------------------------------------------


def test_the_version_of_a_stopped_agent_is_known(run):
    out, _counters, _states = run
    status, info = out.story(STOPPED, "info")
    assert status == "ok" and info["services"]["AmazonECS"]["status"] == "Stopped", out
    assert info["registration"]["reachable"] is False
    assert (info["agent"]["version"], info["agent"]["version_source"]) == ("1.105.1", "executable")


def test_a_version_pin_still_compares_while_the_agent_is_stopped(run):
    out, _counters, _states = run
    status, newer = out.story(STOPPED, "newer")
    assert status == "ok" and newer["changed"] is True, out
    assert any("agent 1.105.1 is installed, 1.106.0 is wanted" in c for c in newer["changes"]), newer["changes"]
    status, same = out.story(STOPPED, "same")
    assert status == "ok" and not any("initialise the agent" in c for c in same["changes"]), same["changes"]
    assert "start AmazonECS (it is Stopped)" in same["changes"]


# --- finding 7: the download goes through the proxy ------------------------------------------------------------------


def test_without_a_proxy_a_proxy_only_vpc_cannot_download_ecstools(run):
    out, _counters, states = run
    status, result = out.story(PROXIED, "direct")
    assert status == "failed" and result["category"] == "download_failed", out
    assert result["msg"].endswith("ECSTools.psm1: download from %sECSTools.psm1 failed: Unable to connect to the remote "
                                  "server" % BUCKET), result["msg"]


def test_install_ecstools_downloads_through_the_proxy_it_is_given(run):
    out, _counters, states = run
    status, result = out.story(PROXIED, "proxied")
    assert status == "ok" and result["changed"] is True, out
    assert result["changes"][0].startswith("install ECSTools from %s (.psm1, .psd1) through the configured proxy" % BUCKET)
    assert states[PROXIED]["ecstools"]["present"] is True and result["healthy"] is True
    assert states[PROXIED]["machine_env"]["HTTP_PROXY"] == PROXY


def test_no_proxy_covering_the_bucket_sends_the_download_direct(run):
    out, _counters, states = run
    status, result = out.story(BYPASSED, "bypassed")
    assert status == "failed" and "through the configured proxy" not in result["changes"][0], out
    assert result["category"] == "download_failed" and "Unable to connect to the remote server" in result["msg"]
    assert states[BYPASSED]["ecstools"]["present"] is False


# --- finding 8: checks the files can pass, errors that name the file and the check ----------------------------------


def test_the_default_checks_pass_a_signed_module_with_an_unsigned_manifest(run):
    out, _counters, states = run
    status, result = out.story(MANIFEST, "default")
    assert status == "ok" and result["changed"] is True and result["healthy"] is True, out
    assert states[MANIFEST]["ecstools"] == {"present": True, "version": "1.4.0", "creates_reboot_task": True}


@pytest.mark.parametrize("story, category, message", [
    ("default", "signature_invalid", "ECSTools.psm1: the Authenticode check failed: the signature is NotSigned"),
    ("manifest-signed", "signature_invalid", "ECSTools.psd1: the Authenticode check failed: the signature is NotSigned"),
])
def test_a_failed_check_names_the_file_and_the_check_and_installs_nothing(run, story, category, message):
    out, _counters, _states = run
    status, result = out.story(UNSIGNED, story)
    assert status == "failed" and result["category"] == category and message in result["msg"], out


def test_module_code_without_signature_or_pin_is_refused_before_anything_is_sent(run):
    out, _counters, _states = run
    status, result = out.story(UNSIGNED, "unchecked")
    assert status == "failed" and result["commands"] == 0, out
    assert result["msg"].startswith("invalid arguments for ecs_windows.task_iam.agent: ecstools_signature leaves out "
                                    "ECSTools.psm1"), result["msg"]


def test_a_pinned_module_installs_without_a_signature(run):
    out, _counters, states = run
    status, result = out.story(UNSIGNED, "pinned")
    assert status == "ok" and result["changed"] is True and result["healthy"] is True, out
    assert states[UNSIGNED]["ecstools"]["present"] is True


# --- finding 11: a firewall rule with a port range; REG_EXPAND_SZ variables --------------------------------------------


def test_a_firewall_rule_whose_range_holds_51679_is_the_proxys(run):
    out, _counters, states = run
    status, info = out.story(BASELINE, "info")
    assert status == "ok", out
    rules = {r["display_name"]: r["local_port"] for r in info["proxy"]["firewall_rules"]}
    # ECSTools' rule widened by an administrator, and a hardening baseline's rule: both hold 51679.
    assert rules == {"Allow Inbound Port 51679": "51678-51680", "Host baseline: ECS agent ports": "51000-52000"}
    # Teardown removes only the proxy's own rule (ECSTools' name); the baseline's is reported, never removed.
    status, teardown = out.story(BASELINE, "teardown")
    assert status == "ok" and teardown["changed"] is True, out
    assert teardown["diff"]["before"]["pieces"]["firewall_rules"] == ["Allow Inbound Port 51679"]
    assert "firewall rule 'Allow Inbound Port 51679'" in teardown["changes"][0]
    assert "Host baseline" not in " ".join(teardown["changes"])


def test_a_reg_expand_sz_machine_variable_is_never_written(run):
    out, _counters, states = run
    for story, name in (("path", "Path"), ("temp", "TEMP")):
        status, result = out.story(EXPAND, story)
        assert status == "failed" and result["category"] == "host_state", out
        assert ("refusing to write Machine variable %s: it is REG_EXPAND_SZ and writing it would turn it into REG_SZ"
                % name) in result["msg"]
    assert states[EXPAND]["machine_env"]["Path"] != "C:\\Tools" and "TEMP" in states[EXPAND]["machine_env"]


# --- findings 4 and 5: a clock step after the boot ---------------------------------------------------------------------


def test_after_a_clock_step_ecstools_boot_task_still_counts_as_run_at_this_boot(run):
    out, _counters, states = run
    status, result = out.story(STEPPED, "idle")
    assert status == "ok", out
    wait = result["results"][0]
    assert wait["idle"] is True and wait["state"] == "Ready" and wait["last_run_time"] == states[STEPPED]["boot_time"]
    status, result = out.story(STEPPED, "proxy")
    assert status == "ok" and result["changed"] is True and result["healthy"] is True, out
    assert out.lines_of(STEPPED, "waiting for ECSTools'") == []
    assert out.elapsed(STEPPED, "proxy") < 20


# --- init_timeout is an argument like the others ----------------------------------------------------------------------


def test_a_bad_init_timeout_is_refused_before_anything_is_sent(run):
    out, counters, _states = run
    for story, message in (("short", "init_timeout must be 30 to 3600, got 29"),
                           ("long", "init_timeout must be 30 to 3600, got 3601"),
                           ("word", "init_timeout")):
        status, result = out.story(BAD, story)
        assert status == "failed" and message in result["msg"] and result["commands"] == 0, (story, result)
    assert counters[BAD]["commands"] == 0
