"""HTTP authentication as a Windows WinRM listener does it: Basic, or NTLM (pyspnego as the
acceptor) with NTLM message encryption over HTTP (multipart/encrypted, MS-WSMV 2.2.9.1.1).

NTLM state lives per TCP connection (requests-ntlm authenticates a connection, not a request).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import pathlib
import re
import struct

import spnego
import spnego.exceptions

BOUNDARY = b"--Encrypted Boundary"
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL
_OCTET = b"\tContent-Type: application/octet-stream\r\n"
_NTLM_SIGNATURE = b"NTLMSSP\x00"


class AuthError(Exception):
    """401: missing or rejected credentials. `challenge` is the WWW-Authenticate value to send."""

    def __init__(self, challenge: str, rejected: bool):
        super().__init__(challenge)
        self.challenge = challenge
        self.rejected = rejected  # True when credentials were presented and are wrong


class Continue(Exception):
    """401 carrying the next NTLM handshake token (not a failure)."""

    def __init__(self, challenge: str):
        super().__init__(challenge)
        self.challenge = challenge


class BadMessage(Exception):
    """400: an encrypted body that cannot be unwrapped with this connection's context."""


@dataclasses.dataclass(frozen=True)
class Credentials:
    user: str  # may be DOMAIN\user
    password: str

    @property
    def domain_and_name(self) -> tuple[str, str]:
        domain, _, name = self.user.rpartition("\\")
        return domain, name

    def matches(self, user: str, password: str) -> bool:
        want_domain, want_name = self.domain_and_name
        domain, _, name = user.rpartition("\\")
        return name.lower() == want_name.lower() and domain.lower() in ("", ".", want_domain.lower()) and password == self.password


def write_ntlm_user_file(path: pathlib.Path, creds: Credentials) -> None:
    """pyspnego's NTLM acceptor reads users from NTLM_USER_FILE (DOMAIN:USER:PASSWORD lines)."""
    domain, name = creds.domain_and_name
    lines = {"%s:%s:%s" % (domain, name, creds.password), ".:%s:%s" % (name, creds.password)}
    path.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    path.chmod(0o600)
    os.environ["NTLM_USER_FILE"] = str(path)


def check_basic(header: str | None, creds: Credentials) -> str:
    """The authenticated user name, or AuthError."""
    challenge = 'Basic realm="WSMAN"'
    if not header or not header.lower().startswith("basic "):
        raise AuthError(challenge, rejected=bool(header))
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthError(challenge, rejected=True) from None
    if not creds.matches(user, password):
        raise AuthError(challenge, rejected=True)
    return user


class NtlmConnection:
    """The NTLM context of one TCP connection."""

    def __init__(self):
        self._ctx = None
        self.user: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def step(self, header: str | None) -> None:
        """Handle the Authorization header of a request; raises Continue/AuthError until done.

        Returns normally when the request is authenticated (now or earlier on this connection).
        """
        match = re.match(r"^(Negotiate|NTLM)\s+(\S+)\s*$", header or "", re.IGNORECASE)
        if not match:
            if self.authenticated:
                return
            raise AuthError("Negotiate", rejected=bool(header))
        scheme = match.group(1)
        try:
            token = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise AuthError("Negotiate", rejected=True) from None
        kind = struct.unpack("<I", token[8:12])[0] if token.startswith(_NTLM_SIGNATURE) and len(token) >= 12 else 0
        if kind == 1:
            self.user = None
            self._ctx = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
            challenge = self._ctx.step(token)
            raise Continue("%s %s" % (scheme, base64.b64encode(challenge).decode("ascii")))
        if kind == 3 and self._ctx is not None:
            try:
                self._ctx.step(token)
            except spnego.exceptions.SpnegoError:
                self._ctx = None
                raise AuthError("Negotiate", rejected=True) from None
            self.user = self._ctx.client_principal or "?"
            return
        self._ctx = None
        self.user = None
        raise AuthError("Negotiate", rejected=True)

    def unwrap(self, body: bytes) -> bytes:
        """Plain SOAP from a multipart/encrypted body (RC4 stream state advances: call in order)."""
        start = body.find(_OCTET)
        end = body.rfind(BOUNDARY + b"--")
        length = re.search(rb"Length=(\d+)", body)
        if self._ctx is None or start < 0 or end < start or not length:
            raise BadMessage("malformed multipart/encrypted body")
        payload = body[start + len(_OCTET):end]
        (sig_len,) = struct.unpack("<i", payload[:4])
        try:
            plain = self._ctx.unwrap_winrm(payload[4:4 + sig_len], payload[4 + sig_len:])
        except spnego.exceptions.SpnegoError as exc:
            raise BadMessage("cannot unwrap: %s" % exc) from None
        if len(plain) != int(length.group(1)):
            raise BadMessage("decrypted length does not match OriginalContent Length")
        return plain

    def wrap(self, plain: bytes) -> bytes:
        res = self._ctx.wrap_winrm(plain)
        return b"".join((
            BOUNDARY, b"\r\n\tContent-Type: ", PROTOCOL.encode(), b"\r\n",
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=", str(len(plain)).encode(), b"\r\n",
            BOUNDARY, b"\r\n", _OCTET, struct.pack("<i", len(res.header)), res.header, res.data,
            BOUNDARY, b"--\r\n",
        ))


def is_encrypted(content_type: str | None) -> bool:
    return bool(content_type) and content_type.lower().startswith("multipart/encrypted") and PROTOCOL.lower() in content_type.lower()
