"""The control channel of a running `serve`: a Unix socket `<state-dir>/control.sock`, one JSON
request line in, one JSON response line out: {"ok": true, "result": ...} or {"ok": false, "error": "..."}.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import socket
import socketserver
import threading

log = logging.getLogger(__name__)
SOCKET_NAME = "control.sock"


class SimError(Exception):
    """A request that cannot be done (unknown host, bad fault kind, ...): the message is for the user."""


class NotRunning(Exception):
    """No server answers on the state dir's control socket."""


def socket_path(state_dir: pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(state_dir).resolve() / SOCKET_NAME
    if len(str(path).encode()) > 100:
        raise SimError("state dir path too long for a Unix socket (%s); use a shorter --state-dir" % path)
    return path


def handle(sim, request: dict, on_stop) -> object:
    verb = request.get("verb")
    host = request.get("host")
    if verb == "reboot":
        return sim.reboot(host, float(request.get("downtime", 3.0)))
    if verb == "fault":
        return sim.fault(host, request["kind"], request.get("count"), request.get("ms"), request.get("container"),
                         request.get("after_commands"))
    if verb == "state":
        return sim.state(host)
    if verb == "counters":
        return sim.counters(host, bool(request.get("reset")))
    if verb == "set":
        return sim.apply_settings(host, list(request.get("pairs") or []))
    if verb == "stop":
        on_stop()
        return {"stopping": True}
    if verb == "ping":
        return {"pid": os.getpid(), "hosts": {name: ep.port for name, ep in sim.endpoints.items()}}
    raise SimError("unknown control verb %r" % verb)


class ControlServer:
    def __init__(self, sim, state_dir: pathlib.Path, on_stop):
        self.path = socket_path(state_dir)
        if self.path.exists():
            try:
                call(state_dir, {"verb": "ping"})
            except NotRunning:
                self.path.unlink()
            else:
                raise SimError("another ecs-windows-sim is already serving state dir %s (stop it: ecs-windows-sim ctl --state-dir %s stop)"
                               % (state_dir, state_dir))

        class RequestHandler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    request = json.loads(self.rfile.readline())
                    reply = {"ok": True, "result": handle(sim, request, on_stop)}
                except SimError as exc:
                    reply = {"ok": False, "error": str(exc)}
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False, "error": "bad control request: %s" % exc}
                except Exception as exc:  # a simulator bug: report it, keep serving
                    log.exception("control request failed")
                    reply = {"ok": False, "error": "internal error: %s: %s" % (type(exc).__name__, exc)}
                self.wfile.write((json.dumps(reply) + "\n").encode("utf-8"))

        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), RequestHandler)
        self._server.daemon_threads = True
        self.path.chmod(0o600)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="control")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def call(state_dir: pathlib.Path, request: dict, timeout: float = 60.0) -> object:
    """Send one request to the server of `state_dir`; NotRunning or SimError (its error message)."""
    path = socket_path(state_dir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning("no ecs-windows-sim is serving state dir %s (no live %s); start it with: "
                             "ecs-windows-sim serve --state-dir %s" % (state_dir, path, state_dir)) from None
        data = b""
        try:
            sock.sendall((json.dumps(request) + "\n").encode("utf-8"))
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (BrokenPipeError, ConnectionResetError):
            data = b""
    finally:
        sock.close()
    if not data:
        raise NotRunning("the ecs-windows-sim serving %s closed the control connection without answering" % state_dir)
    reply = json.loads(data)
    if not reply.get("ok"):
        raise SimError(reply.get("error", "unknown error"))
    return reply["result"]
