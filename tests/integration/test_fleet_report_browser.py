# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet-report.html in a real headless Chromium (Debian's package, driven by Playwright).

A 500-host report made by the real fleet_report and fleet_report_html filters, and the report the real verify
playbook writes for simulated hosts, are opened from disk; every assertion goes through the page (DOM queries,
computed layout, clicks and typing). tests/ensure-chromium.sh installs Chromium where it is missing; Playwright's
own browser downloads are never used. Screenshots: tests/output/fleet-report-browser/ (git-ignored).
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

from ecs_integration import ROOT, run_playbook

OUT = ROOT / "tests" / "output" / "fleet-report-browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"\'&amp;</td></tr>'
REFUSED = ("connection to {host} failed 4 times running probe; last error AnsibleConnectionFailure: ntlm: "
           "HTTPSConnectionPool(host='10.0.{n}.{m}', port=5986): Max retries exceeded with url: /wsman (Caused by "
           "NewConnectionError(\"HTTPSConnection(host='10.0.{n}.{m}', port=5986): Failed to establish a new "
           "connection: [Errno 111] Connection refused\"))")
TIMED_OUT = ("ntlm: HTTPSConnectionPool(host='10.0.{n}.{m}', port=5986): Read timed out. (read timeout=30)\n"
             "Traceback (most recent call last):\n  File \"winrm/transport.py\", line 340, in send_message\n")


# --- the browser ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    done = subprocess.run([str(ROOT / "tests" / "ensure-chromium.sh")], capture_output=True, text=True, check=False,
                          timeout=900)
    if done.returncode != 0:
        pytest.fail("tests/ensure-chromium.sh could not provide Chromium (rc %d):\n%s%s" % (
            done.returncode, done.stdout, done.stderr), pytrace=False)
    executable = done.stdout.strip().splitlines()[-1]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail("Python Playwright is missing (%s): make venv installs it from tests/requirements-dev.txt" % error,
                    pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A report opened from disk at 1280 px, with every request, console error and dialog recorded."""

    def __init__(self, browser, path):
        self.path = pathlib.Path(path)
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.page = self.context.new_page()
        self.requests, self.errors, self.dialogs = [], [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.goto(self.path.as_uri())

    def js(self, expression, arg=None):
        return self.page.evaluate(expression, arg)

    def visible_rows(self, table):
        """Hosts whose rows are rendered (not filtered out, not inside a closed section)."""
        return self.js("t => Array.from(document.querySelectorAll('#' + t + ' tr.host-row'))"
                       ".filter(r => r.checkVisibility()).map(r => r.dataset.host)", table)

    def counts(self):
        return self.js("Object.fromEntries(Array.from(document.querySelectorAll('#counts .count'))"
                       ".map(c => [c.dataset.health, Number(c.querySelector('.n').textContent)]))")

    def filter(self, text="", finding=""):
        self.page.fill("#filter-text", text)
        self.page.select_option("#filter-finding", finding)

    def overflow(self):
        """Everything that sticks out at the right or scrolls sideways (empty when the layout fits)."""
        return self.js("""() => {
            const width = document.documentElement.clientWidth;
            const out = [];
            const page = document.documentElement.scrollWidth;
            if (page > width) out.push('document ' + page);
            for (const e of document.querySelectorAll('body *')) {
                const box = e.getBoundingClientRect();
                if (box.width && box.right > width + 0.5) out.push(e.tagName + '.' + e.className + ' ' + box.right);
                if (['PRE', 'TABLE', 'TD', 'TH'].includes(e.tagName) && e.scrollWidth > e.clientWidth + 1)
                    out.push(e.tagName + ' scrolls ' + e.scrollWidth + ' > ' + e.clientWidth);
            }
            return out.slice(0, 20);
        }""")

    def open_everything(self):
        self.js("document.querySelectorAll('details').forEach(d => { d.open = true; })")

    def screenshot(self, name, full_page=False):
        OUT.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(OUT / name), full_page=full_page)

    def close(self):
        self.context.close()


# --- a 500-host report from the real filters ----------------------------------------------------------------------

def _filters():
    """The real filter module, imported as Ansible imports collection plugins."""
    from collection_path import collections_root
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if AnsibleCollectionConfig.collection_finder is None:
        _AnsibleCollectionFinder(paths=[str(collections_root())])._install()
    from ansible_collections.ecs_windows.task_iam.plugins.filter import fleet_report

    return fleet_report


def _finding(code, message, fix):
    return {"code": code, "message": message, "fix": fix}


STALE = _finding("proxy_stale_after_reboot", "the portproxy rule 169.254.170.2:80 -> 127.0.0.1:51679 survived the "
                 "reboot but 169.254.170.2 is not bound to vEthernet (nat): task credential requests fail",
                 "run ecs_windows.task_iam.credential_proxy (or on the host: netsh interface portproxy delete v4tov4 "
                 "listenaddress=169.254.170.2 listenport=80; Initialize-ECSAgent -Cluster prod -EnableTaskIAMRole)")
IIS = _finding("port80_in_use", "IIS (W3SVC, pid 4) listens on 0.0.0.0:80, so the credential proxy cannot bind "
               "169.254.170.2:80", "Stop-Service -Name W3SVC\nSet-Service -Name W3SVC -StartupType Disabled\n"
               "# or bind IIS to the host address only: Set-WebBinding -Name 'Default Web Site' -BindingInformation "
               "'*:80:' -PropertyName IPAddress -Value 10.0.1.23")
DEAD = _finding("proxy_dead_rule", "a portproxy rule holds 169.254.170.2:80 but forwards to nothing that answers",
                "run ecs_windows.task_iam.recover")
FRESH = _finding("agent_not_initialized", "the AmazonECS service does not exist: the ECS agent was never initialized",
                 "run ecs_windows.task_iam.agent with cluster: prod (Initialize-ECSAgent -Cluster prod "
                 "-EnableTaskIAMRole)")
CAPABILITY = _finding("ecs_task_iam_capability_missing", "the container instance lacks the attribute "
                      "com.amazonaws.ecs.capability.task-iam-role: tasks with a role cannot be placed here",
                      "ansible-playbook ecs_windows.task_iam.configure -e container_instance_cluster=prod")
IMDS = _finding("imds_fallback_risk", "nat-mode containers route to 169.254.169.254 while the credential proxy is "
                "broken: their SDKs fall back to the instance role", "set container_instance_imds: block")
FUTURE = _finding("a_code_from_the_future", "something this version does not know about", "see the docs")
BROKEN_SETS = ([STALE], [STALE, IMDS], [IIS, DEAD], [FRESH], [CAPABILITY], [IIS, STALE, IMDS, FUTURE])


def _ecs(n):
    return {"status": "DRAINING" if n % 10 == 0 else "ACTIVE", "agent_connected": n % 7 != 0, "running_tasks": n % 5,
            "pending_tasks": n % 2, "quarantined": n % 10 == 0,
            "container_instance_arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/%032x" % n}


def fleet_500():
    """Inventory host -> instance_info result, and what the page must show (computed from the input alone)."""
    results, expect = {}, {"health": {}, "codes": {}, "unreachable_refused": 0}
    for n in range(500):
        host = "ecs-win-%03d" % n
        base = {"host": {"hostname": "EC2AMAZ-%05d" % n, "boot_time": "2026-01-0%dT08:00:00Z" % (n % 9 + 1)},
                "registration": {"cluster": "prod" if n % 3 else "batch"}, "boot_recovery": {"installed": n % 2 == 0}}
        if n % 2 == 0 or n % 3 == 0:
            base["ecs"] = _ecs(n)
        if n < 60:
            msg = (REFUSED if n % 2 else TIMED_OUT).format(host=host, n=n // 256, m=n % 256)
            result, health = {"unreachable": True, "msg": msg, "changed": False}, "unreachable"
            expect["unreachable_refused"] += n % 2
        elif n < 80:
            result, health = {"failed": True, "msg": "probe failed: the JSON document ended early"}, "error"
        elif n < 290:
            findings = BROKEN_SETS[n % len(BROKEN_SETS)]
            result, health = dict(base, healthy=False, findings=findings), "broken"
            for code in {f["code"] for f in findings}:
                expect["codes"][code] = expect["codes"].get(code, 0) + 1
        else:
            result, health = dict(base, healthy=True, findings=[]), "healthy"
        results[host] = result
        expect["health"][host] = health
    # Hostile values from the hosts: a host name, its Windows name, cluster, ECS status and a finding.
    evil = {"healthy": False, "host": {"hostname": HOSTILE, "boot_time": HOSTILE}, "registration": {"cluster": HOSTILE},
            "ecs": dict(_ecs(1), status=HOSTILE), "findings": [_finding("port80_in_use", HOSTILE, HOSTILE)]}
    del results["ecs-win-499"], expect["health"]["ecs-win-499"]
    results[HOSTILE] = evil
    expect["health"][HOSTILE] = "broken"
    expect["codes"]["port80_in_use"] += 1
    return results, expect


@pytest.fixture(scope="module")
def big_report(tmp_path_factory):
    fleet_report = _filters()
    results, expect = fleet_500()
    report = fleet_report.fleet_report(results, target="windows_ecs", generated="2026-01-01T00:00:00Z")
    path = tmp_path_factory.mktemp("report") / "fleet-report.html"
    path.write_text(fleet_report.fleet_report_html(report), encoding="utf-8")
    return path, report, expect


@pytest.fixture
def big_page(browser, big_report):
    page = Page(browser, big_report[0])
    yield page
    page.close()


def test_self_contained_and_inert(big_page):
    assert big_page.requests == [big_page.path.as_uri()]  # the page itself and nothing else
    assert big_page.errors == [] and big_page.dialogs == []
    assert big_page.js("window.__pwned") is None
    assert big_page.js("document.scripts.length") == 1
    assert big_page.js("document.querySelectorAll('img, iframe, object, embed, link').length") == 0


def test_every_host_once_and_the_summary_counts(big_page, big_report):
    dummy, report, expect = big_report
    hosts = big_page.js("Array.from(document.querySelectorAll('tr.host-row'))"
                        ".map(r => [r.dataset.host, r.dataset.health])")
    assert len(hosts) == 500
    assert dict(hosts) == expect["health"]
    health = list(expect["health"].values())
    wanted = {"hosts": 500, "unreachable": health.count("unreachable"), "error": health.count("error"),
              "broken": health.count("broken"), "healthy": health.count("healthy")}
    assert wanted == {"hosts": 500, "unreachable": 60, "error": 20, "broken": 211, "healthy": 209}
    assert big_page.counts() == wanted
    assert big_page.js("document.getElementById('summary-text').textContent") == (
        "500 hosts: 209 healthy, 211 broken, 60 unreachable, 20 failed to answer.")
    # Healthy hosts are collapsed; the unhealthy ones are shown.
    assert big_page.js("document.getElementById('healthy-section').open") is False
    assert len(big_page.visible_rows("unhealthy-table")) == 291
    assert big_page.visible_rows("healthy-table") == []


def test_summary_by_finding_lists_its_hosts_and_a_copyable_fix(big_page, big_report):
    dummy, report, expect = big_report
    cards = big_page.js("""Array.from(document.querySelectorAll('#findings .finding')).map(c => ({
        code: c.dataset.code, badge: c.querySelector('.badge').textContent,
        hosts: c.querySelectorAll('.host-name').length, fixes: c.querySelectorAll('.codeblock pre').length}))""")
    by_code = {card["code"]: card for card in cards}
    assert list(by_code)[:2] == ["unreachable", "error"]
    assert by_code["unreachable"]["hosts"] == 60 and by_code["error"]["badge"] == "20 hosts"
    for code, count in expect["codes"].items():
        assert (by_code[code]["badge"], by_code[code]["hosts"]) == ("%d hosts" % count, count), code
        assert by_code[code]["fixes"] >= 1, code
    # The copy button puts the fix, line breaks included, on the clipboard.
    card = "#findings .finding[data-code='port80_in_use']"
    big_page.page.click(card + " button.copy")
    assert big_page.js("navigator.clipboard.readText()") == IIS["fix"]
    assert big_page.page.text_content(card + " button.copy") == "Copied"


def test_text_filter(big_page):
    big_page.filter(text="ecs-win-123")
    assert big_page.visible_rows("unhealthy-table") == ["ecs-win-123"]
    assert big_page.page.text_content("#unhealthy-shown") == "1 of 291"
    big_page.filter(text="EC2AMAZ-00400")  # a healthy host: its section opens to show it
    assert big_page.visible_rows("healthy-table") == ["ecs-win-400"] and big_page.visible_rows("unhealthy-table") == []
    assert big_page.js("document.getElementById('healthy-section').open") is True
    assert big_page.js("getComputedStyle(document.getElementById('unhealthy-empty')).display") != "none"
    big_page.filter(text="connection refused")  # matches the readable cause of refused hosts only
    assert len(big_page.visible_rows("unhealthy-table")) == 30
    big_page.filter(text="")
    assert len(big_page.visible_rows("unhealthy-table")) == 291


def test_finding_filter(big_page, big_report):
    dummy, report, expect = big_report
    options = big_page.js("Array.from(document.querySelectorAll('#filter-finding option')).map(o => o.value)")
    assert set(options) == {""} | set(expect["codes"]) | {"unreachable", "error"}
    for code, count in expect["codes"].items():
        big_page.filter(finding=code)
        assert len(big_page.visible_rows("unhealthy-table")) == count, code
        assert big_page.visible_rows("healthy-table") == []
    big_page.filter(finding="unreachable")
    assert len(big_page.visible_rows("unhealthy-table")) == 60
    # Both filters together: refused connections among the unreachable hosts.
    big_page.filter(text="refused", finding="unreachable")
    assert len(big_page.visible_rows("unhealthy-table")) == expect["unreachable_refused"] == 30
    # "Show these hosts" on a finding sets the finding filter.
    big_page.filter()
    big_page.page.click("#findings .finding[data-code='imds_fallback_risk'] button.show-hosts")
    assert big_page.js("document.getElementById('filter-finding').value") == "imds_fallback_risk"
    assert len(big_page.visible_rows("unhealthy-table")) == expect["codes"]["imds_fallback_risk"]
    big_page.screenshot("fleet-report-500-filtered.png")  # scrolled to the hosts by the button


def test_no_horizontal_scrolling_at_1280_px(big_page):
    assert big_page.js("window.innerWidth") == 1280
    assert big_page.overflow() == []
    big_page.screenshot("fleet-report-500.png")
    big_page.open_everything()  # every host, every full error and every extra finding expanded
    assert big_page.overflow() == []
    widths = big_page.js("Array.from(document.querySelectorAll('table')).map(t => t.getBoundingClientRect().right)")
    assert len(widths) == 2 and max(widths) <= 1280
    # ECS columns, since some hosts have the ECS view.
    headers = big_page.js("Array.from(document.querySelectorAll('#unhealthy-table th')).map(th => th.textContent)")
    assert headers == ["Host", "Health", "Findings", "Cause and fix", "Next step", "ECS status", "Agent", "Tasks",
                       "Quaran\u00adtined"]


def test_unreachable_rows_are_readable(big_page):
    row = "#unhealthy-table tr[data-host='ecs-win-001']"
    assert big_page.page.text_content(row + " .cause-text") == "Connection refused (10.0.0.1:5986, 4 attempts)"
    assert not big_page.page.is_visible(row + " details.error-detail pre")
    big_page.page.click(row + " details.error-detail summary")
    detail = big_page.page.text_content(row + " details.error-detail pre")
    assert detail.startswith("connection to ecs-win-001 failed 4 times") and "[Errno 111]" in detail
    timed_out = "#unhealthy-table tr[data-host='ecs-win-002'] .cause-text"
    assert big_page.page.text_content(timed_out) == "Read timed out (10.0.0.2:5986)"


def test_hostile_values_render_as_text(big_page):
    cells = big_page.js("""h => { const row = Array.from(document.querySelectorAll('tr.host-row'))
                                      .find(r => r.dataset.host === h);
                               return Array.from(row.querySelectorAll('td')).map(td => td.textContent); }""", HOSTILE)
    assert cells[0].startswith(HOSTILE)  # the host name, then its Windows name and cluster, as text
    assert cells[3].startswith(HOSTILE) and HOSTILE in cells[3]  # cause and fix
    assert cells[5] == HOSTILE  # the ECS status
    big_page.filter(text="<script>window.__pwned")
    assert big_page.visible_rows("unhealthy-table") == [HOSTILE]
    assert big_page.js("window.__pwned") is None and big_page.dialogs == []


# --- end to end: verify against simulated hosts -------------------------------------------------------------------

def test_verify_writes_the_three_reports_and_the_html_renders(sim_factory, tmp_path, browser):
    sim = sim_factory(hosts=5)
    fresh, healthy, stale, iis, down = sim.hosts
    for name in (healthy, stale, iis, down):
        sim.set(name, "init-agent=browser")
    sim.set(iis, "iis=on")
    sim.reboot(stale, downtime=0.2)
    sim.reboot(down, downtime=600, wait=False)
    reports = tmp_path / "reports"
    run = run_playbook("ecs_windows.task_iam.verify", sim.inventory, tmp_path, extra_vars={"task_iam_report_dir": str(reports)})
    assert run.rc == 2, run
    assert sorted(p.name for p in reports.iterdir()) == ["fleet-report.html", "fleet-report.json", "fleet-report.md"]
    report = json.loads((reports / "fleet-report.json").read_text())
    rows = {row["host"]: row for row in report["hosts"]}
    assert [rows[h]["health"] for h in sim.hosts] == ["broken", "healthy", "broken", "broken", "unreachable"]

    # Each unhealthy host's cause and fix is printed once (the failures point at the summary).
    failed = {r["host"]: r["result"]["msg"] for r in run.results("Fail the host when it is not healthy")
              if r["status"] == "failed"}
    assert sorted(failed) == sorted([fresh, stale, iis, down])
    def printed(text):  # as the default callback shows it inside a JSON string
        escaped = json.dumps(text, ensure_ascii=False)[1:-1]
        return run.stdout.count(text) + (run.stdout.count(escaped) if escaped != text else 0)

    for name in failed:
        row = rows[name]
        assert printed(row["summary"]) == 1, (name, run)
        assert row["fix"] not in failed[name] and "fleet-report.html" in failed[name]
    assert failed[fresh].startswith("broken [agent_not_initialized]:")
    assert failed[down].startswith("unreachable:")
    same_cause = [h for h in rows if rows[h]["cause"] == rows[fresh]["cause"]]
    assert printed(rows[fresh]["cause"]) == len(same_cause)

    page = Page(browser, reports / "fleet-report.html")
    try:
        assert page.requests == [page.path.as_uri()] and page.errors == []
        assert page.counts() == {"hosts": 5, "unreachable": 1, "error": 0, "broken": 3, "healthy": 1}
        assert sorted(page.visible_rows("unhealthy-table")) == sorted([fresh, stale, iis, down])
        assert page.page.text_content("#unhealthy-table tr[data-host='%s'] .cause-text" % down).startswith(
            "Connection refused")
        codes = page.js("Array.from(document.querySelectorAll('#findings .finding')).map(c => c.dataset.code)")
        assert codes[0] == "unreachable" and {"agent_not_initialized", "proxy_stale_after_reboot",
                                              "port80_in_use"} <= set(codes)
        fix = page.page.text_content("#unhealthy-table tr[data-host='%s'] .codeblock pre" % iis)
        assert fix == rows[iis]["fix"] and "W3SVC" in fix
        assert page.js("document.querySelectorAll('#unhealthy-table th').length") == 5  # no ECS view here
        page.open_everything()
        assert page.overflow() == []
        page.screenshot("verify-simulated-fleet.png", full_page=True)
    finally:
        page.close()
    markdown = (reports / "fleet-report.md").read_text()
    assert "## By finding" in markdown and "```text" in markdown
