"""install_ecstools: download ECSTools from the regional bucket, verify every file, then install the ones
that differ into C:\\Program Files\\WindowsPowerShell\\Modules\\ECSTools (host-model.md)."""

from __future__ import annotations

import hashlib
import re

from .. import model, presets
from ..opscript import OpError

_URL = re.compile(r"^https://s3\.([a-z0-9-]+)\.amazonaws\.com/amazon-ecs-agent-([a-z0-9-]+)/(ECSTools\.ps[md]1)$")
_SIGNED = b"# SIG # Begin signature block"


def _download(state: dict, name: str, url: str) -> bytes:
    """What the simulated internet serves for `url` (setting ecstools-download=ok|unsigned|unreachable)."""
    mode = state["ecstools_download"]
    failure = None
    match = _URL.match(url)
    if mode == "unreachable":
        failure = "Unable to connect to the remote server"
    elif match is None or match.group(1) != match.group(2):
        failure = "The remote server returned an error: (404) Not Found."
    if failure:
        raise OpError("download_failed", "%s: download from %s failed: %s" % (name, url, failure))
    return presets.ecstools_files(signed=mode != "unsigned")[match.group(3)]


def installed_version(state: dict) -> str | None:
    """Get-Module -ListAvailable ECSTools: the psd1's ModuleVersion, 0.0 for a bare psm1, null without both."""
    psd1 = model.read_file(state, presets.ECSTOOLS_DIR + "\\ECSTools.psd1")
    if psd1 is not None:
        found = re.search(rb"ModuleVersion = '([0-9.]+)'", psd1)
        return found.group(1).decode("ascii") if found else "0.0"
    return "0.0" if model.read_file(state, presets.ECSTOOLS_DIR + "\\ECSTools.psm1") is not None else None


def run(state: dict, args: dict) -> dict:
    if not args["files"]:
        raise OpError("invalid_argument", "files must list ECSTools.psm1 and/or ECSTools.psd1")
    ready = []
    for entry in args["files"]:
        name = entry["name"]
        data = _download(state, name, entry["url"])
        digest = hashlib.sha256(data).hexdigest()
        if entry["sha256"] is not None and digest != entry["sha256"]:
            raise OpError("checksum_mismatch", "%s: sha256 is %s, expected %s" % (name, digest, entry["sha256"]))
        if args["require_signature"] and _SIGNED not in data:
            raise OpError("signature_invalid", "%s: Authenticode signature is NotSigned (signer ''): expected a Valid "
                          "signature by Amazon; check the URL or set require_signature false only for a file you "
                          "verified yourself" % name)
        ready.append((name, data))
    installed = []
    model.make_dir(state, presets.ECSTOOLS_DIR)
    for name, data in ready:
        path = presets.ECSTOOLS_DIR + "\\" + name
        if model.read_file(state, path) != data:
            model.write_file(state, path, data)
            installed.append(name)
    version = installed_version(state)
    state["ecstools"] = {"present": version is not None, "version": version,
                         "creates_reboot_task": version not in (None, presets.ECSTOOLS_2019_VERSION)}
    return {"installed": installed, "path": presets.ECSTOOLS_DIR, "version": version}
