# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ecs_windows.task_iam.plugins.filter.bootstrap_script import bootstrap_script

from pwsh_grammar import command_names, parse


@pytest.mark.parametrize("imds", [True, False])
def test_powershell_form_parses_and_uses_full_names(imds):
    script = bootstrap_script("powershell", imds=imds)
    commands = command_names(parse(script))
    assert set(commands) == {"Get-NetRoute", "Where-Object", "Sort-Object", "Select-Object", "Get-NetAdapter", "New-NetRoute"}
    assert commands.count("New-NetRoute") == (2 if imds else 1)
    assert "New-NetRoute -DestinationPrefix '169.254.170.2/32' -InterfaceIndex $ifIndex -NextHop $gateway -PolicyStore ActiveStore" in script
    assert ("169.254.169.254/32" in script) is imds


def test_cmd_form_for_command_lines_and_batch_files():
    line = bootstrap_script("cmd")
    assert 'do set interface=%i\n' in line and "%%" not in line
    assert 'netsh interface ipv4 add route prefix=169.254.170.2/32 interface="%interface%" nexthop="%gateway%" store=active' in line
    assert "169.254.169.254/32" in line
    assert "#" not in line  # cmd has no '#' comments; AWS's trailing ones would reach netsh as arguments
    batch = bootstrap_script("cmd", batch=True)
    assert "\r\n" in batch and "\n" not in batch.replace("\r\n", "")
    assert batch.count("%%i") == line.count("%i") - line.count("%interface%")
    assert '"%interface%"' in batch and "%%interface" not in batch
    assert "169.254.169.254" not in bootstrap_script("cmd", imds=False)


@pytest.mark.parametrize(
    "args, message",
    [
        (("bash",), "the input must be 'powershell' or 'cmd', got 'bash'"),
        (("powershell", "yes"), "imds must be a boolean"),
        (("powershell", True, True), "batch applies to 'cmd' only"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(AnsibleFilterError) as err:
        bootstrap_script(*args)
    assert message in str(err.value)


# --- the cmd form, run through a model of cmd.exe ------------------------------------------------------------------
#
# No cmd.exe runs here, so the cmd form is run through a model of the cmd.exe rules it depends on (`for /?`, `set /?`):
# a line is read, then its %NAME% references are expanded (in a batch file %% becomes %, an undefined name becomes
# nothing and a lone % is dropped; at the prompt, and in `cmd /c`, an undefined %NAME% stays as it is), and only then
# run - so a variable set on a line is seen by later lines, not by the rest of its own line. A FOR variable is %%i in
# a batch file and %i at the prompt. The commands inside FOR /F run against what netsh prints in a nat container.

import re as _re

CONTAINER_NETSH = {
    "netsh interface ipv4 show interfaces": (
        "\r\nIdx     Met         MTU          State                Name\r\n"
        "---  ----------  ----------  ------------  ---------------------------\r\n"
        "  1          75  4294967295  connected     Loopback Pseudo-Interface 1\r\n"
        " 24        5000        1500  connected     vEthernet (Ethernet)\r\n\r\n"
    ),
    "netsh interface ipv4 show addresses 24": (
        '\r\nConfiguration for interface "vEthernet (Ethernet)"\r\n'
        "    DHCP enabled:                         No\r\n"
        "    IP Address:                           172.29.83.12\r\n"
        "    Subnet Prefix:                        172.29.80.0/20 (mask 255.255.240.0)\r\n"
        "    Default Gateway:                      172.29.80.1\r\n"
        "    Gateway Metric:                       256\r\n"
        "    InterfaceMetric:                      5000\r\n\r\n"
    ),
}
_FOR = _re.compile(r'for /f "tokens=(\d+)" %([a-z]) in \(\'(.*)\'\) do (.*)', _re.I)
_ROUTE = _re.compile(r'netsh interface ipv4 add route prefix=(\S+) interface="([^"]*)" nexthop="([^"]*)" store=active')


class CmdError(Exception):
    """What cmd.exe reports, e.g. "i was unexpected at this time."."""


def _expand(line, env, batch):
    out, i = [], 0
    while i < len(line):
        if line[i] != "%":
            out.append(line[i])
            i += 1
            continue
        if batch and line.startswith("%%", i):
            out.append("%")
            i += 2
            continue
        end = line.find("%", i + 1)
        name = line[i + 1:end] if end > i + 1 else None
        if name is not None and name in env:
            out.append(env[name])
            i = end + 1
        elif name is not None and batch:
            i = end + 1  # an undefined variable expands to nothing
        elif batch:
            i += 1  # a lone % is dropped
        else:
            out.append("%")  # the prompt keeps what it cannot expand
            i += 1
    return "".join(out)


def _run_inner(command):
    """A command of FOR /F: netsh (from CONTAINER_NETSH), optionally piped into findstr /x /r "REGEX"."""
    netsh, _sep, findstr = command.replace("^|", "|").partition(" | ")
    assert netsh.startswith("netsh interface ipv4 show "), netsh
    # Another interface than the container's: netsh writes its error to stderr, which FOR /F does not read.
    lines = CONTAINER_NETSH.get(netsh.strip(), "").split("\r\n")
    if findstr:
        match = _re.fullmatch(r'findstr /x /r "(.*)"', findstr.strip())
        assert match, findstr
        lines = [line for line in lines if _re.fullmatch(match.group(1), line)]
    return [line for line in lines if line.strip()]


def _run(command, env, routes, batch):
    """One command after expansion: REM, SET, FOR /F ... DO (body), the netsh route command."""
    command = command.strip()
    if not command or command.upper().startswith("REM"):
        return
    if command.lower().startswith("for "):
        match = _FOR.fullmatch(command)
        if not match:
            words = command.split()
            token = words[3] if len(words) > 3 else words[-1]
            raise CmdError("%s was unexpected at this time." % token)
        tokens, variable, inner, body = match.groups()
        for line in _run_inner(inner):
            fields = line.split()
            if len(fields) >= int(tokens):
                _run(body.replace("%" + variable, fields[int(tokens) - 1]), env, routes, batch)
        return
    if command.lower().startswith("set "):
        name, _sep, value = command[4:].partition("=")
        env[name] = value
        return
    match = _ROUTE.fullmatch(command)
    assert match, "a command the cmd form does not have: %r" % command
    prefix, interface, nexthop = match.groups()
    if not interface.isdigit() or not _re.fullmatch(r"\d+\.\d+\.\d+\.\d+", nexthop):
        raise CmdError('netsh: interface="%s" nexthop="%s": The filename, directory name, or volume label syntax is '
                       "incorrect." % (interface, nexthop))
    routes.append((prefix, int(interface), nexthop))


def run_batch_file(text):
    """A .cmd file: each line read, expanded and run in turn (CRLF line ends). -> the routes added."""
    env, routes = {}, []
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "a batch file has CRLF line ends"
    for line in text[:-2].split("\r\n"):
        _run(_expand(line, env, batch=True), env, routes, batch=True)
    return routes


def run_at_prompt(text):
    """Lines pasted into an interactive cmd.exe one at a time."""
    env, routes = {}, []
    for line in text.splitlines():
        _run(_expand(line, env, batch=False), env, routes, batch=False)
    return routes


def run_as_one_command_line(text):
    """The lines joined with & (cmd /c "...", a shell-form ENTRYPOINT/CMD/RUN): expanded once, then run."""
    env, routes = {}, []
    line = " & ".join(line for line in text.splitlines() if not line.upper().startswith("REM"))
    for command in _expand(line, env, batch=False).split(" & "):
        _run(command, env, routes, batch=False)
    return routes


ROUTES = [("169.254.170.2/32", 24, "172.29.80.1"), ("169.254.169.254/32", 24, "172.29.80.1")]


@pytest.mark.parametrize("imds", [True, False])
def test_the_batch_form_in_a_cmd_file_adds_the_routes(imds):
    text = bootstrap_script("cmd", imds=imds, batch=True)
    # What the repository checks in every generated script: ASCII only, nothing Ansible templating would touch.
    assert text.isascii() and not any(delimiter in text for delimiter in ("{{", "{%", "{#"))
    assert run_batch_file(text) == ROUTES[: 2 if imds else 1]


def test_the_line_form_works_pasted_line_by_line():
    assert run_at_prompt(bootstrap_script("cmd")) == ROUTES


def test_the_line_form_fails_as_one_command_line():
    # What the documentation warns about: %interface% is expanded before the FOR commands set it.
    with pytest.raises(CmdError, match='interface="%interface%" nexthop="%gateway%"'):
        run_as_one_command_line(bootstrap_script("cmd"))


def test_the_forms_are_not_interchangeable():
    with pytest.raises(CmdError, match="was unexpected at this time"):
        run_batch_file(bootstrap_script("cmd").replace("\n", "\r\n"))  # %i in a batch file
    with pytest.raises(CmdError, match="%%i was unexpected at this time"):
        run_at_prompt(bootstrap_script("cmd", batch=True))


def test_the_documentation_says_where_the_routes_must_be_added():
    from ansible_collections.ecs_windows.task_iam.plugins.filter import bootstrap_script as module

    text = " ".join(module.DOCUMENTATION.split())
    assert "C(ENTRYPOINT) or C(CMD)" in text and "A Dockerfile C(RUN) adds them only inside the container that builds" in text
    assert "write the script to a C(.cmd) file" in text and "one line at a time" in text
    assert "a Dockerfile C(RUN)) wants" not in text
