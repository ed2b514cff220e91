# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import base64
import json
import pathlib
import re
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.filter.user_data import user_data
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _plan_agent
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._pwsh_quote import quote_pwsh

from pwsh_grammar import command_names, parse, split_strings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
import ps51  # noqa: E402  pylint: disable=wrong-import-position

PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def script_of(text):
    match = re.fullmatch(r"<powershell>\n(.*)\n</powershell>\n(<persist>true</persist>\n)?", text, re.S)
    assert match, "not <powershell>...</powershell> user data:\n" + text
    return match.group(1)


def read_verbatim(text):
    """Read one PowerShell verbatim string the way the language spec does (any of the five quotes
    delimits, a doubled one is literal); return (value, rest)."""
    assert text[0] in PS_QUOTES
    value, i = [], 1
    while i < len(text):
        if text[i] in PS_QUOTES:
            if i + 1 < len(text) and text[i + 1] in PS_QUOTES:
                value.append(text[i])
                i += 2
                continue
            return "".join(value), text[i + 1:]
        value.append(text[i])
        i += 1
    raise AssertionError("unterminated string: %r" % text)


@pytest.mark.parametrize(
    "value",
    ["", "plain", "it's", "'", "''", "a\u2018b\u2019c\u201ad\u201be", "\u2019; Remove-Item C:\\ -Recurse; \u2019", "$(whoami) `n \"x\" @{}"],
)
def test_quote_pwsh_round_trips_with_every_single_quote_character(value):
    quoted = quote_pwsh(value)
    read, rest = read_verbatim(quoted)
    assert (read, rest) == (value, "")
    for quote in PS_QUOTES:
        assert quoted.count(quote) == 2 * value.count(quote) + (2 if quote == "'" else 0)


def test_minimal_user_data_is_the_aws_form():
    text = user_data("windows")
    body = script_of(text)
    assert "Import-Module -Name 'ECSTools'" in body
    assert "Initialize-ECSAgent -Cluster 'windows' -EnableTaskIAMRole\n" in body
    assert "<persist>" not in text
    assert "HTTP_PROXY" not in body and "WSMan" not in body


def test_all_options_render_and_parse():
    text = user_data(
        "prod_cluster-1",
        agent_version="v1.105.1",
        logging_drivers=["json-file", "awslogs", "json-file"],
        enable_task_eni=True,
        awsvpc_block_imds=True,
        awsvpc_additional_local_routes=["172.31.42.23/32", "10.0.0.0/8"],
        awslogs_executionrole_override=True,
        http_proxy="http://proxy.example.com:3128",
        https_proxy="http://proxy.example.com:3129",
        no_proxy=[".internal.example.com", "10.0.0.0/8"],
        agent_env={"ECS_ENABLE_SPOT_INSTANCE_DRAINING": True, "ECS_CONTAINER_STOP_TIMEOUT": "2m", "ECS_NUM_IMAGES_DELETE_PER_CYCLE": 10},
        winrm_https=True,
        initialize_attempts=5,
        persist=True,
    )
    assert text.endswith("</powershell>\n<persist>true</persist>\n")
    body = script_of(text)
    tree = parse(body)
    strings, _code = split_strings(tree)
    # Windows PowerShell 5.1 cmdlets by their full names, nothing else is invoked.
    assert set(command_names(tree)) == {
        "Restart-Service", "Set-Service", "Start-Service", "Get-ChildItem", "Where-Object", "New-SelfSignedCertificate",
        "New-WSManInstance", "Out-Null", "Get-NetFirewallRule", "New-NetFirewallRule", "Import-Module",
        "Initialize-ECSAgent", "Start-Sleep",
    }
    init = [line for line in body.splitlines() if line.strip().startswith("Initialize-ECSAgent")]
    assert init == [
        "        Initialize-ECSAgent -Cluster 'prod_cluster-1' -EnableTaskIAMRole -Version 'v1.105.1' "
        "-LoggingDrivers '[\"json-file\",\"awslogs\"]' -EnableTaskENI -AwsvpcBlockIMDS "
        "-AwsvpcAdditionalLocalRoutes '[\"172.31.42.23/32\",\"10.0.0.0/8\"]'"
    ]
    assert json.loads(strings[strings.index("prod_cluster-1") + 2]) == ["json-file", "awslogs"]
    assert "169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine,.internal.example.com,10.0.0.0/8" in strings
    for name, value in (
        ("HTTP_PROXY", "http://proxy.example.com:3128"),
        ("HTTPS_PROXY", "http://proxy.example.com:3129"),
        ("ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE", "true"),
        ("ECS_ENABLE_SPOT_INSTANCE_DRAINING", "true"),
        ("ECS_NUM_IMAGES_DELETE_PER_CYCLE", "10"),
    ):
        assert "[Environment]::SetEnvironmentVariable(%s, %s, 'Machine')" % (quote_pwsh(name), quote_pwsh(value)) in body
    assert body.index("SetEnvironmentVariable('NO_PROXY'") < body.index("Restart-Service -Name 'docker' -Force") < body.index("Initialize-ECSAgent")
    # WinRM first, so Ansible can reach the host even when the agent set-up fails.
    assert body.index("New-WSManInstance") < body.index("Import-Module")
    assert "LocalPort = 5986" in body and "New-SelfSignedCertificate" in body
    assert "if ($attempt -ge 5) { throw }" in body


def test_proxy_always_brings_the_no_proxy_the_agent_needs():
    body = script_of(user_data("c", http_proxy="https://p.example.com"))
    assert "SetEnvironmentVariable('NO_PROXY', '169.254.169.254,169.254.170.2,\\\\.\\pipe\\docker_engine', 'Machine')" in body
    parse(body)


HOSTILE = [
    "x'; Remove-Item C:\\ -Recurse -Force; 'PWNED",
    "'PWNED'",
    "$(Invoke-Expression PWNED)",
    "`PWNED`n\"$env:PWNED\"",
    "PWNED'); Start-Process calc; ('",
    "@'\nPWNED\n'@",
    "'' + PWNED + ''",
    "#PWNED <# #>",
]


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if "\n" not in h and "<" not in h])
def test_hostile_values_stay_inside_quoted_strings(hostile):
    body = script_of(
        user_data(
            "windows",
            http_proxy="http://user:%s@proxy.example.com:3128" % hostile.replace(" ", "%20"),
            no_proxy=[hostile.replace(",", ";").replace(" ", "")],
            agent_env={"ECS_MY_SETTING": hostile},
            winrm_https=True,
        )
    )
    strings, code = split_strings(parse(body))
    assert hostile in strings
    assert any(hostile.replace(",", ";").replace(" ", "") in value for value in strings)
    assert not [leaf for leaf in code if "PWNED" in leaf], "a hostile value leaked out of its string"


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"agent_env": {"ECS_X": "line\nbreak"}}, "agent_env.ECS_X contains '\\n'"),
        ({"agent_env": {"ECS_X": "</powershell><powershell>PWNED"}}, "agent_env.ECS_X contains '<', '>'"),
        ({"agent_env": {"ECS_X": "caf\u00e9"}}, "printable ASCII"),
        ({"agent_env": {"ECS_X": "\u2019; PWNED"}}, "agent_env.ECS_X contains '\u2019'"),
        ({"http_proxy": "http://p", "no_proxy": ["\u2019x"]}, "no_proxy contains '\u2019'"),
        ({"http_proxy": "http://p\u2019x:1"}, "http_proxy contains"),
    ],
)
def test_values_that_tags_or_code_pages_could_break_are_refused(bad, message):
    with pytest.raises(AnsibleFilterError) as err:
        user_data("windows", **bad)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "cluster, kwargs, message",
    [
        ("bad name", {}, "cluster (the filter input) 'bad name' is not a valid ECS cluster name: it contains ' '"),
        ("x'; PWNED", {}, "is not a valid ECS cluster name"),
        ("", {}, "it is empty"),
        ("a" * 256, {}, "is 256 characters long"),
        (None, {}, "must be a string"),
        ("c", {"agent_version": "1.2"}, "agent_version '1.2' is not 'latest' or an agent version"),
        ("c", {"agent_version": "latest; PWNED"}, "agent_version"),
        ("c", {"logging_drivers": "awslogs"}, "logging_drivers must be a list of strings"),
        ("c", {"logging_drivers": []}, "logging_drivers is empty"),
        ("c", {"logging_drivers": ["awslogs", "json"]}, "logging_drivers: unknown driver(s) 'json'"),
        ("c", {"enable_task_eni": True, "awsvpc_additional_local_routes": ["10.0.0.1"]}, "awsvpc_additional_local_routes: '10.0.0.1' is not an IPv4 CIDR"),
        ("c", {"enable_task_eni": True, "awsvpc_additional_local_routes": ["PWNED"]}, "is not an IPv4 CIDR"),
        ("c", {"awsvpc_block_imds": True}, "awsvpc_block_imds applies to awsvpc tasks only: set enable_task_eni=true"),
        ("c", {"awsvpc_additional_local_routes": ["10.0.0.0/8"]}, "awsvpc_additional_local_routes applies to awsvpc tasks only"),
        ("c", {"enable_task_eni": "yes"}, "enable_task_eni must be a boolean"),
        ("c", {"http_proxy": "proxy:3128"}, "http_proxy must be a URL like http://proxy.example.com:3128"),
        ("c", {"http_proxy": "http://p:99999"}, "its port is not a number from 0 to 65535"),
        ("c", {"http_proxy": "http://proxy.example.com:3128/path"}, "it has a path, query or fragment"),
        ("c", {"http_proxy": "http://p", "https_proxy": "ftp://p"}, "https_proxy must be a URL"),
        ("c", {"no_proxy": ["x"]}, "no_proxy needs http_proxy"),
        ("c", {"https_proxy": "http://p"}, "https_proxy needs http_proxy"),
        ("c", {"http_proxy": "http://p", "no_proxy": ["a,b"]}, "no_proxy: 'a,b' is not a single host"),
        ("c", {"http_proxy": "http://p", "no_proxy": "a"}, "no_proxy must be a list of strings"),
        ("c", {"agent_env": {"ECS_CLUSTER": "other"}}, "agent_env: ECS_CLUSTER is set by its own option"),
        ("c", {"agent_env": {"ECS_DATADIR": "D:\\x"}}, "agent_env: ECS_DATADIR is set by Initialize-ECSAgent"),
        ("c", {"agent_env": {"NO_PROXY": "x"}}, "agent_env: 'NO_PROXY' is not an ECS agent setting name"),
        ("c", {"agent_env": {"no_proxy": "x"}}, "agent_env: 'no_proxy' is not an ECS agent setting name"),
        ("c", {"agent_env": {"1BAD": "x"}}, "agent_env: '1BAD' is not an ECS agent setting name"),
        ("c", {"agent_env": {"ECS_A; PWNED": "x"}}, "is not an ECS agent setting name"),
        ("c", {"agent_env": {"ECS_" + "A" * 252: "x"}}, "is 256 characters long, more than 255"),
        ("c", {"agent_env": {"ECS_A": ["x"]}}, "agent_env: the value of ECS_A must be a string, number, boolean or null"),
        ("c", {"agent_env": {"ECS_A": ""}}, "agent_env: the value of ECS_A is empty; use null"),
        ("c", {"agent_env": {"ECS_A": "a\x00b"}}, "without NUL"),
        ("c", {"agent_env": ["A"]}, "agent_env must be a dictionary"),
        ("c", {"awslogs_executionrole_override": True, "agent_env": {"ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE": True}},
         "agent_env: ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE is also set by awslogs_executionrole_override"),
        ("c", {"initialize_attempts": 0}, "initialize_attempts must be an integer from 1 to 10"),
        ("c", {"initialize_attempts": True}, "initialize_attempts must be an integer from 1 to 10"),
        ("c", {"b64": "yes"}, "b64 must be a boolean"),
    ],
)
def test_bad_input_fails_with_the_argument_named(cluster, kwargs, message):
    with pytest.raises(AnsibleFilterError) as err:
        user_data(cluster, **kwargs)
    assert message in str(err.value)
    assert str(err.value).startswith("ecs_windows.task_iam.user_data: ")


@pytest.mark.parametrize("kwargs", [
    {"http_proxy": "htp://ops:S3cret-pw@proxy.example.com:3128"},
    {"http_proxy": "http://ops:S3cret-pw/x@proxy.example.com:3128"},
    {"http_proxy": "http://p", "https_proxy": "ops:S3cret-pw@proxy.example.com:3128"},
    {"agent_env": {"ECS_ENGINE_AUTH_DATA": {"registry": {"password": "S3cret-pw"}}}},
])
def test_errors_do_not_show_the_password(kwargs):
    with pytest.raises(AnsibleFilterError) as err:
        user_data("c", **kwargs)
    assert "S3cret" not in str(err.value)


def test_b64_is_the_plain_form_encoded():
    plain = user_data("windows", persist=True)
    assert base64.b64decode(user_data("windows", persist=True, b64=True)).decode("utf-8") == plain


@pytest.mark.parametrize(
    "broken",
    [
        "$x = 'unterminated",
        "Get-NetRoute | Where { $_ }",
        "Initialize-ECSAgent -Cluster 'it's'",
        "[Environment]::SetEnvironmentVariable('X', 'a'; Remove-Item C:\\ -Recurse; '', 'Machine')",
    ],
)
def test_the_grammar_check_can_fail(broken):
    with pytest.raises(AssertionError):
        parse(broken)


def test_more_than_ec2_takes_is_refused():
    assert len(user_data("c", http_proxy="http://p", agent_env={"ECS_V%d" % i: "x" * 100 for i in range(60)})) > 9000
    with pytest.raises(AnsibleFilterError, match="EC2 takes at most 16384"):
        user_data("c", agent_env={"ECS_V%d" % i: "x" * 200 for i in range(100)})


# --- one definition of the agent's settings with the agent module (plugin_utils/_agent_settings.py) ---------------

AGENT_DEFAULTS = {"state": "present", "cluster": "c", "environment": {}, "install_ecstools": False}
# (user_data keyword arguments, the same through the agent module's options, what both say)
SAME_RULES = [
    ({"logging_drivers": ["json-file", "my-driver"]}, {"logging_drivers": ["json-file", "my-driver"]}, "unknown driver(s) 'my-driver'"),
    ({"logging_drivers": []}, {"logging_drivers": []}, "logging_drivers is empty"),
    ({"agent_version": "1.2"}, {"version": "1.2"}, "is not 'latest' or an agent version"),
    ({"enable_task_eni": True, "awsvpc_additional_local_routes": ["10.0.0.300/32"]},
     {"enable_task_eni": True, "awsvpc_additional_local_routes": ["10.0.0.300/32"]}, "is not an IPv4 CIDR"),
    ({"awsvpc_block_imds": True}, {"awsvpc_block_imds": True}, "awsvpc_block_imds applies to awsvpc tasks only"),
    ({"awsvpc_additional_local_routes": ["10.0.0.0/8"]}, {"awsvpc_additional_local_routes": ["10.0.0.0/8"]},
     "awsvpc_additional_local_routes applies to awsvpc tasks only"),
    ({"http_proxy": "http://proxy.example.com:3128/x"}, {"http_proxy": "http://proxy.example.com:3128/x"},
     "it has a path, query or fragment"),
    ({"http_proxy": "socks5://proxy.example.com:1080"}, {"http_proxy": "socks5://proxy.example.com:1080"},
     "it is not an http:// or https:// URL with a host"),
    ({"http_proxy": "http://p", "no_proxy": ["a b"]}, {"http_proxy": "http://p", "no_proxy": ["a b"]}, "is not a single host"),
] + [
    ({"agent_env": {name: "x"}}, {"environment": {name: "x"}}, "is not an ECS agent setting name")
    for name in ("Path", "ComSpec", "PSModulePath", "windir", "TEMP", "HTTP_PROXY", "MY_SETTING")
] + [
    ({"agent_env": {name: "x"}}, {"environment": {name: "x"}}, "is set by")
    for name in ("ECS_CLUSTER", "ECS_ENABLE_TASK_IAM_ROLE", "ECS_AVAILABLE_LOGGING_DRIVERS", "ECS_DATADIR", "ECS_LOGFILE")
] + [
    ({"agent_env": {"ECS_X": "x" * 32768}}, {"environment": {"ECS_X": "x" * 32768}}, "at most 32767 characters"),
    ({"agent_env": {"ECS_" + "X" * 300: "x"}}, {"environment": {"ECS_" + "X" * 300: "x"}}, "more than 255"),
    ({"agent_env": {"ECS_X": {"a": 1}}}, {"environment": {"ECS_X": {"a": 1}}}, "must be a string, number, boolean or null"),
]


@pytest.mark.parametrize("filter_kwargs, agent_args, message", SAME_RULES)
def test_the_filter_and_the_agent_module_refuse_the_same_settings(filter_kwargs, agent_args, message):
    with pytest.raises(AnsibleFilterError) as err:
        user_data("c", **filter_kwargs)
    with pytest.raises(ValueError) as agent_err:
        _plan_agent.check_args(dict(AGENT_DEFAULTS, **agent_args))
    assert message in str(err.value) and message in str(agent_err.value), (str(err.value), str(agent_err.value))


def test_what_the_agent_module_takes_the_filter_takes():
    body = script_of(user_data("c", logging_drivers=["awsfirelens", "splunk"], http_proxy="https://proxy.example.com/",
                               enable_task_eni=True, awsvpc_additional_local_routes=["10.0.0.1/8"],
                               agent_env={"ECS_ENGINE_AUTH_TYPE": "dockercfg", "ECS_RESERVED_MEMORY": 256,
                                          "ECS_UPDATES_ENABLED": False, "ECS_OLD": None}))
    _plan_agent.check_args(dict(AGENT_DEFAULTS, logging_drivers=["awsfirelens", "splunk"], http_proxy="https://proxy.example.com/",
                                enable_task_eni=True, awsvpc_additional_local_routes=["10.0.0.1/8"],
                                environment={"ECS_ENGINE_AUTH_TYPE": "dockercfg", "ECS_RESERVED_MEMORY": 256,
                                             "ECS_UPDATES_ENABLED": False, "ECS_OLD": None}))
    # Routes normalised as the agent module normalises them; null removes a variable.
    assert "-AwsvpcAdditionalLocalRoutes '[\"10.0.0.0/8\"]'" in body
    assert "[Environment]::SetEnvironmentVariable('ECS_OLD', $null, 'Machine')" in body
    assert "[Environment]::SetEnvironmentVariable('ECS_UPDATES_ENABLED', 'false', 'Machine')" in body
    assert "[Environment]::SetEnvironmentVariable('ECS_RESERVED_MEMORY', '256', 'Machine')" in body
    parse(body)


def test_docker_is_restarted_with_force():
    # AmazonECS depends on docker: at a later boot (persist) it runs, and Restart-Service without -Force refuses
    # (ServiceHasDependentServices) under $ErrorActionPreference = 'Stop', before Initialize-ECSAgent.
    body = script_of(user_data("c", http_proxy="http://proxy.example.com:3128", persist=True))
    assert [line for line in body.splitlines() if line.startswith("Restart-Service")] == ["Restart-Service -Name 'docker' -Force"]


JINJA = ["{{ lookup('pipe', 'id') }}", "{% raw %}", "{#", "a{{b", "{{", "}}{{{{"]


@pytest.mark.parametrize("value", JINJA)
def test_jinja_delimiters_in_values_pass_the_static_check_and_stay_the_value(value):
    body = script_of(user_data(
        "windows",
        http_proxy="http://ops:%s@proxy.example.com:3128" % value.replace(" ", "%20").replace("#", "%23"),
        no_proxy=[value.replace(" ", "").replace(",", ";")],
        agent_env={"ECS_X": value},
    ))
    for delimiter in ("{{", "{%", "{#"):
        assert delimiter not in body
    tree = parse(body)  # the project's static check refuses a Jinja delimiter
    strings, code = split_strings(tree)
    assert "[Environment]::SetEnvironmentVariable(%s, 'Machine')" % ", ".join([quote_pwsh("ECS_X"), quote_pwsh(value)]) in body
    # The value is a concatenation of verbatim strings only: joined, they are the value.
    assert value in "".join(strings)
    assert not [leaf for leaf in code if "lookup" in leaf or "raw" in leaf]
    assert ps51.check_script(body) == []


CATALOG_CASES = {
    "minimal": {},
    "everything": {"agent_version": "latest", "logging_drivers": ["json-file", "awslogs"], "enable_task_eni": True,
                   "awsvpc_block_imds": True, "awsvpc_additional_local_routes": ["172.31.42.23/32"],
                   "awslogs_executionrole_override": True, "http_proxy": "http://u:p@proxy.example.com:3128",
                   "https_proxy": "http://proxy.example.com:3129", "no_proxy": [".internal"],
                   "agent_env": {"ECS_ENABLE_SPOT_INSTANCE_DRAINING": True, "ECS_OLD": None}, "winrm_https": True,
                   "initialize_attempts": 10, "persist": True},
    "hostile": {"http_proxy": "http://u:x'%3B$(PWNED)@proxy.example.com:3128", "no_proxy": ["x';PWNED;'"],
                "agent_env": {"ECS_X": "'; Remove-Item C:\\ -Recurse; '", "ECS_Y": "{{ PWNED }}"}},
}


@pytest.mark.parametrize("case", sorted(CATALOG_CASES))
def test_rendered_scripts_pass_the_windows_powershell_51_catalog(case):
    body = script_of(user_data("windows", **CATALOG_CASES[case]))
    parse(body)
    assert ps51.check_script(body) == []


def test_the_catalog_check_can_fail():
    assert ps51.check_script("Restart-Service -Name 'docker' -Forcefully\nStop-Computr\n")
