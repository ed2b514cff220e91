"""install_ecstools: download ECSTools from the regional bucket, verify, install (host-model.md)."""

from __future__ import annotations

import hashlib
import re

from .. import model, presets
from ..opscript import OpError

_URL = re.compile(r"^https://s3\.([a-z0-9-]+)\.amazonaws\.com/amazon-ecs-agent-([a-z0-9-]+)/(ECSTools\.ps[md]1)$")


def _download(state: dict, url: str) -> bytes:
    """What the simulated internet serves for `url` (setting ecstools-download=ok|unsigned|unreachable)."""
    mode = state["ecstools_download"]
    if mode == "unreachable":
        raise OpError("download_failed", "Download of %s failed: Unable to connect to the remote server" % url)
    match = _URL.match(url)
    if match is None or match.group(1) != match.group(2):
        raise OpError("download_failed",
                      "Download of %s failed: The remote server returned an error: (404) Not Found." % url)
    return presets.ecstools_files(signed=mode != "unsigned")[match.group(3)]


def run(state: dict, args: dict) -> dict:
    downloaded = []
    for entry in args["files"]:
        data = _download(state, entry["url"])
        digest = hashlib.sha256(data).hexdigest()
        if entry["sha256"] is not None and digest != entry["sha256"]:
            raise OpError("checksum_mismatch", "%s from %s has SHA256 %s, expected %s"
                          % (entry["name"], entry["url"], digest, entry["sha256"]))
        if args["require_signature"] and b"# SIG # Begin signature block" not in data:
            raise OpError("signature_invalid",
                          "%s from %s: Authenticode signature status is NotSigned, expected Valid"
                          % (entry["name"], entry["url"]))
        downloaded.append((entry["name"], data))
    installed = []
    model.make_dir(state, presets.ECSTOOLS_DIR)
    for name, data in downloaded:
        path = presets.ECSTOOLS_DIR + "\\" + name
        if model.read_file(state, path) != data:
            model.write_file(state, path, data)
            installed.append(name)
    psm1 = model.read_file(state, presets.ECSTOOLS_DIR + "\\ECSTools.psm1")
    psd1 = model.read_file(state, presets.ECSTOOLS_DIR + "\\ECSTools.psd1") or b""
    version = re.search(rb"ModuleVersion = '([0-9.]+)'", psd1)
    version = version.group(1).decode("ascii") if version else None
    if psm1 is not None:
        state["ecstools"] = {"present": True, "version": version,
                             "creates_reboot_task": version != presets.ECSTOOLS_2019_VERSION}
    return {"installed": installed, "path": presets.ECSTOOLS_DIR, "version": version}
