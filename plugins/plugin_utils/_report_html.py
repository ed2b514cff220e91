# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report (the output of the fleet_report filter) as one self-contained HTML page.

No external asset: the style and the script are inline, and the page's Content-Security-Policy allows only
those two (by their hashes) and nothing from the network. Every value is HTML-escaped: host names,
messages and fixes come from the hosts and are untrusted. The data lives in the DOM (text and data-*
attributes), never inside the script. Linear in the number of hosts.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any

# Hosts listed inline under a finding; more go behind a toggle.
_INLINE_HOSTS = 20
# Fix variants shown under a finding (hosts whose fix differs show it in their row).
_FIX_VARIANTS = 3
_NOT_CHECKED = ("unreachable", "error")

_STYLE = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-soft: #f6f8fa; --code-bg: #f3f4f6;
  --broken: #b42318; --unreachable: #6941c6; --error: #b54708; --healthy: #067647; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 20px 40px; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h1 small { font-size: 14px; font-weight: normal; color: var(--muted); display: block; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
p { margin: 4px 0; }
.meta { color: var(--muted); }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 12.5px; }
code { background: var(--code-bg); padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.counts { display: flex; flex-wrap: wrap; gap: 10px; list-style: none; padding: 0; margin: 10px 0; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: 6px 14px; min-width: 110px; }
.count .n { display: block; font-size: 22px; font-weight: 600; }
.count.health-broken .n { color: var(--broken); } .count.health-unreachable .n { color: var(--unreachable); }
.count.health-error .n { color: var(--error); } .count.health-healthy .n { color: var(--healthy); }
.findings { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
.finding { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
.finding-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 10px; }
.finding-head h4 { margin: 0; font-size: 14px; min-width: 0; overflow-wrap: anywhere; }
.badge { background: var(--bg-soft); border: 1px solid var(--line); border-radius: 10px; padding: 0 8px;
  font-size: 12px; }
.finding .next { color: var(--muted); font-size: 12.5px; }
.finding .fix-for { color: var(--muted); font-size: 12.5px; margin-top: 6px; }
.host-list { margin: 6px 0 0; overflow-wrap: anywhere; }
.host-list .host-name { display: inline-block; margin: 0 6px 2px 0; }
.codeblock { position: relative; background: var(--code-bg); border: 1px solid var(--line); border-radius: 5px;
  margin: 6px 0; padding: 6px 64px 6px 8px; min-width: 0; }
.copy { position: absolute; top: 4px; right: 4px; font-size: 11.5px; padding: 1px 8px; cursor: pointer;
  border: 1px solid var(--line); border-radius: 4px; background: #fff; }
button.show-hosts { font-size: 12px; cursor: pointer; border: 1px solid var(--line); border-radius: 4px;
  background: #fff; padding: 1px 8px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0 10px; }
.controls input[type=search] { width: 340px; max-width: 100%; padding: 4px 8px; font: inherit; }
.controls select { max-width: 420px; padding: 3px 6px; font: inherit; }
.shown { color: var(--muted); }
table.hosts { width: 100%; table-layout: fixed; border-collapse: collapse; }
table.hosts th, table.hosts td { border-bottom: 1px solid var(--line); padding: 6px 6px; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
table.hosts th { position: sticky; top: 0; background: var(--bg-soft); font-size: 12.5px; z-index: 1;
  padding: 6px 4px; overflow-wrap: break-word; hyphens: manual; }
td.host b { overflow-wrap: anywhere; }
.sub { color: var(--muted); font-size: 12px; }
.health { font-weight: 600; font-size: 12.5px; }
.health-broken .health { color: var(--broken); } .health-unreachable .health { color: var(--unreachable); }
.health-error .health { color: var(--error); } .health-healthy .health { color: var(--healthy); }
td.codes code { display: inline-block; margin: 0 2px 2px 0; }
td.codes code, td.next code, .finding-head code, .finding .next code { overflow-wrap: break-word; }
details > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
details.healthy > summary { font-size: 16px; font-weight: 600; color: var(--fg); margin: 24px 0 8px; }
.empty { color: var(--muted); font-style: italic; }
@media print { .controls, .copy, button.show-hosts { display: none; } }
"""

_SCRIPT = """
(function () {
  "use strict";
  var text = document.getElementById("filter-text");
  var finding = document.getElementById("filter-finding");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.host-row"));
  var haystack = rows.map(function (row) { return row.textContent.toLowerCase(); });
  var codes = rows.map(function (row) { return (row.getAttribute("data-findings") || "").split("\\n"); });
  var healthy = document.getElementById("healthy-section");
  function apply() {
    var needle = text.value.trim().toLowerCase();
    var code = finding.value;
    var shown = {unhealthy: 0, healthy: 0}, total = {unhealthy: 0, healthy: 0};
    rows.forEach(function (row, i) {
      var kind = row.getAttribute("data-health") === "healthy" ? "healthy" : "unhealthy";
      var visible = (!needle || haystack[i].indexOf(needle) !== -1) && (!code || codes[i].indexOf(code) !== -1);
      row.hidden = !visible;
      total[kind] += 1;
      if (visible) { shown[kind] += 1; }
    });
    ["unhealthy", "healthy"].forEach(function (kind) {
      var label = document.getElementById(kind + "-shown");
      label.textContent = (needle || code) ? shown[kind] + " of " + total[kind] : String(total[kind]);
      document.getElementById(kind + "-empty").hidden = shown[kind] > 0 || total[kind] === 0;
    });
    if (needle && shown.healthy > 0 && healthy) { healthy.open = true; }
  }
  text.addEventListener("input", apply);
  finding.addEventListener("change", apply);
  Array.prototype.forEach.call(document.querySelectorAll("button.show-hosts"), function (button) {
    button.addEventListener("click", function () {
      finding.value = button.getAttribute("data-code");
      text.value = "";
      apply();
      document.getElementById("hosts").scrollIntoView();
    });
  });
  function fallbackCopy(pre) {
    var range = document.createRange();
    range.selectNodeContents(pre);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var pre = button.parentNode.querySelector("pre");
      function done(ok) {
        button.textContent = ok ? "Copied" : "Select + Ctrl+C";
        window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(pre.textContent).then(function () { done(true); },
                                                            function () { done(fallbackCopy(pre)); });
      } else {
        done(fallbackCopy(pre));
      }
    });
  });
  apply();
})();
"""


def _e(value: Any) -> str:
    """Escaped text of any value (None is empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def _wrappable(value: Any) -> str:
    """Escaped identifier-like text (codes, playbook names) that may wrap after _ . and /, not inside words."""
    return re.sub(r"([_./])", r"\1<wbr>", _e(value))


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "-")


def ecs_cells(row: dict) -> tuple:
    """The ECS columns of a row as plain text: status, agent connected, running / pending tasks, quarantined."""
    ecs = row.get("ecs") or {}
    if not ecs:
        return ("-", "-", "-", "-")
    tasks = "%s / %s" % tuple(
        "-" if ecs.get(key) is None else _one_line(str(ecs.get(key))) for key in ("running_tasks", "pending_tasks")
    )
    return (
        _one_line(ecs.get("status")) or "-",
        _yes_no(ecs.get("agent_connected")),
        tasks,
        _yes_no(ecs.get("quarantined")),
    )


def heals_at_boot(row: dict) -> str:
    if row.get("healed_at_boot"):
        return "yes (repaired itself at %s)" % _one_line(row["healed_at_boot"])
    return _yes_no(row.get("on_boot"))


def _codeblock(text: Any) -> str:
    return (
        '<div class="codeblock"><pre><code>%s</code></pre>'
        '<button type="button" class="copy" title="Copy to the clipboard">Copy</button></div>' % _e(text)
    )


def _plural(count: int, word: str) -> str:
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def _host_list(hosts: list) -> str:
    names = "".join('<span class="host-name"><code>%s</code></span>' % _e(host) for host in hosts)
    if len(hosts) <= _INLINE_HOSTS:
        return '<p class="host-list">%s</p>' % names
    return '<details class="host-list"><summary>All %d hosts</summary><p>%s</p></details>' % (len(hosts), names)


def _finding_card(group: dict) -> str:
    code = group["code"]
    parts = [
        '<article class="finding" data-code="%s">' % _e(code),
        '<div class="finding-head"><h4><code>%s</code></h4><span class="badge">%s</span>'
        % (_wrappable(code), _e(_plural(group["count"], "host"))),
        '<span class="next">next step: <code>%s</code></span>' % _wrappable(group["next_step"]),
        '<button type="button" class="show-hosts" data-code="%s">Show these hosts</button></div>' % _e(code),
        '<p class="message">On <code>%s</code>: %s</p>' % (_e(group["example_host"]), _e(group["message"])),
    ]
    variants = group["fixes"]
    for variant in variants[:_FIX_VARIANTS]:
        if len(variants) > 1:
            parts.append('<p class="fix-for">Fix for %s:</p>' % _e(_plural(len(variant["hosts"]), "host")))
        if code in _NOT_CHECKED:
            parts.append('<p class="fix">%s</p>' % _e(variant["fix"]))
        else:
            parts.append(_codeblock(variant["fix"]))
    if len(variants) > _FIX_VARIANTS:
        others = sum(len(variant["hosts"]) for variant in variants[_FIX_VARIANTS:])
        parts.append('<p class="fix-for">%s with another fix: see their rows.</p>' % _e(_plural(others, "host")))
    parts.append(_host_list(group["hosts"]))
    parts.append("</article>")
    return "".join(parts)


def _ecs_tds(row: dict) -> str:
    return "".join("<td>%s</td>" % _e(value) for value in ecs_cells(row))


def _host_cell(row: dict) -> str:
    cluster = row.get("cluster") and "cluster %s" % row["cluster"]
    sub = " \u00b7 ".join(_one_line(value) for value in (row.get("hostname"), cluster) if value)
    return '<td class="host"><b>%s</b>%s</td>' % (_e(row["host"]), '<div class="sub">%s</div>' % _e(sub) if sub else "")


def _cause_cell(row: dict) -> str:
    parts = ['<td class="cause"><p class="cause-text">%s</p>' % _e(row["cause"])]
    if row["health"] in _NOT_CHECKED:
        if row.get("cause_detail"):
            parts.append(
                '<details class="error-detail"><summary>Full error</summary><pre>%s</pre></details>'
                % _e(row["cause_detail"])
            )
        parts.append('<p class="fix">%s</p>' % _e(row["fix"]))
    else:
        parts.append(_codeblock(row["fix"]))
        others = [
            finding for finding in row["details"] if finding["message"] != row["cause"] or finding["fix"] != row["fix"]
        ]
        if others:
            items = "".join(
                "<li><code>%s</code>: %s%s</li>" % (_wrappable(f["code"]), _e(f["message"]), _codeblock(f["fix"]))
                for f in others
            )
            parts.append('<details class="more"><summary>%s more</summary><ul>%s</ul></details>' % (len(others), items))
    parts.append("</td>")
    return "".join(parts)


def _unhealthy_row(row: dict, ecs_view: bool) -> str:
    codes = row["findings"] or [row["health"]]
    return "".join(
        [
            '<tr class="host-row health-%s" data-host="%s" data-health="%s" data-findings="%s">'
            % (_e(row["health"]), _e(row["host"]), _e(row["health"]), _e("\n".join(codes))),
            _host_cell(row),
            '<td><span class="health">%s</span></td>' % _e(row["health"]),
            '<td class="codes">%s</td>' % " ".join("<code>%s</code>" % _wrappable(code) for code in row["findings"]),
            _cause_cell(row),
            '<td class="next"><code>%s</code></td>' % _wrappable(row["next_step"]),
            _ecs_tds(row) if ecs_view else "",
            "</tr>",
        ]
    )


def _healthy_row(row: dict, ecs_view: bool) -> str:
    return "".join(
        [
            '<tr class="host-row health-healthy" data-host="%s" data-health="healthy" data-findings="">'
            % _e(row["host"]),
            '<td class="host"><b>%s</b></td>' % _e(row["host"]),
            "<td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
            % (
                _e(row.get("hostname") or "-"),
                _e(row.get("cluster") or "-"),
                _e(heals_at_boot(row)),
                _e(row.get("boot_time") or "-"),
            ),
            _ecs_tds(row) if ecs_view else "",
            "</tr>",
        ]
    )


# Columns of the two tables: (class, label, title, width % without the ECS view, width % with it).
_ECS_COLUMNS = (
    ("ecs-status", "ECS status", "ECS status (ACTIVE, DRAINING, ...)", 0, 7),
    ("ecs-agent", "Agent", "ECS agent connected", 0, 5),
    ("ecs-tasks", "Tasks", "tasks running / pending", 0, 4),
    ("ecs-quarantined", "Quaran\u00adtined", "quarantined by the collection", 0, 6),
)
_COLUMNS = {
    "unhealthy-table": (
        ("host", "Host", "inventory host, Windows host name, cluster", 15, 12),
        ("health", "Health", "health", 9, 8),
        ("findings", "Findings", "finding codes", 14, 12),
        ("cause", "Cause and fix", "the most fundamental finding first", 47, 34),
        ("next", "Next step", "the playbook to run next", 15, 11),
    )
    + _ECS_COLUMNS,
    "healthy-table": (
        ("host", "Host", "inventory host", 22, 18),
        ("hostname", "Windows host name", "hostname", 18, 14),
        ("cluster", "Cluster", "ECS cluster", 18, 14),
        ("heals", "Heals at boot", "on_boot", 22, 16),
        ("boot", "Boot time", "last boot", 20, 17),
    )
    + _ECS_COLUMNS,
}
# Column widths as style rules (the Content-Security-Policy allows no style attribute).
_STYLE += "".join(
    "#%s col.c-%s { width: %d%%; } #%s.ecs col.c-%s { width: %d%%; }\n" % (table, name, plain, table, name, ecs)
    for table, columns in _COLUMNS.items()
    for name, dummy, dummy2, plain, ecs in columns
)


def _table(table_id: str, ecs_view: bool, body: list) -> str:
    columns = [column for column in _COLUMNS[table_id] if ecs_view or column[3]]
    cols = "".join('<col class="c-%s">' % name for name, dummy, dummy2, dummy3, dummy4 in columns)
    heads = "".join(
        '<th scope="col" title="%s">%s</th>' % (_e(title), _e(label)) for dummy, label, title, dummy2, dummy3 in columns
    )
    return (
        '<table class="hosts%s" id="%s"><colgroup>%s</colgroup><thead><tr>%s</tr></thead><tbody>%s</tbody>'
        "</table>" % (" ecs" if ecs_view else "", table_id, cols, heads, "\n".join(body))
    )


def _ecs_line(summary: dict) -> str:
    ecs = summary.get("ecs")
    if not ecs:
        return ""
    statuses = ", ".join("%d %s" % (count, status) for status, count in sorted(ecs["status"].items()))
    return (
        '<p class="ecs-summary" id="ecs-summary">ECS: %s; %s disconnected, %d quarantined, %s running, '
        "%d pending%s.</p>"
    ) % (
        _e(statuses or "no container instance found"),
        _e(_plural(ecs["agent_disconnected"], "agent")),
        ecs["quarantined"],
        _e(_plural(ecs["running_tasks"], "task")),
        ecs["pending_tasks"],
        _e("; %d hosts without the ECS view" % ecs["without_ecs_view"]) if ecs["without_ecs_view"] else "",
    )


def _hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


_CSP = "default-src 'none'; style-src %s; script-src %s; img-src 'none'; form-action 'none'; base-uri 'none'" % (
    _hash(_STYLE),
    _hash(_SCRIPT),
)


def render_html(report: dict) -> str:
    """The whole page."""
    summary = report["summary"]
    ecs_view = bool(report.get("ecs_view"))
    rows = report["hosts"]
    unhealthy = [row for row in rows if row["health"] != "healthy"]
    healthy = [row for row in rows if row["health"] == "healthy"]
    groups = report.get("findings") or []
    counts = "".join(
        '<li class="count health-%s" data-health="%s"><span class="n">%d</span> %s</li>'
        % (key, key, summary.get(key, 0), label)
        for key, label in (
            ("hosts", "hosts"),
            ("unreachable", "unreachable"),
            ("error", "failed to answer"),
            ("broken", "broken"),
            ("healthy", "healthy"),
        )
    )
    options = "".join(
        '<option value="%s">%s (%d)</option>' % (_e(group["code"]), _e(group["code"]), group["count"])
        for group in groups
    )
    if groups:
        by_finding = '<h3>By finding</h3><div class="findings" id="findings">%s</div>' % "".join(
            _finding_card(group) for group in groups
        )
    else:
        by_finding = '<p class="empty">No finding: every host is healthy.</p>'
    if unhealthy:
        unhealthy_table = _table("unhealthy-table", ecs_view, [_unhealthy_row(row, ecs_view) for row in unhealthy])
    else:
        unhealthy_table = '<p class="empty">Every host is healthy.</p>'
    healthy_table = _table("healthy-table", ecs_view, [_healthy_row(row, ecs_view) for row in healthy])
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="%s">' % _e(_CSP),
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Fleet report: %s</title>" % _e(_one_line(summary["text"])),
            "<style>%s</style></head><body>" % _STYLE,
            "<header><h1>Fleet report<small>IAM roles for tasks on Windows ECS container instances</small></h1>",
            '<p class="meta">Target <code>%s</code>, generated %s by <code>ecs_windows.task_iam.verify</code>.</p>'
            "</header><main>" % (_e(report.get("target")), _e(report.get("generated") or "-")),
            '<section id="summary"><h2>Summary</h2><p class="summary-text" id="summary-text"><strong>%s.</strong></p>'
            % _e(summary["text"]),
            '<ul class="counts" id="counts">%s</ul>' % counts,
            _ecs_line(summary),
            by_finding,
            "</section>",
            '<section id="hosts"><h2>Unhealthy hosts (<span id="unhealthy-shown">%d</span>)</h2>' % len(unhealthy),
            '<div class="controls"><label>Filter <input type="search" id="filter-text" autocomplete="off" '
            'placeholder="host, cause, fix, cluster ..."></label>',
            '<label>Finding <select id="filter-finding"><option value="">all findings</option>%s</select></label></div>'
            % options,
            unhealthy_table,
            '<p class="empty" id="unhealthy-empty" hidden>No unhealthy host matches the filter.</p>',
            '<details class="healthy" id="healthy-section"><summary>Healthy hosts (<span id="healthy-shown">%d</span>)'
            "</summary>" % len(healthy),
            healthy_table,
            '<p class="empty" id="healthy-empty" hidden>No healthy host matches the filter.</p></details>',
            "</section></main>",
            "<script>%s</script>" % _SCRIPT,
            "</body></html>",
            "",
        ]
    )
