"""Command-line decoding (pure): the forms pywinrm and ansible-core 2.17-2.21 put on the wire."""

from __future__ import annotations

import base64

import pytest
from ecs_windows_sim.cmdline import CommandLineError, decode
from ecs_windows_sim.dispatch import classify

PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "


def enc(text: str) -> str:
    return base64.b64encode(text.encode("utf-16-le")).decode()


def test_split_form_of_pywinrm_and_ansible_2_19():
    line = PREFIX + enc("Get-Date")
    program, arguments = line.split(" ", 1)
    decoded = decode(program, arguments)
    assert (decoded.program, decoded.script, decoded.depth) == ("PowerShell", "Get-Date", 1)


def test_single_command_form_of_ansible_2_21_with_encoded_arguments():
    clixml = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0"><LST><S>a b</S><S>c</S></LST></Obj></Objs>'
    line = "powershell -NoProfile -NonInteractive -InputFormat None -EncodedCommand %s -EncodedArguments %s" % (enc("$args"), enc(clixml))
    decoded = decode(line)
    assert (decoded.script, decoded.args) == ("$args", ["a b", "c"])


def test_double_encoding_of_ansible_2_17_and_2_18():
    inner = PREFIX + enc("#ecs_windows.task_iam loader/2\n$x = 1")
    decoded = decode("PowerShell", PREFIX.split(" ", 1)[1] + enc(inner))
    assert decoded.depth == 2 and decoded.script.startswith("#ecs_windows.task_iam loader/2")
    assert classify("PowerShell", PREFIX.split(" ", 1)[1] + enc(inner)).kind == "ops"
    # The loader of another contract is a script like any other: PowerShell would run it, the simulator cannot.
    older = PREFIX + enc("#ecs_windows.task_iam loader/1\n$x = 1")
    assert classify("PowerShell", PREFIX.split(" ", 1)[1] + enc(older)).kind == "unknown"


def test_pipe_from_file_and_command_forms():
    decoded = decode('type "C:\\tmp\\ansible-tmp\\payload" | ' + PREFIX + enc("$input"))
    assert (decoded.stdin_file, decoded.script) == ("C:\\tmp\\ansible-tmp\\payload", "$input")
    assert decode("powershell.exe -NoProfile -Command Get-Service W3SVC").script == "Get-Service W3SVC"
    assert decode("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc " + enc("x")).script == "x"


def test_other_programs_are_not_scripts():
    decoded = decode("ipconfig", "/all")
    assert (decoded.program, decoded.script) == ("ipconfig", None)
    job = classify("ipconfig", "/all")
    assert job.kind == "cmd" and job.run(None, b"", None)[0] == 1


def test_bad_base64_is_a_powershell_error():
    with pytest.raises(CommandLineError):
        decode(PREFIX + "!!notbase64!!")
    job = classify(PREFIX + "!!notbase64!!")
    rc, stdout, stderr = job.run(None, b"", None)
    assert rc == 1 and stderr.startswith(b"#< CLIXML\r\n")


@pytest.mark.parametrize("script, term", [
    ("Get-Date", "Get-Date"),
    ("Set-StrictMode -Version Latest\r\nRestart-Computer -Force", "Restart-Computer"),
    ("& 'C:\\x.ps1' -A 1", "C:\\x.ps1"),
])
def test_unknown_scripts_name_the_term(script, term):
    job = classify(PREFIX + enc(script))
    rc, _stdout, stderr = job.run(None, b"", None)
    assert job.kind == "unknown" and rc == 1
    assert ("The term '%s' is not recognized" % term).encode() in stderr.replace(b"_x000D__x000A_", b"")


def test_ansible_2_21_shell_snippets(tmp_path):
    """ansible-core 2.21 writes its snippets unwrapped, with bare or quoted arguments (quote_pwsh_argument)."""
    from ecs_windows_sim.ansible_ops import Context
    from ecs_windows_sim.dispatch import run
    from ecs_windows_sim.host import Host

    host = Host.create("ecs-sim-001", tmp_path, "ecs-2022")
    ctx = Context(user="Administrator")

    def go(script):
        job = classify("powershell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand " + enc(script))
        return job.kind, run(job, host, b"", ctx)

    assert go("exit -not (Test-Path -LiteralPath C:\\Windows\\Temp)") == ("ansible:exists", (0, b"", b""))
    assert go("exit -not (Test-Path -LiteralPath 'C:\\No Such')") == ("ansible:exists", (1, b"", b""))
    host.make_dir("C:\\Windows\\Temp\\ansible-tmp-1\\sub")
    assert go("Remove-Item C:\\Windows\\Temp\\ansible-tmp-1 -Force -Recurse") == ("ansible:remove", (0, b"", b""))
    assert host.path_kind("C:\\Windows\\Temp\\ansible-tmp-1") is None
    checksum = ("\n            If (Test-Path -PathType Leaf 'C:\\a b.txt')\n            {\n"
                "                $sp = new-object -TypeName System.Security.Cryptography.SHA1CryptoServiceProvider;\n"
                "            }\n            ElseIf (Test-Path -PathType Container 'C:\\a b.txt')\n            {\n"
                "                Write-Output \"3\";\n            }\n            Else\n            {\n                Write-Output \"1\";\n            }\n")
    assert go(checksum) == ("ansible:checksum", (0, b"1\r\n", b""))
