"""Host presets: the state of an instance fresh from launch of a given AMI."""

from __future__ import annotations

import hashlib

from . import model

# <kind>-<release>[-core]: what an instance fresh from launch of that AMI looks like (README "Presets").
PRESETS: tuple[str, ...] = ("ecs-2022", "ecs-2019", "plain-2022", "ecs-2025", "ecs-2019-core", "ecs-2022-core",
                            "ecs-2025-core")
DEFAULT_PRESET = "ecs-2022"

ECSTOOLS_DIR = r"C:\Program Files\WindowsPowerShell\Modules\ECSTools"
ECSTOOLS_VERSION = "1.4.0"        # what the regional bucket serves (creates Initialize-ECSHostReboot)
ECSTOOLS_2019_VERSION = "1.2.0"   # the older module of the 2019 preset (no reboot task)

# The simulator's ECSTools bytes, served by the regional bucket (install_ecstools) and shipped by the
# ECS presets. Real ECSTools is closed source; these stand-ins only carry a version and a signature block.
_SIGNATURE = "\r\n# SIG # Begin signature block\r\n# (simulated Authenticode signature: Valid)\r\n# SIG # End signature block\r\n"


def _psd1(version: str) -> bytes:
    return ("@{\r\n    RootModule = 'ECSTools.psm1'\r\n    ModuleVersion = '%s'\r\n"
            "    FunctionsToExport = @('Initialize-ECSAgent', 'Initialize-ECSHostReboot')\r\n}\r\n" % version
            + _SIGNATURE).encode("ascii")


_PSM1 = ("# ECSTools stand-in of ecs-windows-sim: Initialize-ECSAgent is emulated by the simulator.\r\n"
         "function Initialize-ECSAgent { }\r\nfunction Initialize-ECSHostReboot { }\r\n" + _SIGNATURE).encode("ascii")


def ecstools_files(version: str = ECSTOOLS_VERSION, signed: bool = True) -> dict[str, bytes]:
    files = {"ECSTools.psm1": _PSM1, "ECSTools.psd1": _psd1(version)}
    if not signed:
        files = {name: data.split(b"\r\n# SIG #", 1)[0] + b"\r\n" for name, data in files.items()}
    return files


ECSTOOLS_FILES: dict[str, bytes] = ecstools_files()
ECSTOOLS_SHA256: dict[str, str] = {name: hashlib.sha256(data).hexdigest() for name, data in ECSTOOLS_FILES.items()}

# What differs by Windows release on the ECS-optimized AMIs (sources and assumptions: docs/dev/host-model.md,
# "Choices where the sources are silent", Presets). Win32_OperatingSystem.Caption names no edition: Core and Full
# differ in the registry's InstallationType only ("Server Core" / "Server"), which the agent reads for ecs.os-family.
_RELEASES = {
    "2019": {"caption": "Microsoft Windows Server 2019 Datacenter", "build": 17763, "ecstools": ECSTOOLS_2019_VERSION,
             "docker": "20.10.21"},
    "2022": {"caption": "Microsoft Windows Server 2022 Datacenter", "build": 20348, "ecstools": ECSTOOLS_VERSION,
             "docker": "20.10.21"},
    "2025": {"caption": "Microsoft Windows Server 2025 Datacenter", "build": 26100, "ecstools": ECSTOOLS_VERSION,
             "docker": "25.0.8"},
}


def _parse(preset: str) -> tuple[str, str, bool]:
    """('ecs', '2025', True) for ecs-2025-core."""
    parts = preset.split("-")
    return parts[0], parts[1], parts[2:] == ["core"]


def container_image_tag(state: dict) -> str:
    """The tag of the Windows base images that run process-isolated on this host: ltsc<release>."""
    return "ltsc" + model.os_release(state)

# Machine-scope variables of a fresh Windows Server instance (the probe reports all Machine variables).
_WINDOWS_ENV = {
    "ComSpec": r"C:\Windows\system32\cmd.exe",
    "DriverData": r"C:\Windows\System32\Drivers\DriverData",
    "NUMBER_OF_PROCESSORS": "2",
    "OS": "Windows_NT",
    "Path": r"C:\Windows\system32;C:\Windows;C:\Windows\System32\Wbem;C:\Windows\System32\WindowsPowerShell\v1.0\;"
            r"C:\Windows\System32\OpenSSH\;C:\Program Files\Amazon\cfn-bootstrap\;C:\Program Files\Docker",
    "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
    "PROCESSOR_ARCHITECTURE": "AMD64",
    "PSModulePath": r"%ProgramFiles%\WindowsPowerShell\Modules;C:\Windows\system32\WindowsPowerShell\v1.0\Modules",
    "TEMP": r"C:\Windows\TEMP",
    "TMP": r"C:\Windows\TEMP",
    "USERNAME": "SYSTEM",
    "windir": r"C:\Windows",
}

_BASE_DIRS = (
    r"C:\Windows\Temp",
    r"C:\Windows\System32\WindowsPowerShell\v1.0",
    r"C:\Users\Administrator\AppData\Local\Temp",
    r"C:\Program Files\WindowsPowerShell\Modules",
    r"C:\ProgramData",
)
_ECS_DIRS = (r"C:\Program Files\Amazon\ECS", r"C:\ProgramData\Amazon\ECS\data", r"C:\ProgramData\Amazon\ECS\log")


def install_ecstools(state: dict, version: str = ECSTOOLS_VERSION, files: dict[str, bytes] | None = None) -> None:
    """Put the module files in place and record the module (shared by presets, settings and the op)."""
    model.make_dir(state, ECSTOOLS_DIR)
    for name, data in (files or ecstools_files(version)).items():
        model.write_file(state, ECSTOOLS_DIR + "\\" + name, data)
    state["ecstools"] = {"present": True, "version": version, "creates_reboot_task": version != ECSTOOLS_2019_VERSION}


def remove_ecstools(state: dict) -> None:
    if model.path_kind(state, ECSTOOLS_DIR) == "dir":
        model.remove_path(state, ECSTOOLS_DIR, recurse=True)
    state["ecstools"] = {"present": False, "version": None, "creates_reboot_task": False}


def preset_state(preset: str, name: str) -> dict:
    """A new host's state; ValueError names the known presets."""
    if preset not in PRESETS:
        raise ValueError("unknown preset %r (known: %s)" % (preset, ", ".join(PRESETS)))
    kind, release, core = _parse(preset)
    ecs = kind == "ecs"
    facts = _RELEASES[release]
    state = {
        "schema": 1,
        "name": name,
        "preset": preset,
        "os": {"caption": facts["caption"], "version": "10.0.%d" % facts["build"],
               "installation_type": "Server Core" if core else "Server"},
        "docker_version": facts["docker"],
        "adapters": [
            {"name": "Ethernet", "interface_index": 5, "status": "Up", "kind": "physical"},
            {"name": model.NAT_ADAPTER, "interface_index": 12, "status": "Up", "kind": "nat"},
        ],
        "ip_addresses": [],
        "portproxy": [],
        "firewall_rules": [],
        "excluded_port_ranges": [],
        "listeners": [],
        "services": {"docker": {"display_name": "Docker Engine", "status": "Running",
                                "start_type": "Automatic", "failure_restart": False}},
        "machine_env": dict(_WINDOWS_ENV),
        "ecstools": {"present": False, "version": None, "creates_reboot_task": False},
        "ecstools_download": "ok",
        "hyperv_powershell": ecs,
        "agent": {"installed_version": model.LATEST_AGENT if ecs else None, "running_config": None,
                  "saved_registration": None},
        "scheduled_tasks": [],
        "files": {},
        "dirs": {},
        "containers": [],
        "pending_faults": {},
        "last_boot_runs": [],
    }
    model.set_boot_time(state, model.now())
    model.bind_address(state, "10.0.1.23", 24, 5, persistent=True)
    model.bind_address(state, model.NAT_GATEWAY, 20, 12, persistent=True)
    for path in _BASE_DIRS + (_ECS_DIRS if ecs else ()):
        model.make_dir(state, path)
    if ecs:
        install_ecstools(state, facts["ecstools"])
    return state
