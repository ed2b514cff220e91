# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Walking nested data (filters use it to find a Jinja2 Undefined in their input and let it propagate).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

from typing import Any, TypeVar

_T = TypeVar("_T")


def first_instance(value: Any, cls: type[_T]) -> _T | None:
    """The first object of type `cls` in `value` itself or inside its dictionaries, lists and tuples, else None."""
    if isinstance(value, cls):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = first_instance(item, cls)
        if found is not None:
            return found
    return None
