"""The WinRM listeners: one loopback port per simulated host, HTTP/1.1 keep-alive or HTTPS, auth,
message encryption, per-host counters, protocol faults on demand and reboot downtime.

One acceptor thread watches every listening socket; each accepted TCP connection gets its own thread
(NTLM authenticates a connection, so its context lives there).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import selectors
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler

from ecs_windows_sim import auth, wsman
from ecs_windows_sim.control import SimError
from ecs_windows_sim.winrs import WinRS

log = logging.getLogger(__name__)
PROTOCOL_FAULTS = ("winrm-500", "timeout", "drop", "latency")
IDLE_TIMEOUT = 300.0  # seconds a keep-alive connection may stay idle (http.sys: 120 s; longer keeps tests calm)


@dataclasses.dataclass
class Config:
    scheme: str  # http | https
    auth: str  # basic | ntlm
    credentials: auth.Credentials
    listen: str
    ssl_context: ssl.SSLContext | None = None
    receive_wait: float = 1.0


class Counters:
    FIELDS = ("connections", "http_requests", "commands", "double_encoded", "bytes_in", "bytes_out", "auth_failures",
              "shells_created", "timeouts")

    def __init__(self):
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self.FIELDS, 0)
        self._faults = dict.fromkeys(PROTOCOL_FAULTS, 0)
        self._kinds = {}

    def reset(self) -> dict:
        """Zero every counter; returns the values they had."""
        with self._lock:
            before = self._snapshot()
            self._values = dict.fromkeys(self.FIELDS, 0)
            self._faults = dict.fromkeys(PROTOCOL_FAULTS, 0)
            self._kinds = {}
            return before

    def command(self, kind: str, depth: int) -> None:
        """A command arrived: what dispatch made of it ("ops", "ansible:put_file (2.19+)", "unknown", ...)."""
        with self._lock:
            self._values["commands"] += 1
            self._values["double_encoded"] += depth > 1
            self._kinds[kind] = self._kinds.get(kind, 0) + 1

    def add(self, **deltas) -> None:
        with self._lock:
            for key, value in deltas.items():
                self._values[key] += value

    def fault_served(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def _snapshot(self) -> dict:
        return dict(self._values, faults_served=dict(self._faults), command_kinds=dict(self._kinds))

    def snapshot(self) -> dict:
        with self._lock:
            return self._snapshot()


class Faults:
    """Pending protocol faults of one host."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending = {"winrm-500": 0, "timeout": 0, "drop": 0}
        # ctl fault --after-commands N: the fault lets N commands through and strikes the next command's Command
        # request (None: the next request of its kind), so that a test can fail a module's apply, not its probe.
        self._after: dict[str, int | None] = {"winrm-500": None, "timeout": None, "drop": None}
        self.latency_ms = 0
        self._latency_left = None  # None = every request until cleared

    def add(self, kind: str, count: int, ms: int | None, after_commands: int | None = None) -> None:
        with self._lock:
            if kind == "latency":
                self.latency_ms = ms
                self._latency_left = count if (count is not None and ms) else None
            else:
                self._pending[kind] += count
                self._after[kind] = after_commands

    def take(self, kind: str, command: bool = False) -> bool:
        """Whether the request gets this fault; `command` says it is a Command request (a new command)."""
        with self._lock:
            after = self._after[kind]
            if after is not None:
                if not command or self._pending[kind] == 0:
                    return False
                if after > 0:
                    self._after[kind] = after - 1
                    return False
            if self._pending[kind] > 0:
                self._pending[kind] -= 1
                return True
            return False

    def take_latency(self) -> float:
        with self._lock:
            if not self.latency_ms:
                return 0.0
            ms = self.latency_ms
            if self._latency_left is not None:
                self._latency_left -= 1
                if self._latency_left <= 0:
                    self.latency_ms, self._latency_left = 0, None
            return ms / 1000.0

    def snapshot(self) -> dict:
        with self._lock:
            pending = dict(self._pending)
            if self.latency_ms:
                pending["latency"] = {"ms": self.latency_ms, "requests_left": self._latency_left}
            return pending


class Endpoint:
    """One simulated host on the wire."""

    def __init__(self, host, port: int, config: Config):
        self.host = host
        self.name = host.name
        self.port = port
        self.config = config
        self.counters = Counters()
        self.faults = Faults()
        self.winrs = WinRS(host, self.counters, config.receive_wait)
        self.listener: socket.socket | None = None
        self.status = "down"
        self._connections: set = set()
        self._conn_lock = threading.Lock()

    @property
    def url(self) -> str:
        host = "[%s]" % self.config.listen if ":" in self.config.listen else self.config.listen
        return "%s://%s:%d/wsman" % (self.config.scheme, host, self.port)

    def open_listener(self, port: int) -> None:
        family = socket.AF_INET6 if ":" in self.config.listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.listen, port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self.listener = sock
        self.status = "up"

    def track(self, conn, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def drop_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _CountingReader:
    def __init__(self, raw, counters: Counters):
        self._raw, self._counters = raw, counters

    def readline(self, size=-1):
        data = self._raw.readline(size)
        self._counters.add(bytes_in=len(data))
        return data

    def read(self, size=-1):
        data = self._raw.read(size)
        self._counters.add(bytes_in=len(data))
        return data

    @property
    def closed(self):
        return self._raw.closed

    def close(self):
        self._raw.close()


class _CountingWriter:
    def __init__(self, raw, counters: Counters):
        self._raw, self._counters = raw, counters

    def write(self, data):
        self._counters.add(bytes_out=len(data))
        return self._raw.write(data)

    def flush(self):
        self._raw.flush()

    @property
    def closed(self):
        return self._raw.closed

    def close(self):
        self._raw.close()


class _Dropped(Exception):
    """The `drop` fault: close the TCP connection without answering."""


class Handler(BaseHTTPRequestHandler):
    """One TCP connection of one endpoint (BaseHTTPRequestHandler loops over keep-alive requests)."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def __init__(self, sock, client_address, endpoint: Endpoint):
        self.endpoint = endpoint
        self.ntlm = auth.NtlmConnection()
        super().__init__(sock, client_address, endpoint)

    def setup(self):
        super().setup()
        self.rfile = _CountingReader(self.rfile, self.endpoint.counters)
        self.wfile = _CountingWriter(self.wfile, self.endpoint.counters)

    def version_string(self):
        return "Microsoft-HTTPAPI/2.0"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s %s: " + format, self.endpoint.name, self.client_address[0], *args)

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None, encrypt: bool = False) -> None:
        content_type = "application/soap+xml;charset=UTF-8"
        if encrypt:
            body, content_type = self.ntlm.wrap(body), auth.ENCRYPTED_CONTENT_TYPE
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)  # one write for head and body: no Nagle/delayed-ACK stall
        self.flush_headers()

    def do_GET(self):
        self._reply(405, headers={"Allow": "POST"})

    def do_POST(self):
        ep = self.endpoint
        delay = ep.faults.take_latency()
        if delay:
            ep.counters.fault_served("latency")
            time.sleep(delay)
        ep.counters.add(http_requests=1)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.split("?", 1)[0].lower() != "/wsman":
            self._reply(404)
            return
        try:
            user = self._authenticate()
        except auth.Continue as more:
            self._reply(401, headers={"WWW-Authenticate": more.challenge})
            return
        except auth.AuthError as failure:
            if failure.rejected:
                ep.counters.add(auth_failures=1)
            self._reply(401, headers={"WWW-Authenticate": failure.challenge})
            return
        encrypted = auth.is_encrypted(self.headers.get("Content-Type"))
        if encrypted:
            try:
                body = self.ntlm.unwrap(body)
            except auth.BadMessage as exc:
                log.info("%s: 400 for an encrypted message: %s", ep.name, exc)
                self._reply(400)
                return
        if not body:
            self._reply(200)  # pywinrm's empty POST that sets up the encryption context
            return
        try:
            req = wsman.parse_request(body)
            log.info("%s: %s, %d bytes of body (%d bytes on the wire)", ep.name, req.action.rsplit("/", 1)[-1], len(body), length)
        except wsman.BadRequest as exc:
            log.info("%s: 400: %s", ep.name, exc)
            self._reply(400)
            return
        try:
            response = self._wsman(req, user)
        except _Dropped:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except wsman.Fault as fault:
            if fault.subcode == "w:TimedOut":
                ep.counters.add(timeouts=1)
            self._reply(500, fault.body(req.message_id, ep.name.upper()), encrypt=encrypted)
            return
        except Exception as exc:  # a simulator bug: answer loudly, keep serving
            log.exception("%s: %s failed inside the simulator", ep.name, req.action)
            fault = wsman.internal_error()
            fault.reason = "ecs-windows-sim internal error (a simulator bug): %s: %s" % (type(exc).__name__, exc)
            self._reply(500, fault.body(req.message_id, ep.name.upper()), encrypt=encrypted)
            return
        self._reply(200, response, encrypt=encrypted)

    def _authenticate(self) -> str:
        creds = self.endpoint.config.credentials
        if self.endpoint.config.auth == "basic":
            return auth.check_basic(self.headers.get("Authorization"), creds)
        self.ntlm.step(self.headers.get("Authorization"))
        return self.ntlm.user

    def _wsman(self, req: wsman.Request, user: str) -> bytes:
        ep = self.endpoint
        if ep.faults.take("winrm-500", command=req.action == wsman.ACTION_COMMAND):
            ep.counters.fault_served("winrm-500")
            raise wsman.internal_error()
        if req.action == wsman.ACTION_RECEIVE:
            if ep.faults.take("drop"):
                ep.counters.fault_served("drop")
                raise _Dropped()
            if ep.faults.take("timeout"):
                ep.counters.fault_served("timeout")
                raise wsman.timed_out()
        name = user.rpartition("\\")[2]
        session = {
            "user": name,
            "owner": "%s\\%s" % (ep.name.upper(), name),
            "endpoint": ep.url,
            "client_ip": self.client_address[0],
        }
        response = ep.winrs.handle(req, session)
        if req.action == wsman.ACTION_CREATE:
            ep.counters.add(shells_created=1)
        return response


class Simulator:
    """All endpoints of one `serve` process."""

    def __init__(self, config: Config):
        self.config = config
        self.endpoints: dict[str, Endpoint] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._calls: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="acceptor", daemon=True)
        self._rebooting: dict[str, threading.Timer] = {}
        self._shutdowns: dict[str, threading.Timer] = {}  # shutdown.exe /r /t N waiting for its N seconds
        self._lock = threading.Lock()

    # --- listeners --------------------------------------------------------------------------------

    def add_host(self, host, port: int) -> Endpoint:
        """Bind the host's listener now (OSError if the port is taken); served once start() runs."""
        endpoint = Endpoint(host, port, self.config)
        endpoint.open_listener(port)
        self.endpoints[host.name] = endpoint
        host.on_shutdown = lambda delay, downtime: self.schedule_reboot(host.name, delay, downtime)
        host.on_abort = lambda: self.cancel_scheduled_reboot(host.name)
        self._selector.register(endpoint.listener, selectors.EVENT_READ, endpoint)
        return endpoint

    def start(self) -> None:
        self._thread.start()

    def _in_acceptor(self, func) -> None:
        """Run func in the acceptor thread (the only one touching the selector) and wait for it."""
        done = threading.Event()
        box = {}

        def call():
            try:
                func()
            except BaseException as exc:  # handed back to the caller
                box["error"] = exc
            finally:
                done.set()

        if not self._thread.is_alive():
            call()
        else:
            self._calls.put(call)
            os.write(self._wake_w, b"x")
            done.wait()
        if "error" in box:
            raise box["error"]

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            for key, _events in self._selector.select(timeout=1.0):
                if key.data is None:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    while not self._calls.empty():
                        self._calls.get_nowait()()
                    continue
                endpoint = key.data
                try:
                    sock, address = endpoint.listener.accept()
                except (BlockingIOError, OSError):
                    continue
                threading.Thread(target=self._serve_connection, args=(endpoint, sock, address), daemon=True,
                                 name="%s-conn" % endpoint.name).start()

    def _serve_connection(self, endpoint: Endpoint, sock: socket.socket, address) -> None:
        sock.setblocking(True)
        sock.settimeout(IDLE_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.config.ssl_context is not None:
            try:
                sock = self.config.ssl_context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("%s: TLS handshake failed: %s", endpoint.name, exc)
                sock.close()
                return
        endpoint.track(sock, True)
        endpoint.counters.add(connections=1)
        try:
            Handler(sock, address, endpoint)
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass
        finally:
            endpoint.track(sock, False)
            try:
                sock.close()
            except OSError:
                pass

    # --- control ----------------------------------------------------------------------------------

    def endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise SimError("unknown host %r (this simulator serves: %s)" % (name, _name_list(self.endpoints))) from None

    def reboot(self, name: str, downtime: float) -> dict:
        """Refuse connections for `downtime` seconds, drop every shell, boot the host model, listen again."""
        endpoint = self.endpoint(name)
        if downtime < 0:
            raise SimError("--downtime must be 0 or more seconds, got %s" % downtime)
        with self._lock:
            if name in self._rebooting:
                raise SimError("host %s is already rebooting" % name)
            pending = self._shutdowns.pop(name, None)
            if pending is not None:
                pending.cancel()  # a `ctl reboot` while shutdown.exe's delay runs: this reboot replaces it

            def close():
                self._selector.unregister(endpoint.listener)
                endpoint.listener.close()
                endpoint.listener = None
                endpoint.status = "rebooting"

            self._in_acceptor(close)
            endpoint.drop_connections()
            endpoint.winrs.drop_all()
            timer = threading.Timer(downtime, self._finish_reboot, args=(endpoint,))
            timer.daemon = True
            self._rebooting[name] = timer
        timer.start()
        return {"host": name, "status": "rebooting", "downtime": downtime}

    def schedule_reboot(self, name: str, delay: float, downtime: float) -> None:
        """What shutdown.exe /r /t <delay> leads to: the host reboots (as `reboot`) after delay seconds."""
        def fire():
            with self._lock:
                self._shutdowns.pop(name, None)
            try:
                self.reboot(name, downtime)
            except SimError as exc:  # already rebooting (a `ctl reboot` meanwhile): that reboot is this one
                log.info("%s: scheduled reboot skipped: %s", name, exc)

        timer = threading.Timer(max(0.0, delay), fire)
        timer.daemon = True
        with self._lock:
            old = self._shutdowns.pop(name, None)
            self._shutdowns[name] = timer
        if old is not None:
            old.cancel()
        timer.start()

    def cancel_scheduled_reboot(self, name: str) -> None:
        with self._lock:
            timer = self._shutdowns.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _finish_reboot(self, endpoint: Endpoint) -> None:
        try:
            endpoint.host.reboot(run_startup_tasks=False)
            endpoint.winrs.drop_all()

            def reopen():
                endpoint.open_listener(endpoint.port)
                self._selector.register(endpoint.listener, selectors.EVENT_READ, endpoint)

            if not self._stopping.is_set():
                # Task Scheduler runs the startup tasks while the rest of Windows (WinRM included) comes up; they count
                # as running from before WinRM listens, so that `counters` never shows the host up with tasks to come.
                endpoint.host.boot_tasks_running.set()
                self._in_acceptor(reopen)
                endpoint.host.start_startup_tasks()
        except Exception:
            log.exception("%s: reboot failed; the host stays down", endpoint.name)
            endpoint.status = "down"
        finally:
            with self._lock:
                self._rebooting.pop(endpoint.name, None)

    def fault(
        self,
        name: str,
        kind: str,
        count: int | None,
        ms: int | None,
        container: str | None = None,
        after_commands: int | None = None,
    ) -> dict:
        endpoint = self.endpoint(name)
        if count is not None and count < 0:
            raise SimError("--count must be 0 or more, got %d" % count)
        if after_commands is not None and (after_commands < 0 or kind != "winrm-500"):
            raise SimError("--after-commands takes 0 or more, and applies only to winrm-500")
        if kind == "latency":
            if ms is None or ms < 0:
                raise SimError("fault latency needs --ms MS (milliseconds added to each request; --ms 0 clears it)")
            endpoint.faults.add(kind, count, ms)
        elif kind in PROTOCOL_FAULTS:
            if ms is not None:
                raise SimError("--ms applies only to the latency fault")
            endpoint.faults.add(kind, 1 if count is None else count, None, after_commands)
        else:
            host_kinds = sorted(endpoint.host.HOST_FAULTS)
            if kind not in endpoint.host.HOST_FAULTS:
                raise SimError("unknown fault kind %r (known: %s)" % (kind, ", ".join(list(PROTOCOL_FAULTS) + host_kinds)))
            if ms is not None:
                raise SimError("--ms applies only to the latency fault")
            try:
                with endpoint.host.lock:
                    endpoint.host.inject_fault(kind, 1 if count is None else count, container)
            except ValueError as exc:
                raise SimError(str(exc)) from None
        return {"host": name, "fault": kind, "pending": self._pending(endpoint)}

    def _pending(self, endpoint: Endpoint) -> dict:
        pending = endpoint.faults.snapshot()
        with endpoint.host.lock:
            pending.update(endpoint.host.snapshot().get("pending_faults", {}))
        return pending

    def state(self, name: str) -> dict:
        endpoint = self.endpoint(name)
        with endpoint.host.lock:
            return endpoint.host.snapshot()

    def apply_settings(self, name: str, pairs: list[str]) -> dict:
        endpoint = self.endpoint(name)
        applied = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise SimError("setting %r is not KEY=VALUE" % pair)
            try:
                with endpoint.host.lock:
                    endpoint.host.apply_setting(key, value)
            except ValueError as exc:
                done = (" (already applied: %s)" % ", ".join("%s=%s" % kv for kv in applied.items())) if applied else ""
                raise SimError("%s: %s%s" % (name, exc, done)) from None
            applied[key] = value
        return {"host": name, "applied": applied}

    def counters(self, name: str | None, reset: bool) -> dict:
        names = [self.endpoint(name).name] if name else list(self.endpoints)
        result = {}
        for host_name in names:
            endpoint = self.endpoints[host_name]
            values = endpoint.counters.reset() if reset else endpoint.counters.snapshot()
            values.update(port=endpoint.port, status=endpoint.status, shells_open=endpoint.winrs.shell_count(),
                          boot_tasks_running=endpoint.host.boot_tasks_running.is_set())
            result[host_name] = values
        if name:
            return result[name]
        total = {key: sum(v[key] for v in result.values()) for key in Counters.FIELDS}
        total["command_kinds"] = {}
        for values in result.values():
            for kind, count in values["command_kinds"].items():
                total["command_kinds"][kind] = total["command_kinds"].get(kind, 0) + count
        return {"hosts": result, "total": total}

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for timer in list(self._rebooting.values()) + list(self._shutdowns.values()):
                timer.cancel()
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for endpoint in self.endpoints.values():
            if endpoint.listener is not None:
                endpoint.listener.close()
                endpoint.listener = None
            endpoint.status = "down"
            endpoint.drop_connections()


def _name_list(names) -> str:
    names = sorted(names)
    return ", ".join(names) if len(names) <= 6 else "%s ... %s (%d hosts)" % (names[0], names[-1], len(names))
