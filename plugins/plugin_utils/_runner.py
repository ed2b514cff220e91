# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a batch of remote ops in one round trip (see docs/dev/op-contract.md).

FOR INTERNAL COLLECTION USE ONLY. Changes may be made in ANY release.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _script

if TYPE_CHECKING:
    from ansible.plugins.connection import ConnectionBase

# Connection plugins do not turn every transport error into AnsibleConnectionFailure (winrm lets
# requests/pywinrm errors through, psrp its own), so these count as "the connection failed" too.
_TRANSPORT_ERRORS = [AnsibleConnectionFailure, ConnectionError, TimeoutError]
_AUTH_ERRORS = []
try:
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - requests comes with pywinrm/pypsrp
    pass
else:
    _TRANSPORT_ERRORS.append(RequestException)
try:
    from winrm.exceptions import AuthenticationError, WinRMError, WinRMOperationTimeoutError, WinRMTransportError
except ImportError:  # pragma: no cover
    pass
else:
    _TRANSPORT_ERRORS.extend((WinRMError, WinRMOperationTimeoutError, WinRMTransportError))
    _AUTH_ERRORS.append(AuthenticationError)
try:
    from pypsrp import exceptions as _psrp_exceptions
except ImportError:  # pragma: no cover - pypsrp is only there for the psrp connection
    pass
else:
    _TRANSPORT_ERRORS.extend(
        getattr(_psrp_exceptions, name)
        for name in ("WinRMError", "WinRMTransportError")
        if hasattr(_psrp_exceptions, name)
    )
    _AUTH_ERRORS.extend(
        getattr(_psrp_exceptions, name) for name in ("AuthenticationError",) if hasattr(_psrp_exceptions, name)
    )
_TRANSPORT_ERRORS = tuple(_TRANSPORT_ERRORS)
_AUTH_ERRORS = tuple(_AUTH_ERRORS)

# AnsibleError texts the winrm plugin raises for what is really a transport failure.
_TRANSPORT_MESSAGES = ("the connection attempt timed out", "winrm send_input failed")
# How the winrm (NTLM, Basic, CredSSP; kinit), psrp and ssh plugins report rejected credentials.
_AUTH_MESSAGES = ("credentials were rejected", "kerberos auth failure", "failed to authenticate", "permission denied")

display = Display()


class RemoteError(AnsibleError):
    """A round trip did not produce the results of all its ops. `result` holds extra result keys."""

    def __init__(self, message: str, **result: Any) -> None:
        super().__init__(message)
        self.plain_message = message
        self.result = result

    def __str__(self) -> str:
        # AnsibleError's own message appends the chained cause ("...: (AnsibleError: stderr)"); ours says it all.
        return self.plain_message


class RemoteOpError(RemoteError):
    """An op ran and reported an error: the host is in a state the op cannot handle."""


class RemoteScriptError(RemoteError):
    """The script itself failed (rc != 0 or stdout is not the contract's JSON document)."""


class RemoteUnreachable(RemoteError):
    """The connection failed and the batch could not (or may not) be sent again."""


def is_transport_error(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSPORT_ERRORS):  # type: ignore[arg-type]  # a tuple by now (built as a list above)
        return True
    return (
        isinstance(exc, AnsibleError) and not isinstance(exc, RemoteError) and str(exc).startswith(_TRANSPORT_MESSAGES)
    )


def is_auth_failure(exc: BaseException) -> bool:
    """The host refused the credentials: retrying cannot help, and every attempt counts towards the account's lockout."""
    return isinstance(exc, _AUTH_ERRORS) or any(  # type: ignore[arg-type]  # a tuple, as _TRANSPORT_ERRORS
        text in to_text(exc).lower() for text in _AUTH_MESSAGES
    )


def backoff_delay(attempt: int, cap: float = 12.0, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): 2**(attempt-1) capped, plus up to 1 s jitter."""
    return min(cap, 2.0 ** (attempt - 1)) + rand()


_CLIXML_ERROR = re.compile(r'<S S="Error">(.*?)</S>', re.S)
_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def clean_stderr(stderr: bytes | str) -> str:
    """PowerShell error text from stderr, decoding CLIXML when the connection plugin did not."""
    text = to_text(stderr, errors="surrogate_or_replace").strip()
    if not text.startswith("#< CLIXML"):
        return text
    parts = _CLIXML_ERROR.findall(text)
    if not parts:
        return text
    decoded = _CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), "".join(parts))
    return (
        decoded.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
        .strip()
    )


class CacheMiss(Exception):
    """The host does not have the library a command without code asked for: send the code."""


def parse_response(
    calls: Sequence[tuple[str, Any]], rc: int, stdout: bytes, stderr: bytes, host: str
) -> tuple[list[Any], str | None]:
    """(results (one dict per call), the host's library cache state) of a finished round trip; raises CacheMiss,
    RemoteOpError or RemoteScriptError."""
    err_text = clean_stderr(stderr)
    out_text = to_text(stdout, errors="surrogate_or_replace").strip()
    if rc != 0:
        raise RemoteScriptError(
            "the remote script failed on %s (rc %s): %s" % (host, rc, err_text or out_text[:2000] or "no output"),
            rc=rc,
            stderr=err_text,
        )
    try:
        doc = json.loads(out_text)
    except ValueError:
        raise RemoteScriptError(
            "the remote script on %s did not return a JSON document (stdout starts %r)%s"
            % (host, out_text[:200], "; stderr: %s" % err_text if err_text else ""),
            rc=rc,
            stderr=err_text,
        ) from None
    if (
        not isinstance(doc, dict)
        or doc.get("contract") != _contract.VERSION
        or not isinstance(doc.get("results"), list)
    ):
        raise RemoteScriptError(
            "the remote script on %s answered outside op contract %s (got %r)"
            % (host, _contract.VERSION, out_text[:200]),
            rc=rc,
            stderr=err_text,
        )
    if doc.get("cache") == "miss":
        raise CacheMiss()
    results = doc["results"]
    names = [op for op, _args in calls]
    answered = [item.get("op") if isinstance(item, dict) else item for item in results]
    if answered != names[: len(results)]:
        raise RemoteScriptError(
            "the remote script on %s returned results for ops %r, expected %r" % (host, answered, names),
            rc=rc,
            stderr=err_text,
        )
    values = [item.get("result") for item in results]
    error = doc.get("error")
    if error:
        op = error.get("op") or (names[len(results)] if len(results) < len(names) else "?")
        category = error.get("category") or "internal"
        raise RemoteOpError(
            "op %s failed on %s (%s): %s" % (op, host, category, error.get("message") or "no message"),
            op=op,
            category=category,
            op_message=error.get("message"),
            op_results=values,
            cache=doc.get("cache"),
        )
    if len(values) != len(names):
        raise RemoteScriptError(
            "the remote script on %s returned %d results for %d ops" % (host, len(values), len(names)),
            rc=rc,
            stderr=err_text,
        )
    return values, doc.get("cache")


# While one command runs this long, a progress line says so (a real host takes seconds per command; Initialize-ECSAgent
# may take minutes); the controller owns every longer wait (docs/dev/op-contract.md "Waits"). 12 s: with the command
# before it (a probe) the user still sees a line at least every 15 s, and a 10 s wait round (_action) prints only its own.
PROGRESS_EVERY_S = 12.0


class OpRunner:
    """Sends batches of ops over `connection`, one WinRM command per batch.

    A batch with a mutating op holds the host lock (waiting at most `lock_wait_s` on the host). `commands` counts the
    commands sent (retries included) so results can report it; `progress(text)` shows a line at default verbosity.
    """

    def __init__(
        self,
        connection: ConnectionBase,
        host: str,
        action: str,
        attempts: int = 4,
        backoff_cap: float = 12.0,
        sleep: Callable[[float], None] = time.sleep,
        lock_wait_s: int = 30,
        progress: Callable[[str], None] | None = None,
        store: bool = False,
        optimistic: bool = False,
    ) -> None:
        self.connection = connection
        self.host = host
        self.action = action
        self.attempts = attempts
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.lock_wait_s = lock_wait_s
        self.progress = progress
        # The library cache (docs/dev/op-contract.md "The library"): `store` lets batches send it to be kept (not in
        # check mode); `cached` is what the host said last (None: not asked yet); `optimistic` sends the first
        # command without code, betting the host has the library (read-only modules: a miss costs one command).
        self.store = store
        self.cached: bool | None = True if optimistic else None
        self.cache_state: str | None = None
        self.commands = 0
        self.bytes_sent = 0

    def _say(self, text: str) -> str:
        return "%s: %s" % (self.action, text)

    def lock_for(self, calls: Iterable[tuple[str, Any]], wait_s: int | None = None) -> dict | None:
        """The batch's host lock: mutating batches wait `lock_wait_s` for it; `wait_s` makes any batch take it."""
        if wait_s is None:
            if _contract.batch_is_read_only(calls):
                return None
            wait_s = self.lock_wait_s
        return {"wait_s": wait_s, "holder": "Ansible task %s" % self.action}

    def run(self, calls: Iterable[tuple[str, dict]], lock_wait_s: int | None = None) -> list[Any]:
        """Run [(op, args), ...] in one round trip; return the list of op results in order. With `lock_wait_s` the batch
        takes the host lock (waiting that long for it on the host), read-only or not."""
        calls = list(calls)
        try:
            return self._run(calls, lock_wait_s)
        except CacheMiss:
            self.cached = False
            display.vv(self._say("the host does not have this version's op library; sending the code"), host=self.host)
            return self._run(calls, lock_wait_s)

    def _run(self, calls: list[tuple[str, dict]], lock_wait_s: int | None = None) -> list[Any]:
        names = ",".join(op for op, _args in calls)
        stdin = _script.pack(
            calls,
            self.lock_for(calls, lock_wait_s),
            self.store,
            send_code=self.cached is not True,
            send_library=self.store and self.cached is False,
        )
        retry_safe = _contract.batch_is_retry_safe(calls)
        display.vv(self._say("running ops %s" % names), host=self.host)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                self.commands += 1
                self.bytes_sent += len(stdin)
                rc, stdout, stderr = self._exec(stdin, names)
            except Exception as exc:
                if not is_transport_error(exc):
                    raise
                failure = "%s: %s" % (
                    type(exc).__name__,
                    to_text(exc).strip().splitlines()[-1] if to_text(exc).strip() else "",
                )
                if is_auth_failure(exc):
                    raise RemoteUnreachable(
                        "connection to %s failed (%s); not retried, because every attempt with rejected credentials counts "
                        "towards the account's lockout: check ansible_user and ansible_password (or the Kerberos ticket) "
                        "for this host, then run again" % (self.host, failure)
                    ) from exc
                if not retry_safe:
                    unsafe = [op for op, _args in calls if not _contract.op_spec(op)["safe_to_retry"]]
                    raise RemoteUnreachable(
                        "connection to %s failed while running %s (%s); the response was lost, so it is not known "
                        "whether %s ran, and it is not sent again: run the task again, it probes the host before it "
                        "changes anything" % (self.host, names, failure, ", ".join(unsafe)),
                        response_lost=True,
                    ) from exc
                if attempt >= self.attempts:
                    raise RemoteUnreachable(
                        "connection to %s failed %d times running %s; last error %s"
                        % (self.host, attempt, names, failure)
                    ) from exc
                delay = backoff_delay(attempt, self.backoff_cap)
                display.vv(
                    self._say(
                        "connection failed (%s); retrying in %.1f s (attempt %d of %d)"
                        % (failure, delay, attempt + 1, self.attempts)
                    ),
                    host=self.host,
                )
                self._reset()
                self.sleep(delay)
                continue
            display.vvvv(
                self._say(
                    "round trip %s: sent %d bytes on stdin, rc %s, %d bytes stdout, %d bytes stderr, %.2f s"
                    % (names, len(stdin), rc, len(stdout or b""), len(stderr or b""), time.monotonic() - started)
                ),
                host=self.host,
            )
            try:
                values, cache = parse_response(calls, rc, stdout or b"", stderr or b"", self.host)
            except RemoteOpError as exc:
                self._learn(exc.result.get("cache"))
                raise
            self._learn(cache)
            return values

    def _learn(self, cache: str | None) -> None:
        self.cache_state = cache
        if cache in ("hit", "present", "stored"):
            self.cached = True
        elif cache == "absent":
            self.cached = False

    def _exec(self, stdin: bytes, names: str) -> tuple[int, bytes, bytes]:
        """exec_command, with a progress line every PROGRESS_EVERY_S while it runs (from this thread; the command
        runs in another)."""
        if self.progress is None:
            return self.connection.exec_command(_script.LOADER_COMMAND, in_data=stdin, sudoable=False)
        outcome = {}

        def call() -> None:
            try:
                outcome["value"] = self.connection.exec_command(_script.LOADER_COMMAND, in_data=stdin, sudoable=False)
            except BaseException as exc:  # re-raised in the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=call, name="ecs-%s" % self.host, daemon=True)
        started = time.monotonic()
        worker.start()
        while True:
            worker.join(PROGRESS_EVERY_S)
            if not worker.is_alive():
                break
            self.progress("still running %s on the host: %d s" % (names, time.monotonic() - started))
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _reset(self) -> None:
        # close() first: some connection plugins keep the old WSMan shell open on reset() (as ansible.windows' _reboot.py notes).
        for step in ("close", "reset"):
            method = getattr(self.connection, step, None)
            if method is None:
                continue
            try:
                method()
            except Exception as exc:  # the next attempt reports the failure if the host is really gone
                if not (is_transport_error(exc) or isinstance(exc, AnsibleError)):
                    raise
                display.vvvv(self._say("connection %s failed: %s" % (step, to_text(exc))), host=self.host)
