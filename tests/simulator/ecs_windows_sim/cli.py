"""ecs-windows-sim: serve simulated Windows ECS container instances over WinRM, and control them.

    ecs-windows-sim serve --state-dir DIR --hosts N [--preset NAME] [--scheme http|https] [--auth basic|ntlm]
                          [--user U --password P] [--base-port P] [--listen 127.0.0.1] [--background]
                          [--ecs-endpoint URL [--ecs-region R]]
    ecs-windows-sim ctl --state-dir DIR reboot HOST [--downtime S]
    ecs-windows-sim ctl --state-dir DIR fault HOST KIND [--count N] [--ms MS] [--container NAME]
    ecs-windows-sim ctl --state-dir DIR state HOST
    ecs-windows-sim ctl --state-dir DIR counters [HOST] [--reset]
    ecs-windows-sim ctl --state-dir DIR set HOST KEY=VALUE...
    ecs-windows-sim ctl --state-dir DIR stop
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import pathlib
import select
import signal
import subprocess
import sys
import threading
import time

from ecs_windows_sim import control
from ecs_windows_sim.control import SimError
from ecs_windows_sim.presets import DEFAULT_PRESET, PRESETS

DEFAULT_USER = "Administrator"
DEFAULT_PASSWORD = "Sim-Passw0rd!"
SERVER_FILE = "server.json"
LOG_FILE = "server.log"
PID_FILE = "server.pid"
READY_TIMEOUT = 120


def host_name(index: int) -> str:
    return "ecs-sim-%03d" % index


# --- serve -------------------------------------------------------------------------------------------

def check_loopback(address: str) -> str:
    """The address to bind; SimError for anything that is not a loopback address."""
    if address == "localhost":
        address = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise SimError("--listen %r is not an IP address; use a loopback address such as 127.0.0.1 or ::1" % address) from None
    if not ip.is_loopback:
        raise SimError(
            "refusing to listen on %s: the simulator accepts well-known test credentials and binds loopback "
            "addresses only (127.0.0.0/8 or ::1)" % address
        )
    return address


def _saved_ports(state_dir: pathlib.Path) -> dict:
    try:
        return {h["name"]: h["port"] for h in json.loads((state_dir / SERVER_FILE).read_text())["hosts"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _preset_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",")]
    unknown = [name for name in names if name not in PRESETS]
    if unknown:
        raise argparse.ArgumentTypeError("unknown preset %s (known: %s)" % (", ".join(repr(n) for n in unknown), ", ".join(PRESETS)))
    return names


def _load_or_create(name: str, state_dir: pathlib.Path, preset: str):
    from ecs_windows_sim.host import Host

    if (state_dir / "hosts" / ("%s.json" % name)).is_file():
        return Host.load(name, state_dir)
    return Host.create(name, state_dir, preset)


def _bind_hosts(sim, args, state_dir: pathlib.Path) -> None:
    saved = _saved_ports(state_dir)
    for index in range(1, args.hosts + 1):
        name = host_name(index)
        host = _load_or_create(name, state_dir, args.preset[(index - 1) % len(args.preset)])
        if args.base_port:
            port = args.base_port + index - 1
            try:
                sim.add_host(host, port)
            except OSError as exc:
                raise SimError("cannot listen on %s:%d for %s: %s (choose another --base-port, or 0 for free ports)"
                               % (args.listen, port, name, exc.strerror or exc)) from None
            continue
        try:
            sim.add_host(host, saved.get(name, 0))
        except OSError:  # the port it had last time is taken now: take any free one
            sim.add_host(host, 0)


def _setup_ecs(sim, args) -> dict | None:
    """--ecs-endpoint: every host becomes an EC2 instance of the endpoint (created now, before anything is
    served, outside any host lock) and its agent registers there when it starts (model.ecs_registrar)."""
    if not args.ecs_endpoint:
        return None
    from ecs_windows_sim import ecs_api, model

    region = args.ecs_region or ecs_api.default_region()
    try:
        api = ecs_api.EcsApi(args.ecs_endpoint, region)
    except ImportError:
        raise SimError("--ecs-endpoint needs boto3: pip install 'ecs-windows-sim[ecs]'") from None
    except ValueError as exc:
        raise SimError(str(exc)) from None
    for endpoint in sim.endpoints.values():
        host = endpoint.host
        try:
            ec2 = api.ensure_instance(host.state)
        except ecs_api.EcsError as exc:
            raise SimError("cannot create the EC2 instance of %s through %s: %s" % (host.name, api.endpoint, exc)) from None
        if host.state.get("ec2") != ec2:
            host.state["ec2"] = ec2
            host.save()
    model.ecs_registrar = api.register
    return {"endpoint": api.endpoint, "region": region}


def _config(args, state_dir: pathlib.Path):
    from ecs_windows_sim import auth, tls
    from ecs_windows_sim.server import Config

    listen = check_loopback(args.listen)
    creds = auth.Credentials(args.user, args.password)
    if args.auth == "ntlm":
        auth.write_ntlm_user_file(state_dir / "ntlm_users", creds)
    ssl_context = tls.server_context(state_dir / "tls") if args.scheme == "https" else None
    return Config(scheme=args.scheme, auth=args.auth, credentials=creds, listen=listen, ssl_context=ssl_context)


def serve(args, argv) -> int:
    check_loopback(args.listen)
    if args.ecs_region and not args.ecs_endpoint:
        raise SimError("--ecs-region needs --ecs-endpoint URL")
    if args.ecs_endpoint:
        from ecs_windows_sim.ecs_api import check_endpoint

        try:
            check_endpoint(args.ecs_endpoint)
        except ValueError as exc:
            raise SimError(str(exc)) from None
    state_dir = pathlib.Path(args.state_dir).resolve()
    # The state dir holds the WinRM password (inventory.yml, ntlm_users) and the hosts' Machine environments: everything
    # the server creates there is the owner's only (umask), whatever the caller's umask.
    os.umask(0o077)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    if args.background:
        return _background(state_dir, argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ecs_windows_sim import inventory, opscript
    from ecs_windows_sim.server import Simulator

    stop = threading.Event()
    config = _config(args, state_dir)
    opscript.contract()  # read and compile the op contract once, before requests race to do it
    sim = Simulator(config)
    control_server = control.ControlServer(sim, state_dir, on_stop=stop.set)
    try:
        _bind_hosts(sim, args, state_dir)
        ecs = _setup_ecs(sim, args)
    except BaseException:
        control_server.close()
        sim.stop()
        raise
    endpoints = list(sim.endpoints.values())
    (state_dir / SERVER_FILE).write_text(json.dumps({
        "scheme": args.scheme, "auth": args.auth, "listen": config.listen, "user": args.user,
        "hosts": [{"name": ep.name, "port": ep.port} for ep in endpoints], "ecs": ecs,
    }, indent=1) + "\n")
    inventory_path = state_dir / "inventory.yml"
    inventory.write_inventory(inventory_path, inventory.inventory_data(
        endpoints, args.scheme, args.auth, args.user, args.password, config.listen,
        _ca_path(state_dir, args.scheme)), state_dir)
    (state_dir / PID_FILE).write_text("%d\n" % os.getpid())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sim.start()
    control_server.start()
    print("ecs-windows-sim ready: %d hosts (%s..%s) on %s, %s/%s, inventory %s, pid %d" % (
        len(endpoints), endpoints[0].name, endpoints[-1].name, config.listen, args.scheme, args.auth, inventory_path,
        os.getpid()), flush=True)
    if args.detached:
        log_fd = os.open(state_dir / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(log_fd, sys.stdout.fileno())
        os.close(log_fd)
    while not stop.wait(1.0):
        pass
    control_server.close()
    sim.stop()
    try:
        (state_dir / PID_FILE).unlink()
    except FileNotFoundError:
        pass
    return 0


def _background(state_dir: pathlib.Path, argv: list[str]) -> int:
    """Start `serve` detached, wait for its ready line, print it and return."""
    child_args = [a for a in argv if a != "--background"] + ["--detached"]
    log_path = state_dir / LOG_FILE
    with open(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log_file:
        log_start = log_file.tell()
        proc = subprocess.Popen([sys.executable, "-m", "ecs_windows_sim.cli"] + child_args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=log_file, start_new_session=True, close_fds=True)
    ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
    line = proc.stdout.readline().decode("utf-8", errors="replace").strip() if ready else ""
    proc.stdout.close()
    if line.startswith("ecs-windows-sim ready"):
        print(line, flush=True)
        return 0
    if proc.poll() is None:
        proc.terminate()
    with open(log_path, "rb") as log_file:
        log_file.seek(log_start)
        tail = log_file.read().decode("utf-8", errors="replace").strip().splitlines()[-15:]
    print("ecs-windows-sim: the background server did not become ready (log %s):\n%s" % (log_path, "\n".join(tail)),
          file=sys.stderr)
    return 1


# --- ctl ---------------------------------------------------------------------------------------------

def ctl(args, argv) -> int:
    state_dir = pathlib.Path(args.state_dir)
    request = {"verb": args.verb, "host": getattr(args, "host", None)}
    if args.verb == "reboot":
        request["downtime"] = args.downtime
    elif args.verb == "fault":
        request.update(kind=args.kind, count=args.count, ms=args.ms, container=args.container,
                       after_commands=args.after_commands)
    elif args.verb == "counters":
        request["reset"] = args.reset
    elif args.verb == "set":
        request["pairs"] = args.pairs
    result = control.call(state_dir, request)
    if args.verb == "stop":
        _wait_stopped(state_dir)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def _ca_path(state_dir: pathlib.Path, scheme: str) -> str | None:
    """The listener's certificate, which the inventory validates against (HTTPS only)."""
    if scheme != "https":
        return None
    from ecs_windows_sim import tls

    return str(tls.ensure_certificate(state_dir / "tls")[0])


def _wait_stopped(state_dir: pathlib.Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            control.call(state_dir, {"verb": "ping"}, timeout=2.0)
        except control.NotRunning:
            return
        except SimError:
            pass
        time.sleep(0.1)
    raise SimError("the server of %s did not stop within %d s" % (state_dir, timeout))


# --- parser ------------------------------------------------------------------------------------------

def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more, got %s" % value)
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError("must be a TCP port (0 = free ports chosen automatically), got %s" % value)
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecs-windows-sim", description=__doc__.split("\n", 1)[0])
    verbs = parser.add_subparsers(dest="command", required=True)

    s = verbs.add_parser("serve", help="serve N simulated hosts (one loopback port each) until SIGTERM/SIGINT or `ctl stop`")
    s.add_argument("--state-dir", required=True, help="hosts' persisted state, TLS certificate, inventory.yml, control socket")
    s.add_argument("--hosts", type=_positive, default=1, help="number of hosts, named ecs-sim-001, ecs-sim-002, ...")
    s.add_argument("--preset", type=_preset_list, default=[DEFAULT_PRESET], metavar="NAME[,NAME...]",
                   help="state of new hosts (existing hosts keep theirs): %s; a list is a mixed fleet, host N gets "
                   "the Nth name, round robin" % ", ".join(PRESETS))
    s.add_argument("--scheme", choices=("http", "https"), default="https")
    s.add_argument("--auth", choices=("basic", "ntlm"), default="ntlm", help="ntlm over http uses message encryption")
    s.add_argument("--user", default=DEFAULT_USER)
    s.add_argument("--password", default=DEFAULT_PASSWORD)
    s.add_argument("--base-port", type=_port, default=0,
                   help="first host's port, the next host +1, ...; 0 (default) = free ports, reusing last run's when free")
    s.add_argument("--listen", default="127.0.0.1", help="loopback address to bind (127.0.0.0/8 or ::1)")
    s.add_argument("--background", action="store_true", help="daemonise: wait until ready, print the ready line, exit 0")
    s.add_argument("--ecs-endpoint", metavar="URL", help="an ECS/EC2 emulation on loopback (a moto server): each host "
                   "is an EC2 instance there and its agent registers a container instance")
    s.add_argument("--ecs-region", metavar="R", help="region of --ecs-endpoint (default: $AWS_REGION, "
                   "$AWS_DEFAULT_REGION or us-east-1)")
    s.add_argument("--verbose", action="store_true", help="log connections and requests to stderr")
    s.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)
    s.set_defaults(func=serve)

    c = verbs.add_parser("ctl", help="control a running serve")
    c.add_argument("--state-dir", required=True)
    c.set_defaults(func=ctl)
    cv = c.add_subparsers(dest="verb", required=True)
    r = cv.add_parser("reboot", help="reboot HOST: WinRM refuses connections for --downtime seconds; returns at once")
    r.add_argument("host")
    r.add_argument("--downtime", type=float, default=3.0)
    f = cv.add_parser("fault", help="inject a fault: winrm-500, timeout, drop, latency (--ms), or a host fault")
    f.add_argument("host")
    f.add_argument("kind")
    f.add_argument("--count", type=int, default=None, help="how many requests/Receives/attempts (default 1; latency: all)")
    f.add_argument("--ms", type=int, default=None, help="latency added per request, in milliseconds (0 clears)")
    f.add_argument("--container", default=None, help="docker-hang: only this container (by name) stops answering")
    f.add_argument("--after-commands", type=int, default=None,
                   help="winrm-500: let this many commands through, then fail the next command (an apply, not a probe)")
    st = cv.add_parser("state", help="JSON of the host model")
    st.add_argument("host")
    co = cv.add_parser("counters", help="JSON: HTTP requests, commands, bytes in/out, auth failures per host")
    co.add_argument("host", nargs="?")
    co.add_argument("--reset", action="store_true", help="zero the counters (prints their values before)")
    se = cv.add_parser("set", help="scenario setup, e.g. iis=on excluded-port=51679 duplicate-nat=on containers=2")
    se.add_argument("host")
    se.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    cv.add_parser("stop", help="stop the server cleanly")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, argv)
    except (SimError, control.NotRunning) as exc:
        print("ecs-windows-sim: error: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
