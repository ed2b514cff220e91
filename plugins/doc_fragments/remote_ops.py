# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Attribute support shared by the modules that run remote ops over the host's connection (action plugins).

    Use after ansible.builtin.action_common_attributes (+ .conn, .flow), which describe the attributes."""

    DOCUMENTATION = r"""
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  connection:
    support: full
  delegation:
    support: none
  platform:
    platforms: windows
"""
