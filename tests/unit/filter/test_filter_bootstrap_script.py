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
