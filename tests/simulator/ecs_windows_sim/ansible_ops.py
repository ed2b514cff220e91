"""Ansible's own remote scripts (not ours), recognised by their text and emulated on the host's files.

Covered, as ansible-core 2.17-2.21 send them through the winrm connection plugin:
- put_file: the 2.17/2.18 `begin/process/end` script; 2.19+ `winrm_put_file.ps1` via bootstrap_wrapper;
- fetch_file: the 2.17/2.18 `$buffer_size/$offset` script; 2.19+ `winrm_fetch_file.ps1`;
- the shell plugin's mkdtemp (old script, 2.19+ `powershell_mkdtemp.ps1`), `_expand_user2`, remove, exists,
  checksum;
- the two modules `ansible.builtin.fetch` runs before transferring: win_stat and slurp;
- the commands of ansible.windows.win_reboot (plugin_utils/_reboot.py): boot time query, shutdown.exe /r,
  shutdown.exe /a, the post-reboot test command.
Every other Ansible payload (other modules, become, async) is refused with a clear error.

A handler returns (rc, stdout bytes, error message or None); dispatch turns the message into CLIXML.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import ntpath
import re
from typing import Callable

NULL_SEPARATOR = b"\n\0\0\0\0\n"
_PS_RC_LINE = "If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE } Else { exit 1 } }"
_WRAPPER_LINES = {
    "Set-StrictMode -Version Latest",
    _PS_RC_LINE,
    "try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding } catch {}",
}
_QUOTED = r"'((?:[^'\u2018\u2019\u201a\u201b]|['\u2018\u2019\u201a\u201b]{2})*)'"
# A PowerShell argument as ansible-core 2.21's quote_pwsh_argument writes it: quoted, or bare when safe.
_ARG = r"(?:" + _QUOTED + r"|([\w\-\\.\[\]/_~!%^:]+))"
EMULATED_MODULES = ("win_stat", "slurp")

Result = tuple  # (rc, stdout: bytes, error: str | None)


@dataclasses.dataclass
class Context:
    """What a script sees of its session."""

    user: str  # the authenticated user name (for %TEMP%, %USERPROFILE%)


@dataclasses.dataclass
class AnsibleScript:
    name: str  # for logs and errors, e.g. "put_file (2.19+)"
    reads_stdin: bool
    run: Callable  # (host, stdin: bytes, ctx: Context) -> Result


def _unquote(value: str) -> str:
    return re.sub(r"(['\u2018\u2019\u201a\u201b])\1", r"\1", value)


def _arg(match: re.Match, group: int = 1) -> str:
    """The value of an _ARG match starting at `group` (quoted form, or bare form in the next group)."""
    quoted = match.group(group)
    return _unquote(quoted) if quoted is not None else match.group(group + 1)


def _normalise(script: str) -> str:
    """Script without the lines _encode_script and the console helpers add around it."""
    lines = [line.strip() for line in script.splitlines()]
    return "\n".join(line for line in lines if line and line not in _WRAPPER_LINES)


def _win(path: str) -> str:
    return path.replace("/", "\\")


def expand_environment(text: str, ctx: Context) -> str:
    """[Environment]::ExpandEnvironmentVariables for the variables a WinRM session has; unknown stay."""
    name = ctx.user.rpartition("\\")[2]
    profile = "C:\\Users\\" + name
    env = {
        "TEMP": profile + "\\AppData\\Local\\Temp",
        "TMP": profile + "\\AppData\\Local\\Temp",
        "USERPROFILE": profile,
        "LOCALAPPDATA": profile + "\\AppData\\Local",
        "APPDATA": profile + "\\AppData\\Roaming",
        "USERNAME": name,
        "SYSTEMDRIVE": "C:",
        "SYSTEMROOT": "C:\\Windows",
        "WINDIR": "C:\\Windows",
        "PROGRAMDATA": "C:\\ProgramData",
        "PROGRAMFILES": "C:\\Program Files",
    }
    return re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1).upper(), m.group(0)), text)


def _ps_error(command: str, message: str, category: str, error_id: str) -> str:
    return "%s : %s\r\n    + CategoryInfo          : %s\r\n    + FullyQualifiedErrorId : %s" % (command, message, category, error_id)


def _method_error(method: str, args: int, message: str) -> str:
    return 'Exception calling "%s" with "%d" argument(s): "%s"' % (method, args, message)


# --- file operations shared by both generations ------------------------------------------------

def _put(host, path: str, lines: list[str]) -> Result:
    path = _win(path)
    parent = ntpath.dirname(path)
    if host.path_kind(path) == "dir":
        return 1, b"", _method_error("Create", 1, "Access to the path '%s' is denied." % path)
    if parent and host.path_kind(parent) != "dir":
        return 1, b"", _method_error("Create", 1, "Could not find a part of the path '%s'." % path)
    chunks = []
    for line in lines:
        try:
            chunks.append(base64.b64decode(line.strip(), validate=True))
        except (binascii.Error, ValueError):
            return 1, b"", _method_error(
                "FromBase64String", 1,
                "The input is not a valid Base-64 string as it contains a non-base 64 character, "
                "more than two padding characters, or an illegal character among the padding characters. ",
            )
    data = b"".join(chunks)
    host.write_file(path, data)
    return 0, ('{"sha1":"%s"}\r\n' % hashlib.sha1(data).hexdigest()).encode("ascii"), None


def _fetch(host, path: str, buffer_size: int, offset: int, missing: str) -> Result:
    path = _win(path)
    kind = host.path_kind(path)
    if kind == "dir":
        return 0, b"[DIR]\r\n", None
    if kind != "file":
        return 1, b"", missing % path
    block = (host.read_file(path) or b"")[offset:offset + buffer_size]
    return 0, (base64.b64encode(block) + b"\r\n") if block else b"", None


def _mkdtemp(host, directory: str, name: str, ctx: Context) -> Result:
    path = ntpath.join(_win(expand_environment(directory, ctx)), name)
    if host.path_kind(path) is not None:
        return 1, b"", _ps_error(
            "New-Item", "An item with the specified name %s already exists." % path,
            "ResourceExists: (%s:String) [New-Item], IOException" % path,
            "DirectoryExist,Microsoft.PowerShell.Commands.NewItemCommand",
        )
    host.make_dir(path)
    return 0, (path + "\r\n").encode("utf-8"), None


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines()


# --- modules run by ansible.builtin.fetch ----------------------------------------------------------

def _module_result(result: dict) -> Result:
    return (1 if result.get("failed") else 0), (json.dumps(result) + "\r\n").encode("utf-8"), None


def _win_stat(host, args: dict) -> Result:
    path = _win(str(args.get("path") or args.get("dest") or args.get("name") or ""))
    if not path:
        return _module_result({"failed": True, "msg": "missing required arguments: path"})
    kind = host.path_kind(path)
    stat = {"exists": kind is not None}
    if kind is not None:
        stat.update({
            "path": path, "filename": ntpath.basename(path.rstrip("\\")), "isdir": kind == "dir", "isreg": kind == "file",
            "islnk": False, "isjunction": False, "isshared": False, "ishidden": False, "isreadonly": False,
            "isarchive": kind == "file", "attributes": "Directory" if kind == "dir" else "Archive", "nlink": 1,
            "hlnk_targets": [],
        })
        if kind == "file":
            data = host.read_file(path) or b""
            stat["extension"] = ntpath.splitext(path)[1]
            if args.get("get_size", True):
                stat["size"] = len(data)
            if args.get("get_checksum", True):
                algorithm = str(args.get("checksum_algorithm") or "sha1").lower()
                choices = ("md5", "sha1", "sha256", "sha384", "sha512")
                if algorithm not in choices:
                    return _module_result({"failed": True, "msg": "value of checksum_algorithm must be one of: %s, got: %s"
                                           % (", ".join(choices), algorithm)})
                stat["checksum"] = hashlib.new(algorithm, data).hexdigest()
    return _module_result({"changed": False, "stat": stat})


def _slurp(host, args: dict) -> Result:
    src = _win(str(args.get("src") or args.get("path") or ""))
    kind = host.path_kind(src) if src else None
    if kind == "file":
        content = base64.b64encode(host.read_file(src) or b"").decode("ascii")
        return _module_result({"changed": False, "content": content, "encoding": "base64", "source": src})
    if kind == "dir":
        return _module_result({"changed": False, "failed": True, "msg": "Path %s is a directory" % src})
    return _module_result({"changed": False, "failed": True, "msg": "Path %s is not found" % src})


def _run_module(host, module_name: str, args: dict) -> Result:
    leaf = module_name.rsplit(".", 1)[-1]
    if leaf in ("win_stat", "stat"):
        return _win_stat(host, args)
    if leaf in ("slurp", "win_slurp"):
        return _slurp(host, args)
    return 1, b"", (
        "ecs-windows-sim does not run the Ansible module '%s': it emulates only %s (used by ansible.builtin.fetch) "
        "besides this collection's ops." % (module_name, ", ".join(EMULATED_MODULES))
    )


# --- 2.19+: bootstrap_wrapper.ps1 + exec manifest on stdin -------------------------------------------

def _bootstrap(host, stdin: bytes, ctx: Context) -> Result:
    parts = stdin.split(NULL_SEPARATOR, 2)
    try:
        manifest = json.loads(parts[1])
        action = manifest["actions"][0]
        name, params = action["name"], action.get("params") or {}
    except (IndexError, KeyError, TypeError, ValueError):
        return 1, b"", "ConvertFrom-Json : Invalid JSON primitive: the bootstrap input holds no exec manifest."
    rest = parts[2] if len(parts) > 2 else b""
    if name == "winrm_put_file.ps1":
        return _put(host, params["Path"], _lines(rest))
    if name == "winrm_fetch_file.ps1":
        return _fetch(host, params["Path"], int(params["BufferSize"]), int(params["Offset"]), "%s does not exist")
    if name == "powershell_mkdtemp.ps1":
        return _mkdtemp(host, params["Directory"], params["Name"], ctx)
    if name == "powershell_expand_user.ps1":
        path = params["Path"]
        home = expand_environment("%USERPROFILE%", ctx)
        if path == "~" or path.startswith("~\\") or path.startswith("~/"):
            path = home + _win(path[1:])
        return 0, (path + "\r\n").encode("utf-8"), None
    if name == "module_wrapper.ps1":
        variables = {v.get("Name"): v.get("Value") for v in params.get("Variables") or []}
        return _run_module(host, str(params.get("Script", "")).removesuffix(".ps1"), variables.get("complex_args") or {})
    return 1, b"", "ecs-windows-sim does not emulate the Ansible exec wrapper action '%s'." % name


def _bootstrap_legacy(host, stdin: bytes, ctx: Context) -> Result:
    """ansible-core 2.17/2.18 module payload: exec_wrapper text, 4 NUL chars, JSON manifest."""
    _wrapper, sep, payload = stdin.partition(b"\0\0\0\0")
    try:
        manifest = json.loads(payload) if sep else None
        args = manifest["module_args"]
        actions = manifest["actions"]
    except (KeyError, TypeError, ValueError):
        return 1, b"", "invalid payload"
    if actions != ["module_powershell_wrapper"]:
        return 1, b"", "ecs-windows-sim does not emulate the Ansible exec wrapper actions %s." % ", ".join(actions)
    return _run_module(host, str(args.get("_ansible_module_name", "")), args)


# --- ansible.windows.win_reboot (plugin_utils/_reboot.py) --------------------------------------------
# The command texts of ansible.windows 2.5.0 (the `ansible` package of ansible-core 2.17), 3.3.0 and 3.8.0: 2.x calls
# shutdown.exe without its path, 3.8 sets $rc itself when $LASTEXITCODE is not there. 3.x appends the rc line to the
# command's last line ("; If (-not $?) ..."); 2.x has the shell's _encode_script put it on a line of its own, which
# _normalise drops. The patterns below are the commands without that tail.

_LOGON_UI_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"
_RC_TAIL = "; " + _PS_RC_LINE  # _execute_command appends it to the command's last line
_BOOT_TIME = "(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()"
_ABORT = (r"C:\Windows\System32\shutdown.exe /a", "shutdown.exe /a")
_TEST = re.compile(re.escape("Get-Item -LiteralPath '%s' -ErrorAction Stop; " % _LOGON_UI_KEY)
                   + r"'(success-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'")
_REBOOT = re.compile("\n".join([
    re.escape("$ErrorActionPreference = 'Continue'"),
    r"if \(\$(True|False)\) \{",
    re.escape("Remove-Item -LiteralPath '%s' -Force -ErrorAction SilentlyContinue" % _LOGON_UI_KEY),
    r"\}",
    re.escape("$stdout = $null"),
    re.escape("$stderr = . { ") + r"(?:C:\\Windows\\System32\\)?" + re.escape("shutdown.exe /r /t ") + r"([0-9]+) /c "
    + _QUOTED + re.escape(" | Set-Variable stdout } 2>&1 | ForEach-Object ToString"),
    r"(?:" + "\n".join([
        re.escape("If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) {"),
        re.escape("$rc = $LASTEXITCODE"),
        re.escape("} Else {"),
        re.escape("$rc=1"),
        r"\}",
    ]) + r"\n)?" + re.escape("ConvertTo-Json -Compress -InputObject @{"),
    re.escape('stdout = (@($stdout) -join "`n")'),
    re.escape('stderr = (@($stderr) -join "`n")'),
    r"rc = \$(?:LASTEXITCODE|rc)",
    r"\}",
]))
_ALREADY_SCHEDULED = 1190  # ERROR_SHUTDOWN_IN_PROGRESS
_NOT_SCHEDULED = 1116  # ERROR_NO_SHUTDOWN_IN_PROGRESS


def _boot_time(host, stdin: bytes, ctx: Context) -> Result:
    return 0, ("%d\r\n" % host.boot_filetime()).encode("ascii"), None


def _shutdown(host, delay_s: int, clear_logon_key: bool) -> Result:
    """shutdown.exe /r /t N: rc 0 and the reboot N seconds later, or 1190 while one is pending."""
    if host.request_shutdown(delay_s, clear_logon_key):
        result = {"stdout": "", "stderr": "", "rc": 0}
    else:
        result = {"stdout": "", "stderr": "A system shutdown has already been scheduled.(%d)" % _ALREADY_SCHEDULED,
                  "rc": _ALREADY_SCHEDULED}
    return 0, (json.dumps(result, separators=(",", ":")) + "\r\n").encode("utf-8"), None


def _abort(host, stdin: bytes, ctx: Context) -> Result:
    if host.abort_shutdown():
        return 0, b"", None
    return _NOT_SCHEDULED, b"", ("shutdown.exe : Unable to abort the system shutdown because no shutdown was in "
                                 "progress.(%d)" % _NOT_SCHEDULED)


def _logon_test(host, marker: str) -> Result:
    """Get-Item on the volatile key LogonUI creates when it shows the logon screen, then the marker."""
    if not host.logon_ui_ready():
        return 1, b"", _ps_error(
            "Get-Item", "Cannot find path '%s' because it does not exist." % _LOGON_UI_KEY,
            "ObjectNotFound: (%s:String) [Get-Item], ItemNotFoundException" % _LOGON_UI_KEY,
            "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand")
    table = ("\r\n\r\n    Hive: HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\r\n\r\n\r\n"
             "Name                           Property\r\n----                           --------\r\n"
             "AutoLogonChecked\r\n\r\n\r\n")
    return 0, (table + marker + "\r\n").encode("utf-8"), None


def _win_reboot(text: str) -> AnsibleScript | None:
    text = text.removesuffix(_RC_TAIL).rstrip()  # the 3.x form; "\n; If ..." after a template's last line break
    if text == _BOOT_TIME:
        return AnsibleScript("win_reboot boot time", False, _boot_time)
    if text in _ABORT:
        return AnsibleScript("win_reboot shutdown /a", False, _abort)
    match = _TEST.fullmatch(text)
    if match:
        marker = match.group(1)
        return AnsibleScript("win_reboot test", False, lambda host, stdin, ctx: _logon_test(host, marker))
    match = _REBOOT.fullmatch(text)
    if match:
        clear, delay = match.group(1) == "True", int(match.group(2))
        return AnsibleScript("win_reboot shutdown /r", False, lambda host, stdin, ctx: _shutdown(host, delay, clear))
    return None


# --- recognition ------------------------------------------------------------------------------------

def _param(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def recognise(script: str) -> AnsibleScript | None:
    text = _normalise(script)
    # 2.19/2.20 pipe $input to the action; 2.21 pipes $inputData (stdin, or -InputFile when not pipelining)
    if '[string]::Equals($in, "`0`0`0`0")' in text and ("$input | & $cmd @splat" in text or "$inputData | & $cmd @splat" in text):
        return AnsibleScript("bootstrap_wrapper (2.19+)", True, _bootstrap)
    if '$exec_wrapper_str.Split(@("`0`0`0`0"), 2' in text:
        return AnsibleScript("bootstrap_wrapper (2.17/2.18)", True, _bootstrap_legacy)
    path = _param(r"^begin \{\n\$path = " + _QUOTED + r"\n", text)
    if path is not None and "[System.IO.File]::Create($path)" in text and "FromBase64String($input)" in text:
        path = _unquote(path)
        return AnsibleScript("put_file (2.17/2.18)", True, lambda host, stdin, ctx: _put(host, path, _lines(stdin)))
    path = _param(r"^\$path = " + _QUOTED + r"\n", text)
    size = _param(r"\n\$buffer_size = (\d+)\n", text)
    offset = _param(r"\n\$offset = (\d+)\n", text)
    if None not in (path, size, offset) and "FileStream" in text and 'Write-Error "$path does not exist";' in text:
        path = _unquote(path)
        missing = _ps_error("Write-Error", "%s does not exist", "NotSpecified: (:) [Write-Error], WriteErrorException",
                            "Microsoft.PowerShell.Commands.WriteErrorException")
        return AnsibleScript(
            "fetch_file (2.17/2.18)", False,
            lambda host, stdin, ctx: _fetch(host, path, int(size), int(offset), missing),
        )
    match = re.fullmatch(
        r"\$tmp_path = \[System\.Environment\]::ExpandEnvironmentVariables\(" + _QUOTED + r"\)\n"
        r"\$tmp = New-Item -Type Directory -Path \$tmp_path -Name " + _QUOTED + r"\n"
        r"Write-Output -InputObject \$tmp\.FullName", text)
    if match:
        directory, name = _unquote(match.group(1)), _unquote(match.group(2))
        return AnsibleScript("mkdtemp (2.17/2.18)", False, lambda host, stdin, ctx: _mkdtemp(host, directory, name, ctx))
    match = re.fullmatch(r"Remove-Item " + _ARG + r" -Force( -Recurse)?;?", text)
    if match:
        path, recurse = _win(_arg(match)), bool(match.group(3))
        return AnsibleScript("remove", False, lambda host, stdin, ctx: _remove(host, path, recurse))
    match = re.fullmatch(r"If \(Test-Path " + _QUOTED + r"\)\n\{\n\$res = 0;\n\}\nElse\n\{\n\$res = 1;\n\}\nWrite-Output '\$res';\nExit \$res;", text)
    if match:
        path = _win(_unquote(match.group(1)))
        return AnsibleScript("exists", False, lambda host, stdin, ctx: _exists(host, path, b"$res\r\n"))
    match = re.fullmatch(r"exit -not \(Test-Path -LiteralPath " + _ARG + r"\)", text)  # 2.21
    if match:
        path = _win(_arg(match))
        return AnsibleScript("exists", False, lambda host, stdin, ctx: _exists(host, path, b""))
    reboot = _win_reboot(text)
    if reboot is not None:
        return reboot
    match = re.match(r"If \(Test-Path -PathType Leaf " + _ARG + r"\)\n", text)
    if match and "SHA1CryptoServiceProvider" in text and 'Write-Output "3";' in text:
        path = _win(_arg(match))
        return AnsibleScript("checksum", False, lambda host, stdin, ctx: _checksum(host, path))
    return None


def _remove(host, path: str, recurse: bool) -> Result:
    if host.path_kind(path) is None:
        return 1, b"", _ps_error(
            "Remove-Item", "Cannot find path '%s' because it does not exist." % path,
            "ObjectNotFound: (%s:String) [Remove-Item], ItemNotFoundException" % path,
            "PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand",
        )
    try:
        host.remove_path(path, recurse)
    except OSError:
        # A folder with children and no -Recurse: PowerShell would prompt, which -NonInteractive refuses.
        return 1, b"", _ps_error(
            "Remove-Item", "Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.",
            "InvalidOperation: (:) [Remove-Item], PSInvalidOperationException",
            "InvalidOperation,Microsoft.PowerShell.Commands.RemoveItemCommand",
        )
    return 0, b"", None


def _exists(host, path: str, output: bytes) -> Result:
    # The pre-2.21 script prints the literal '$res' (single quotes) and exits with $res.
    found = host.path_kind(path) is not None
    return (0 if found else 1), output, None


def _checksum(host, path: str) -> Result:
    kind = host.path_kind(path)
    if kind == "file":
        return 0, (hashlib.sha1(host.read_file(path) or b"").hexdigest() + "\r\n").encode("ascii"), None
    return 0, b"3\r\n" if kind == "dir" else b"1\r\n", None
