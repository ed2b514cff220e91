# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of ECS names shared by the filters, the role and the action plugins.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import re
from typing import Any

# ECS CreateCluster: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
CLUSTER_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,255}$"
_CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")


def cluster_name_error(value: Any, argument: str = "cluster") -> str | None:
    """The error message for an invalid cluster name, or None when `value` is valid."""
    if not isinstance(value, str):
        return "%s must be a string (an ECS cluster name), got %s" % (argument, type(value).__name__)
    if _CLUSTER_NAME_RE.fullmatch(value):
        return None
    if not value:
        problem = "is empty"
    elif len(value) > 255:
        problem = "is %d characters long" % len(value)
    else:
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9_-]", c)})
        problem = "contains %s" % ", ".join(repr(c) for c in bad)
    return (
        "%s %r is not a valid ECS cluster name: it %s; use 1 to 255 letters, digits, hyphens and underscores "
        "(pattern %s)" % (argument, value if len(value) <= 80 else value[:77] + "...", problem, CLUSTER_NAME_PATTERN)
    )


def validate_cluster_name(value: Any, argument: str = "cluster") -> str:
    """Return `value` when it is a valid ECS cluster name, otherwise raise ValueError naming `argument`."""
    error = cluster_name_error(value, argument)
    if error:
        raise ValueError(error)
    return value
