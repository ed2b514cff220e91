# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, item 3: no secret appears in any output, at any verbosity, in any report, or in AWX's events.

Secrets are planted where real hosts keep them - unrelated Machine variables (DD_API_KEY, SQL_PWD, SPLUNK_HEC_PASS,
NEW_RELIC_LICENSE_KEY), proxy URLs with a password (with and without a scheme), a bare token as a proxy URL's user
name (https://ghp_...@proxy), ECS_ENGINE_AUTH_DATA - and in task arguments, as a vault variable would hold them (the
role's and the modules' http_proxy and environment). Then every host module (instance_info, agent, credential_proxy,
container_routes, instance; in check mode with diff, applied, and failing) and every host playbook (configure, verify,
recover, bootstrap_containers; failing hosts included) runs at default verbosity and at -v to -vvvvvv (each level on
its own three hosts: one that converges, one that fails (IIS on port 80, a cluster change refused), one with the
token), plus configure, verify, recover and bootstrap_containers through ansible-runner (the engine AWX runs jobs
with) at -vvvvvv. Every stdout, stderr, recorded task result, fleet report (JSON, Markdown, HTML), runner event and
artifact file is read: none holds a secret.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil

import pytest

from configure_plays import control, setup
from ecs_integration import ROOT, ansible_env, run_playbook

LEVELS = range(7)
GOOD, BROKEN, TOKEN = range(3)
CLUSTER = "secrets"

# Planted on the hosts.
DD_API_KEY = "dd0api0Key0Zq81"
SQL_PWD = "sqlPwdZq82"
SPLUNK = "splunkPassZq83"
NEW_RELIC = "nrLicenseZq84"
PROXY_PW = "proxyPwZq85"
NOSCHEME_PW = "noSchemePwZq86"
TOKEN_USER = "ghp_Zq87TokenAbCdEf0123456789"
AUTH_PW = "authPwZq88"
LEADING_SPACE_PW = "leadingSpacePwZq91"
QUOTED_PW = "quotedPwZq92"
# In task arguments (inventory host variables).
ARG_PROXY_PW = "argProxyPwZq89"
ARG_AUTH_PW = "argAuthPwZq90"
WINRM_PASSWORD = "Sim-Passw0rd!"
SECRETS = (DD_API_KEY, SQL_PWD, SPLUNK, NEW_RELIC, PROXY_PW, NOSCHEME_PW, TOKEN_USER, AUTH_PW, LEADING_SPACE_PW, QUOTED_PW,
           ARG_PROXY_PW, ARG_AUTH_PW, WINRM_PASSWORD)

ARG_PROXY = "http://ops:%s@proxy.corp.example:3128" % ARG_PROXY_PW
ARG_ENV = {"ECS_ENGINE_AUTH_TYPE": "dockercfg",
           "ECS_ENGINE_AUTH_DATA": json.dumps({"https://index.docker.io/v1/": {"auth": ARG_AUTH_PW}})}
UNRELATED = ["machine-env:DD_API_KEY=" + DD_API_KEY, "machine-env:SQL_PWD=" + SQL_PWD,
             "machine-env:SPLUNK_HEC_PASS=" + SPLUNK, "machine-env:NEW_RELIC_LICENSE_KEY=" + NEW_RELIC,
             "machine-env:ECS_ENGINE_AUTH_DATA=" + json.dumps({"registry": {"username": "u", "password": AUTH_PW}})]
PLANTED = {
    # Quoted as a batch file's `set HTTP_PROXY="..."` writes it.
    GOOD: ["init-agent=" + CLUSTER, "containers=1",
           'machine-env:HTTP_PROXY="http://ops:%s@proxy.corp.example:3128"' % QUOTED_PW] + UNRELATED,
    BROKEN: ["init-agent=" + CLUSTER, "iis=on",
             "machine-env:HTTP_PROXY=http://ops:%s@proxy.corp.example:3128" % PROXY_PW,
             "machine-env:HTTPS_PROXY=ops:%s@proxy.corp.example:3128" % NOSCHEME_PW] + UNRELATED,
    # A bare token as the user name, and a pasted URL with a space in front.
    TOKEN: ["init-agent=" + CLUSTER, "machine-env:http_proxy=https://%s@proxy.corp.example:3128" % TOKEN_USER,
            "machine-env:HTTPS_PROXY= http://ops:%s@proxy.corp.example:3128" % LEADING_SPACE_PW] + UNRELATED,
}
ARG_VARS = {"container_instance_cluster": CLUSTER, "container_instance_http_proxy": ARG_PROXY,
            "container_instance_environment": ARG_ENV, "container_instance_boot_delay": 1,
            "container_instance_container_routes": True, "secret_proxy": ARG_PROXY, "secret_env": ARG_ENV}


def task(name, module, args, **keywords):
    return dict({"name": name, "ecs_windows.task_iam." + module: args, "ignore_errors": True}, **keywords)


AGENT_ARGS = {"cluster": CLUSTER, "http_proxy": "{{ secret_proxy }}", "environment": "{{ secret_env }}"}
MODULES = [{"name": "Every host module", "hosts": "all", "gather_facts": False, "tasks": [
    task("instance_info", "instance_info", {"container_detail": "routes"}),
    task("agent in check mode", "agent", AGENT_ARGS, check_mode=True, diff=True),
    task("agent", "agent", AGENT_ARGS, diff=True),
    task("agent moving cluster (refused)", "agent", dict(AGENT_ARGS, cluster="elsewhere")),
    task("agent with a bad proxy URL", "agent", dict(AGENT_ARGS, http_proxy="{{ secret_proxy }}/x")),
    task("credential_proxy", "credential_proxy", {"state": "healthy", "boot_delay": 1}, diff=True),
    task("container_routes", "container_routes", {"names": ["*"]}, diff=True),
    task("instance in check mode", "instance", dict(AGENT_ARGS, container_routes=True, boot_delay=1), check_mode=True,
         diff=True),
    task("instance", "instance", dict(AGENT_ARGS, container_routes=True, boot_delay=1), diff=True),
]}]
PLAYBOOKS = ("verify", "recover", "bootstrap_containers", "configure")


def level_hosts(level):
    return ["ecs-sim-%03d" % (level * 3 + kind + 1) for kind in (GOOD, BROKEN, TOKEN)]


RUNNER_HOSTS = level_hosts(len(LEVELS))


@pytest.fixture(scope="module")
def sim(sim_factory, tmp_path_factory):
    sim = sim_factory(hosts=3 * (len(LEVELS) + 1))
    for level in list(LEVELS) + [len(LEVELS)]:
        for kind, host in enumerate(level_hosts(level)):
            setup(sim, host, *PLANTED[kind])
    # The task-argument secrets as a vault would hold them: host variables of an inventory source of their own.
    host_vars = tmp_path_factory.mktemp("secret-vars") / "secret-vars.yml"
    host_vars.write_text(json.dumps({"windows_ecs": {"hosts": {host: ARG_VARS for host in sim.hosts}}}))
    sim.secret_vars = host_vars
    sim.planted = control(sim, "state", level_hosts(0)[TOKEN])
    return sim


def _runs_of_level(sim, base, level):
    """Every module, then every playbook, on this level's hosts, at this verbosity: [(what, PlaybookRun, reports)]."""
    out = []
    hosts = ",".join(level_hosts(level))
    work = base / ("level%d" % level)
    common = {"limit": hosts, "verbosity": level, "args": ["-i", str(sim.secret_vars)]}
    out.append(("modules", run_playbook(json.dumps(MODULES) + "\n", sim.inventory, work / "modules", **common), None))
    for name in PLAYBOOKS:
        reports = work / ("%s-reports" % name)
        run = run_playbook("ecs_windows.task_iam." + name, sim.inventory, work / name,
                           extra_vars={"task_iam_report_dir": str(reports)}, **common)
        out.append((name, run, reports))
    return out


@pytest.fixture(scope="module")
def sweep(sim, tmp_path_factory):
    base = tmp_path_factory.mktemp("sweep")
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        levels = dict(zip(LEVELS, pool.map(lambda level: _runs_of_level(sim, base, level), LEVELS)))
    return levels


def _leaks(text):
    return [secret for secret in SECRETS if secret in text]


def _scan(where, text, found):
    leaked = _leaks(text)
    if leaked:
        found.append((where, leaked, _context(text, leaked[0])))


def _context(text, secret):
    index = text.index(secret)
    return text[max(0, index - 300):index + 100]


def test_the_sweep_ran_every_module_and_playbook_with_the_failures_it_means_to(sweep):
    """Guard: the sweep is only worth something if the runs did what they should (changes, diffs, failures)."""
    for level, runs in sweep.items():
        by_name = {name: run for name, run, _r in runs}
        good, broken, token = level_hosts(level)
        modules = by_name["modules"]
        assert modules.status(good, "agent") == "ok" and modules.result(good, "agent")["changed"] is True, modules
        assert "diff" in modules.result(good, "agent in check mode")
        assert modules.status(good, "agent moving cluster (refused)") == "failed"
        assert modules.status(broken, "credential_proxy") == "failed"
        assert modules.status(broken, "instance") == "failed"
        assert modules.status(good, "agent with a bad proxy URL") == "failed"
        assert by_name["verify"].rc == 2 and by_name["configure"].rc == 2  # BROKEN fails them
        assert by_name["configure"].status(good, "ecs_windows.task_iam.container_instance : Configure the agent, the "
                                           "credential proxy and the container routes, and verify the instance") == "ok"
        info = modules.result(token, "instance_info")
        assert info["machine_env"]["http_proxy"] == "https://********@proxy.corp.example:3128"
        assert info["machine_env"]["HTTPS_PROXY"] == "********"  # a space in front: masked whole
        assert {"DD_API_KEY", "SQL_PWD", "SPLUNK_HEC_PASS", "NEW_RELIC_LICENSE_KEY"} <= set(info["machine_env_other"])
        assert "DD_API_KEY" not in info["machine_env"] and info["machine_env"]["ECS_ENGINE_AUTH_DATA"] == "********"
        if level >= 5:
            assert "WINRM STDOUT" in modules.stdout or "WINRM RESULT" in modules.stdout  # the raw probe JSON is logged


def test_the_secrets_are_there_to_find(sim):
    state = sim.planted
    assert state["machine_env"]["DD_API_KEY"] == DD_API_KEY and TOKEN_USER in state["machine_env"]["http_proxy"]
    assert LEADING_SPACE_PW in state["machine_env"]["HTTPS_PROXY"]
    assert ARG_PROXY_PW in sim.secret_vars.read_text() and WINRM_PASSWORD in sim.inventory.read_text()


def test_no_secret_in_any_output_result_or_report(sweep):
    found = []
    for level, runs in sweep.items():
        for name, run, reports in runs:
            where = "level %d %s" % (level, name)
            _scan(where + " stdout", run.stdout, found)
            _scan(where + " stderr", run.stderr, found)
            _scan(where + " results", json.dumps(run.records), found)
            if reports is not None and reports.is_dir():
                for path in sorted(reports.iterdir()):
                    _scan("%s %s" % (where, path.name), path.read_text(errors="replace"), found)
    assert not found, "\n\n".join("%s: %s\n...%s..." % item for item in found)


def test_the_reports_were_written(sweep):
    for level, runs in sweep.items():
        for name, _run, reports in runs:
            if name in ("verify", "recover"):
                assert sorted(p.name for p in reports.iterdir()) == [
                    "fleet-report.html", "fleet-report.json", "fleet-report.md"], (level, name)


# --- AWX's engine --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner_jobs(sim, tmp_path_factory):
    import ansible_runner

    private = tmp_path_factory.mktemp("runner")
    shutil.copytree(ROOT / "awx", private / "project", ignore=shutil.ignore_patterns("collections"))
    (private / "inventory").mkdir()
    shutil.copy(sim.inventory, private / "inventory" / "hosts.yml")
    shutil.copy(sim.secret_vars, private / "inventory" / "secret-vars.yml")
    (private / "env").mkdir()
    env = {key: value for key, value in ansible_env(private).items()
           if key.startswith("ANSIBLE_") and key not in ("ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_CALLBACK_PLUGINS")}
    env["PATH"] = ansible_env(private)["PATH"]
    (private / "env" / "envvars").write_text(json.dumps(env))
    jobs = {}
    for name in ("verify", "recover", "bootstrap_containers", "configure"):
        jobs[name] = ansible_runner.run(private_data_dir=str(private), playbook=name + ".yml", quiet=True, verbosity=6,
                                        limit=",".join(RUNNER_HOSTS), ident=name,
                                        extravars={"task_iam_report_dir": str(private / ("%s-reports" % name))})
    return private, jobs


def test_no_secret_in_awx_events_or_artifacts(runner_jobs):
    private, jobs = runner_jobs
    found = []
    for name, job in jobs.items():
        assert job.rc in (0, 2), (name, job.rc, job.stdout.read()[-3000:])
        events = list(job.events)
        assert any(e["event"] == "runner_on_ok" for e in events) and any(e["event"] == "verbose" for e in events), name
        _scan("runner %s events" % name, json.dumps(events), found)
    assert jobs["configure"].rc == 2  # the BROKEN host fails
    files = [p for p in (private / "artifacts").rglob("*") if p.is_file()]
    files += [p for p in private.glob("*-reports/*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        _scan(str(path.relative_to(private)), path.read_text(errors="replace"), found)
    assert not found, "\n\n".join("%s: %s\n...%s..." % item for item in found)
