# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quote values as PowerShell single-quoted (verbatim) strings.

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.

Same rule as ansible.windows plugins/plugin_utils/_quote.py quote_pwsh: always quote, and double every
character PowerShell treats as a single quote (', U+2018, U+2019, U+201A, U+201B).  Inside a verbatim
string nothing else is special: no `$` expansion, no backtick escapes, no subexpressions.
"""

from __future__ import annotations

import re

# PowerShell CharTraits: IsSingleQuote is true for these five characters.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_UNSAFE_PWSH = re.compile("([%s])" % SINGLE_QUOTES)


# Jinja's opening delimiters: a value holding one is written as a concatenation split between its two characters,
# so that no generated script contains one (it would be templated if it passed through Ansible, and the project's
# static check refuses it).
_JINJA_OPENING = re.compile(r"(?<=\{)(?=[{%#])")


def _quote(value: str) -> str:
    return "'%s'" % _UNSAFE_PWSH.sub(r"\1\1", value)


def quote_pwsh(value: str) -> str:
    """Return `value` (a str) as a PowerShell single-quoted string literal (a parenthesised concatenation of such
    literals when it holds a Jinja delimiter); valid both as an expression and as a command argument."""
    if not isinstance(value, str):
        raise TypeError("quote_pwsh expects a str, got %s" % type(value).__name__)
    parts = _JINJA_OPENING.split(value)
    if len(parts) == 1:
        return _quote(value)
    return "(%s)" % " + ".join(_quote(part) for part in parts)
