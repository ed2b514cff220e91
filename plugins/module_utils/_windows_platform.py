# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows operating system families of ECS task definitions and the Windows release a container image is built
for. Facts and sources: docs/dev/task-definitions.md.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import re

# runtimePlatform.operatingSystemFamily values of the ECS API (botocore's OSFamily enum) other than LINUX.
WINDOWS_OS_FAMILIES = (
    "WINDOWS_SERVER_2016_FULL",
    "WINDOWS_SERVER_2019_CORE",
    "WINDOWS_SERVER_2019_FULL",
    "WINDOWS_SERVER_2004_CORE",
    "WINDOWS_SERVER_20H2_CORE",
    "WINDOWS_SERVER_2022_CORE",
    "WINDOWS_SERVER_2022_FULL",
    "WINDOWS_SERVER_2025_CORE",
    "WINDOWS_SERVER_2025_FULL",
)
# Long-Term Servicing Channel releases; 2004 and 20H2 were Semi-Annual Channel releases (image tags 2004, 20H2).
LTSC_RELEASES = ("2016", "2019", "2022", "2025")
_FAMILY_RE = re.compile(r"WINDOWS_SERVER_(?P<release>[0-9A-Z]{4})_(?P<edition>CORE|FULL)\Z")
# An ltsc release in an image tag: ltsc2022, windowsservercore-ltsc2022, 4.8.1-ltsc2025-amd64.
_LTSC_RE = re.compile(r"(?:^|[^a-z0-9])ltsc(?P<release>20[0-9]{2})(?![0-9])", re.IGNORECASE)


def release(os_family: str) -> str:
    """'2022' for WINDOWS_SERVER_2022_CORE; ValueError for anything that is not a Windows family."""
    match = _FAMILY_RE.match(str(os_family))
    if not match or os_family not in WINDOWS_OS_FAMILIES:
        raise ValueError(
            "%r is not a Windows operating system family (one of %s)" % (os_family, ", ".join(WINDOWS_OS_FAMILIES))
        )
    return match.group("release")


def families_of(release_name: str) -> list[str]:
    """The API's families of one release: ['WINDOWS_SERVER_2022_CORE', 'WINDOWS_SERVER_2022_FULL']."""
    return [family for family in WINDOWS_OS_FAMILIES if release(family) == release_name]


def image_tag(image: str) -> str:
    """The tag of an image reference ('' when it has none): a digest is dropped, a registry port is not a tag."""
    name = str(image).split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def image_ltsc_release(image: str) -> str | None:
    """'2022' when the image's tag names ltsc2022; None when the tag names no ltsc release."""
    match = _LTSC_RE.search(image_tag(image))
    return match.group("release") if match else None


def image_mismatch(image: str, os_family: str, family_arg: str = "the operating system family") -> str | None:
    """Why `image` cannot run on hosts of `os_family`, with the fix; None when it can (or the tag does not say).

    `family_arg` names the argument that holds the family, for the message.
    """
    built_for = image_ltsc_release(image)
    wanted = release(os_family)
    if built_for is None or built_for == wanted:
        return None
    if wanted in LTSC_RELEASES:
        fix = "use the image's ltsc%s tag" % wanted
    else:
        fix = "use an image built for Windows Server %s (tag %s)" % (wanted, wanted)
    others = families_of(built_for)
    if others:
        fix += ", or set %s to %s for Windows Server %s hosts" % (family_arg, " or ".join(others), built_for)
    return (
        "image %s is built for Windows Server %s (ltsc%s) but %s is %s: ECS runs Windows containers process-isolated, "
        "which needs an image of the host's Windows release; %s"
        % (image, built_for, built_for, family_arg, os_family, fix)
    )
