# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The scripts follow "IAM roles for task container bootstrap script" in the Amazon ECS developer guide
# (Copyright Amazon.com Inc. or its affiliates, Apache License 2.0).

from __future__ import annotations

DOCUMENTATION = r"""
name: bootstrap_script
short_description: The container bootstrap script for IAM roles for tasks on Windows
version_added: 0.1.0
author: ecs_windows.task_iam contributors
description:
  - Returns the script a Windows container in C(default) (nat) network mode runs when it starts so that it
    reaches the credential endpoint 169.254.170.2 (and, with O(imds=true), the instance metadata service
    169.254.169.254) through its default gateway; the ECS agent does not add these routes for such tasks.
    C(awsvpc) tasks do not need it.
  - The routes must be added when the container starts - in the image's C(ENTRYPOINT) or C(CMD) (or the task
    definition's C(entryPoint)/C(command)), before the application. A Dockerfile C(RUN) adds them only inside the
    container that builds the image; they live in the container's active route store and are gone when the task's
    container starts.
  - V(powershell) gives the AWS PowerShell form with full cmdlet and parameter names (no aliases), for
    images with Windows PowerShell, to write to a C(.ps1) file; V(cmd) gives the AWS netsh form for images with only
    the command shell. For those, use O(batch=true) and write the script to a C(.cmd) file that the entrypoint runs.
  - Without O(batch), the cmd form is for typing or pasting into an interactive C(cmd.exe), one line at a time.
    It does not work as one command line (lines joined with C(&) or C(&&), C(cmd /c "..."), a shell-form
    C(ENTRYPOINT)/C(CMD) or C(RUN)) - cmd expands C(%interface%) and C(%gateway%) when it reads the whole line, before
    the C(for) commands set them, so C(netsh) gets them unexpanded - nor in a batch file, which needs C(%%i).
  - Adding routes needs administrator rights in the container. Server Core images run as
    C(ContainerAdministrator); Nano Server images run as C(ContainerUser) unless the Dockerfile says
    C(USER ContainerAdministrator).
  - Two deliberate differences from the AWS text. The PowerShell form takes the first default route and the first
    Hyper-V adapter (C(Select-Object -First 1)) so a second one cannot make C(New-NetRoute) fail. The cmd
    form has its comments on C(REM) lines (cmd has no C(#) comments).
options:
  _input:
    description: The script language.
    type: str
    choices: [powershell, cmd]
    required: true
  imds:
    description: Also route the instance metadata service (169.254.169.254/32).
    type: bool
    default: true
  batch:
    description:
      - For V(cmd) only - the batch-file form, for a C(.cmd) (or C(.bat)) file - C(%%i) as C(for) wants it in a
        batch file, and CRLF line ends. Recommended for images with only cmd.exe.
      - V(false) gives the C(%i) form for an interactive C(cmd.exe), pasted line by line.
    type: bool
    default: false
"""

EXAMPLES = r"""
# In the Dockerfile (PowerShell image), the routes are added at container start, before the application:
#   COPY bootstrap-routes.ps1 C:/bootstrap-routes.ps1
#   ENTRYPOINT ["powershell", "-NoProfile", "-Command", "C:/bootstrap-routes.ps1; C:/ServiceMonitor.exe w3svc"]
- name: Write the entrypoint helper into the image build context
  ansible.builtin.copy:
    content: "{{ 'powershell' | ecs_windows.task_iam.bootstrap_script(imds=false) }}"
    dest: build/bootstrap-routes.ps1
    mode: "0644"

# For an image with only cmd.exe, the batch form in a .cmd file that the entrypoint runs first:
#   USER ContainerAdministrator
#   COPY bootstrap-routes.cmd C:/bootstrap-routes.cmd
#   ENTRYPOINT ["cmd", "/S", "/C", "C:\\bootstrap-routes.cmd && C:\\app\\app.exe"]
- name: Same for an image with only cmd.exe, as a batch file
  ansible.builtin.copy:
    content: "{{ 'cmd' | ecs_windows.task_iam.bootstrap_script(batch=true) }}"
    dest: build/bootstrap-routes.cmd
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The script text.
  type: str
"""

import re
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

_POWERSHELL_HEAD = """# IAM roles for tasks: reach the ECS credential endpoint through the container's default gateway.
$gateway = (Get-NetRoute | Where-Object -FilterScript { $_.DestinationPrefix -eq '0.0.0.0/0' } |
    Sort-Object -Property RouteMetric | Select-Object -Property NextHop -First 1).NextHop
$ifIndex = (Get-NetAdapter -InterfaceDescription 'Hyper-V Virtual Ethernet*' | Sort-Object | Select-Object -Property ifIndex -First 1).ifIndex
New-NetRoute -DestinationPrefix '169.254.170.2/32' -InterfaceIndex $ifIndex -NextHop $gateway -PolicyStore ActiveStore # credentials API"""
_POWERSHELL_IMDS = "New-NetRoute -DestinationPrefix '169.254.169.254/32' -InterfaceIndex $ifIndex -NextHop $gateway -PolicyStore ActiveStore # metadata API"

_CMD_HEAD = """REM IAM roles for tasks: reach the ECS credential endpoint through the container's default gateway.
for /f "tokens=1" %i in ('netsh interface ipv4 show interfaces ^| findstr /x /r ".*vEthernet.*"') do set interface=%i
for /f "tokens=3" %i in ('netsh interface ipv4 show addresses %interface% ^| findstr /x /r ".*Default.Gateway.*"') do set gateway=%i
REM credentials API
netsh interface ipv4 add route prefix=169.254.170.2/32 interface="%interface%" nexthop="%gateway%" store=active"""
_CMD_IMDS = """REM metadata API
netsh interface ipv4 add route prefix=169.254.169.254/32 interface="%interface%" nexthop="%gateway%" store=active"""


def bootstrap_script(language: str, imds: bool = True, batch: bool = False) -> str:
    """The AWS container bootstrap script in PowerShell or cmd form (see DOCUMENTATION)."""
    for name, value in (("imds", imds), ("batch", batch)):
        if not isinstance(value, bool):
            raise AnsibleFilterError(
                "ecs_windows.task_iam.bootstrap_script: %s must be a boolean, got %r" % (name, value)
            )
    if language == "powershell":
        if batch:
            raise AnsibleFilterError("ecs_windows.task_iam.bootstrap_script: batch applies to 'cmd' only")
        return "\n".join([_POWERSHELL_HEAD] + ([_POWERSHELL_IMDS] if imds else [])) + "\n"
    if language == "cmd":
        text = "\n".join([_CMD_HEAD] + ([_CMD_IMDS] if imds else [])) + "\n"
        if batch:
            text = re.sub(r"%i(?!\w)", "%%i", text).replace("\n", "\r\n")
        return text
    raise AnsibleFilterError(
        "ecs_windows.task_iam.bootstrap_script: the input must be 'powershell' or 'cmd', got %r" % (language,)
    )


class FilterModule(object):
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"bootstrap_script": bootstrap_script}
