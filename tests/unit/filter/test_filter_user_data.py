# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import base64
import json
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.filter.user_data import user_data
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils._pwsh_quote import quote_pwsh

from pwsh_grammar import command_names, parse, split_strings

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
    assert body.index("SetEnvironmentVariable('NO_PROXY'") < body.index("Restart-Service -Name 'docker'") < body.index("Initialize-ECSAgent")
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
            no_proxy=[hostile.replace(",", ";")],
            agent_env={"MY_SETTING": hostile},
            winrm_https=True,
        )
    )
    strings, code = split_strings(parse(body))
    assert hostile in strings
    assert not [leaf for leaf in code if "PWNED" in leaf], "a hostile value leaked out of its string"


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"agent_env": {"X": "line\nbreak"}}, "agent_env.X contains '\\n'"),
        ({"agent_env": {"X": "</powershell><powershell>PWNED"}}, "agent_env.X contains '<', '>'"),
        ({"agent_env": {"X": "caf\u00e9"}}, "printable ASCII"),
        ({"agent_env": {"X": "\u2019; PWNED"}}, "agent_env.X contains '\u2019'"),
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
        ("c", {"agent_version": "1.2"}, "agent_version '1.2' must be 'latest' or a version"),
        ("c", {"agent_version": "latest; PWNED"}, "agent_version"),
        ("c", {"logging_drivers": "awslogs"}, "logging_drivers must be a list of strings"),
        ("c", {"logging_drivers": []}, "logging_drivers is empty"),
        ("c", {"logging_drivers": ["awslogs", "json"]}, "logging_drivers: unknown driver(s) 'json'"),
        ("c", {"enable_task_eni": True, "awsvpc_additional_local_routes": ["10.0.0.1/8"]}, "awsvpc_additional_local_routes: '10.0.0.1/8' is not a CIDR"),
        ("c", {"enable_task_eni": True, "awsvpc_additional_local_routes": ["PWNED"]}, "is not a CIDR"),
        ("c", {"awsvpc_block_imds": True}, "awsvpc_block_imds applies to awsvpc tasks only: set enable_task_eni=true"),
        ("c", {"awsvpc_additional_local_routes": ["10.0.0.0/8"]}, "awsvpc_additional_local_routes applies to awsvpc tasks only"),
        ("c", {"enable_task_eni": "yes"}, "enable_task_eni must be a boolean"),
        ("c", {"http_proxy": "proxy:3128"}, "http_proxy must be an http:// or https:// URL"),
        ("c", {"http_proxy": "http://p:99999"}, "http_proxy is not a valid URL"),
        ("c", {"no_proxy": ["x"]}, "no_proxy needs http_proxy"),
        ("c", {"https_proxy": "http://p"}, "https_proxy needs http_proxy"),
        ("c", {"http_proxy": "http://p", "no_proxy": ["a,b"]}, "no_proxy entry 'a,b' must be one"),
        ("c", {"agent_env": {"ECS_CLUSTER": "other"}}, "agent_env: ECS_CLUSTER is set through the filter input"),
        ("c", {"agent_env": {"no_proxy": "x"}}, "agent_env: no_proxy is set through http_proxy and no_proxy"),
        ("c", {"agent_env": {"1BAD": "x"}}, "agent_env: '1BAD' is not a variable name"),
        ("c", {"agent_env": {"A; PWNED": "x"}}, "is not a variable name"),
        ("c", {"agent_env": {"A": None}}, "agent_env: the value of A must be a string, number or boolean, got NoneType"),
        ("c", {"agent_env": ["A"]}, "agent_env must be a dictionary"),
        ("c", {"initialize_attempts": 0}, "initialize_attempts must be an integer from 1 to 10"),
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
    assert len(user_data("c", http_proxy="http://p", agent_env={"V%d" % i: "x" * 100 for i in range(60)})) > 9000
    with pytest.raises(AnsibleFilterError, match="EC2 takes at most 16384"):
        user_data("c", agent_env={"V%d" % i: "x" * 200 for i in range(100)})
