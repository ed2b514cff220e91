"""PowerShell's CLIXML error stream, as powershell.exe writes it to stderr over WinRM."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

_HEADER = b"#< CLIXML\r\n"
_OBJS = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">%s</Objs>'
# Serialized strings carry control characters as _xHHHH_; a literal "_x" is escaped as _x005F_x.
_NEEDS_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _serialize(text: str) -> str:
    text = _NEEDS_ESCAPE.sub(lambda m: "_x%04X_" % ord(m.group(0)), text)
    return escape(text).replace("\r", "_x000D_").replace("\n", "_x000A_")


def error_clixml(message: str, *, category_info: str | None = None, error_id: str | None = None) -> bytes:
    """stderr of a PowerShell process that ended with a terminating error.

    One `<S S="Error">` element per line, each ending in CRLF, like the ErrorRecord view PowerShell
    5.1 prints; `category_info`/`error_id` add its "+ CategoryInfo"/"+ FullyQualifiedErrorId" lines.
    """
    lines = message.replace("\r\n", "\n").split("\n")
    if category_info:
        lines.append("    + CategoryInfo          : " + category_info)
    if error_id:
        lines.append("    + FullyQualifiedErrorId : " + error_id)
    lines.append(" ")
    body = "".join('<S S="Error">%s</S>' % _serialize(line + "\r\n") for line in lines)
    return _HEADER + (_OBJS % body).encode("utf-8")
