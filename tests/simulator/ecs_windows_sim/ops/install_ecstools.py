"""install_ecstools: download ECSTools from the regional bucket, verify every file, then install the ones
that differ into C:\\Program Files\\WindowsPowerShell\\Modules\\ECSTools (host-model.md)."""

from __future__ import annotations

import hashlib
import re

from .. import model, presets
from ..opscript import OpError

_URL = re.compile(r"^https://s3\.([a-z0-9-]+)\.amazonaws\.com/amazon-ecs-agent-([a-z0-9-]+)/(ECSTools\.ps[md]1)$")
_SIGNED = b"# SIG # Begin signature block"


def _download(state: dict, name: str, url: str, proxy: str | None) -> bytes:
    """What the simulated internet serves for `url` (setting ecstools-download=ok|unsigned|manifest-unsigned|
    unreachable|proxy-only: manifest-unsigned serves a signed ECSTools.psm1 and an unsigned ECSTools.psd1, which nothing
    public rules out; proxy-only is a VPC whose only way out is an HTTP proxy, which Invoke-WebRequest uses only when
    given -Proxy)."""
    mode = state["ecstools_download"]
    failure = None
    match = _URL.match(url)
    if mode == "unreachable" or (mode == "proxy-only" and not proxy):
        failure = "Unable to connect to the remote server"
    elif match is None or match.group(1) != match.group(2):
        failure = "The remote server returned an error: (404) Not Found."
    if failure:
        via = " through the Machine HTTP(S)_PROXY" if proxy else ""
        raise OpError("download_failed", "%s: download from %s%s failed: %s" % (name, url, via, failure))
    name = match.group(3)
    signed = mode != "unsigned" and not (mode == "manifest-unsigned" and name == "ECSTools.psd1")
    return presets.ecstools_files(signed=signed)[name]


def installed_version(state: dict) -> str | None:
    """Get-Module -ListAvailable ECSTools: the psd1's ModuleVersion, 0.0 for a bare psm1, null without both."""
    psd1 = model.read_file(state, presets.ECSTOOLS_DIR + "\\ECSTools.psd1")
    if psd1 is not None:
        found = re.search(rb"ModuleVersion = '([0-9.]+)'", psd1)
        return found.group(1).decode("ascii") if found else "0.0"
    return "0.0" if model.read_file(state, presets.ECSTOOLS_DIR + "\\ECSTools.psm1") is not None else None


def _check(name: str, data: bytes, entry: dict) -> list[str]:
    """The checks install_ecstools.ps1 makes; the messages name the file and the check that failed."""
    checks = []
    digest = hashlib.sha256(data).hexdigest()
    if entry["sha256"] is not None:
        if digest != entry["sha256"]:
            raise OpError("checksum_mismatch", "%s: the sha256 check failed: it is %s, ecstools_sha256 expects %s"
                          % (name, digest, entry["sha256"]))
        checks.append("%s: sha256 pin" % name)
    if entry["require_signature"]:
        if _SIGNED not in data:
            raise OpError("signature_invalid", "%s: the Authenticode check failed: the signature is NotSigned (signer ''), "
                          "a Valid signature by Amazon is required; pin the file's sha256 instead (ecstools_sha256) if "
                          "AWS does not sign it" % name)
        checks.append("%s: Amazon Authenticode signature" % name)
    elif entry["sha256"] is None:
        text = data.decode("utf-8", errors="replace")
        if not text.lstrip().startswith("@{") or "RootModule = 'ECSTools.psm1'" not in text:
            raise OpError("signature_invalid", "%s: the manifest check failed: it is not a data-only module manifest "
                          "whose RootModule is ECSTools.psm1" % name)
        checks.append("%s: data-only manifest" % name)
    return checks


def run(state: dict, args: dict) -> dict:
    ready, checks = [], []
    for entry in args["files"]:
        name = entry["name"]
        if entry["sha256"] is None and not entry["require_signature"] and name != "ECSTools.psd1":
            raise OpError("invalid_argument", "%s needs a sha256 pin or a required signature: module code is never "
                          "installed unchecked" % name)
    for entry in args["files"]:
        name = entry["name"]
        data = _download(state, name, entry["url"], args["proxy"])
        checks += _check(name, data, entry)
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
    return {"installed": installed, "path": presets.ECSTOOLS_DIR, "version": version, "checks": checks}
