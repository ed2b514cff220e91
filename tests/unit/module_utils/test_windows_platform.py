# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows operating system families and the release an image is built for (module_utils/_windows_platform.py)."""

from __future__ import annotations

import botocore.session
import pytest

from ansible_collections.ecs_windows.task_iam.plugins.module_utils._windows_platform import (
    WINDOWS_OS_FAMILIES,
    families_of,
    image_ltsc_release,
    image_mismatch,
    image_tag,
    release,
)


def test_the_families_are_every_windows_family_of_the_ecs_api():
    """botocore's service model is what boto3 validates against: the module offers exactly its Windows values."""
    enum = botocore.session.get_session().get_service_model("ecs").shape_for("OSFamily").enum
    assert sorted(WINDOWS_OS_FAMILIES) == sorted(f for f in enum if f.startswith("WINDOWS_"))
    assert {"WINDOWS_SERVER_2025_CORE", "WINDOWS_SERVER_2025_FULL"} <= set(WINDOWS_OS_FAMILIES)


def test_release_of_a_family():
    assert [release(f) for f in ("WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_20H2_CORE", "WINDOWS_SERVER_2025_FULL")] == [
        "2019", "20H2", "2025"]
    assert families_of("2022") == ["WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL"]
    assert families_of("2016") == ["WINDOWS_SERVER_2016_FULL"]
    for bad in ("LINUX", "WINDOWS_SERVER_2024_CORE", None):
        with pytest.raises(ValueError, match="is not a Windows operating system family"):
            release(bad)


@pytest.mark.parametrize(
    "image, tag, ltsc",
    [
        ("mcr.microsoft.com/windows/servercore:ltsc2022", "ltsc2022", "2022"),
        ("mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025", "windowsservercore-ltsc2025", "2025"),
        ("mcr.microsoft.com/dotnet/framework/aspnet:4.8.1-windowsservercore-ltsc2019", "4.8.1-windowsservercore-ltsc2019", "2019"),
        ("mcr.microsoft.com/windows/nanoserver:LTSC2022-amd64", "LTSC2022-amd64", "2022"),
        ("registry.example:5000/team/app:1.2-ltsc2025@sha256:" + "b" * 64, "1.2-ltsc2025", "2025"),
        ("registry.example:5000/team/app", "", None),
        ("app@sha256:" + "c" * 64, "", None),
        ("team/app-ltsc2022:latest", "latest", None),  # only the tag counts
        ("app:ltsc20221", "ltsc20221", None),
        ("app:myltsc2022", "myltsc2022", None),
        ("mcr.microsoft.com/windows/servercore:2004", "2004", None),
    ],
)
def test_image_tag_and_ltsc_release(image, tag, ltsc):
    assert image_tag(image) == tag
    assert image_ltsc_release(image) == ltsc


def test_mismatch_and_its_fix():
    assert image_mismatch("x:ltsc2025", "WINDOWS_SERVER_2025_FULL") is None
    assert image_mismatch("x:latest", "WINDOWS_SERVER_2019_CORE") is None
    text = image_mismatch("x:ltsc2022", "WINDOWS_SERVER_2019_FULL", "os")
    assert text.endswith("use the image's ltsc2019 tag, or set os to WINDOWS_SERVER_2022_CORE or WINDOWS_SERVER_2022_FULL "
                         "for Windows Server 2022 hosts")
    sac = image_mismatch("x:ltsc2019", "WINDOWS_SERVER_20H2_CORE")
    assert "use an image built for Windows Server 20H2 (tag 20H2)" in sac
    assert image_mismatch("x:ltsc2030", "WINDOWS_SERVER_2025_CORE").endswith("use the image's ltsc2025 tag")
