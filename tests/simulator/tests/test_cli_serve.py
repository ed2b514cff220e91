"""The `ecs-windows-sim` CLI: serve (inventory, loopback only, background, restart), ctl verbs and errors."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import stat
import subprocess

import pytest

from conftest import SIM_COMMAND


def run(*args, timeout=60):
    return subprocess.run(SIM_COMMAND + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def test_inventory_has_every_connection_variable(sim_factory):
    sim = sim_factory(hosts=3, scheme="http", auth="ntlm")
    assert sim.ready_line.count("\n") == 1 and "3 hosts (ecs-sim-001..ecs-sim-003)" in sim.ready_line
    assert sim.hosts == ["ecs-sim-001", "ecs-sim-002", "ecs-sim-003"]
    assert sim.vars == {
        "ansible_connection": "winrm",
        "ansible_winrm_scheme": "http",
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_server_cert_validation": "ignore",
        "ansible_winrm_message_encryption": "auto",
        "ansible_winrm_connection_timeout": 15,
        "ansible_user": "Administrator",
        "ansible_password": "Sim-Passw0rd!",
    }
    ports = [sim.port(host) for host in sim.hosts]
    assert len(set(ports)) == 3
    hosts = sim.inventory["all"]["children"]["windows_ecs"]["hosts"]
    assert all(hosts[h]["ansible_host"] == "127.0.0.1" for h in sim.hosts)
    assert {h: c["port"] for h, c in sim.ctl("counters")["hosts"].items()} == dict(zip(sim.hosts, ports))


def test_an_https_inventory_validates_the_listeners_certificate(sim_factory):
    sim = sim_factory(hosts=1, scheme="https", auth="ntlm")
    ca = sim.vars["ansible_winrm_ca_trust_path"]
    assert sim.vars["ansible_winrm_server_cert_validation"] == "validate"
    assert ca == str(sim.state_dir / "tls" / "cert.pem")
    # The certificate the listener presents is the one the inventory trusts, valid for the address it names.
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", sim.port("ecs-sim-001"))) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls_socket:
            assert tls_socket.getpeercert()["subject"] == ((("commonName", "ecs-windows-sim"),),)


def test_base_port_custom_credentials_and_busy_port(sim_factory, tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    base = probe.getsockname()[1]
    probe.close()
    sim = sim_factory(hosts=2, scheme="https", auth="basic", extra=["--base-port", str(base), "--user", "ops", "--password", "S3cret!"])
    assert [sim.port(h) for h in sim.hosts] == [base, base + 1]
    assert (sim.vars["ansible_user"], sim.vars["ansible_password"], sim.vars["ansible_winrm_transport"]) == ("ops", "S3cret!", "basic")
    assert sim.session().run_cmd("hostname").status_code == 1  # authenticated, then cmd.exe's "not recognized"
    busy = run("serve", "--state-dir", tmp_path / "other", "--base-port", base)
    assert busy.returncode == 1
    assert "cannot listen on 127.0.0.1:%d for ecs-sim-001" % base in busy.stderr


@pytest.mark.parametrize("address", ["10.0.0.5", "0.0.0.0", "::", "example.org"])
def test_refuses_non_loopback_addresses(tmp_path, address):
    done = run("serve", "--state-dir", tmp_path / "s", "--listen", address)
    assert done.returncode == 1 and done.stdout == ""
    assert "loopback" in done.stderr


def test_ipv6_loopback(sim_factory):
    sim = sim_factory(extra=["--listen", "::1"])
    assert sim.inventory["all"]["children"]["windows_ecs"]["hosts"]["ecs-sim-001"]["ansible_host"] == "::1"
    socket.create_connection(("::1", sim.port()), timeout=2).close()


def test_background_restart_keeps_ports_and_state(tmp_path):
    state = tmp_path / "state"
    started = run("serve", "--state-dir", state, "--hosts", 2, "--background")
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.count("\n") == 1 and started.stdout.startswith("ecs-windows-sim ready: 2 hosts")
        assert stat.S_IMODE((state / "server.log").stat().st_mode) == 0o600
        ports = {h["name"]: h["port"] for h in json.loads((state / "server.json").read_text())["hosts"]}
        cert = (state / "tls" / "cert.pem").read_bytes()
        assert run("ctl", "--state-dir", state, "set", "ecs-sim-002", "iis=on").returncode == 0
        again = run("serve", "--state-dir", state, "--hosts", 2)
        assert again.returncode == 1 and "already serving state dir" in again.stderr
        stopped = run("ctl", "--state-dir", state, "stop")
        assert stopped.returncode == 0 and json.loads(stopped.stdout) == {"stopping": True}
        assert not (state / "control.sock").exists()

        restarted = run("serve", "--state-dir", state, "--hosts", 3, "--background")
        assert restarted.returncode == 0, restarted.stderr
        now = {h["name"]: h["port"] for h in json.loads((state / "server.json").read_text())["hosts"]}
        assert {h: now[h] for h in ports} == ports  # the same ports again (they were free)
        assert len(now) == 3
        assert (state / "tls" / "cert.pem").read_bytes() == cert  # generated once per state dir
        status = json.loads(run("ctl", "--state-dir", state, "state", "ecs-sim-002").stdout)
        assert status["services"]["W3SVC"]["status"] == "Running"  # persisted across the restart
        fresh = json.loads(run("ctl", "--state-dir", state, "state", "ecs-sim-003").stdout)
        assert "W3SVC" not in fresh["services"]
    finally:
        run("ctl", "--state-dir", state, "stop")


def test_sigint_stops_cleanly(sim_factory):
    """SIGTERM is what every fixture teardown sends (and asserts rc 0 for); SIGINT is Ctrl-C."""
    sim = sim_factory()
    port = sim.port()
    sim.proc.send_signal(signal.SIGINT)
    assert sim.proc.wait(timeout=15) == 0
    assert not (sim.state_dir / "control.sock").exists() and not (sim.state_dir / "server.pid").exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_ctl_errors_are_clear(sim_factory, tmp_path):
    down = run("ctl", "--state-dir", tmp_path / "nothing", "counters")
    assert down.returncode == 1 and "no ecs-windows-sim is serving state dir" in down.stderr
    sim = sim_factory(hosts=1)
    unknown_host = sim.ctl_run("state", "ecs-sim-404")
    assert unknown_host.returncode == 1 and "unknown host 'ecs-sim-404' (this simulator serves: ecs-sim-001)" in unknown_host.stderr
    unknown_setting = sim.ctl_run("set", "ecs-sim-001", "iis=on", "colour=blue")
    assert unknown_setting.returncode == 1
    assert "unknown setting 'colour'" in unknown_setting.stderr and "already applied: iis=on" in unknown_setting.stderr
    not_pair = sim.ctl_run("set", "ecs-sim-001", "iis")
    assert not_pair.returncode == 1 and "setting 'iis' is not KEY=VALUE" in not_pair.stderr
    usage = sim.ctl_run("reboot")
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_ctl_state_set_and_counters_reset(sim_factory):
    sim = sim_factory(hosts=2)
    assert sim.ctl("set", "ecs-sim-001", "iis=on", "excluded-port=51679") == {
        "host": "ecs-sim-001", "applied": {"iis": "on", "excluded-port": "51679"}}
    state = sim.ctl("state", "ecs-sim-001")
    assert state["services"]["W3SVC"]["status"] == "Running"
    sim.session().run_cmd("hostname")
    counters = sim.ctl("counters", "ecs-sim-001")
    assert counters["commands"] == 1 and counters["http_requests"] >= 5 and counters["bytes_in"] > 0 and counters["bytes_out"] > 0
    assert counters["command_kinds"] == {"cmd": 1}
    before = sim.ctl("counters", "--reset")
    assert before["total"]["commands"] == 1
    after = sim.ctl("counters")
    assert after["total"]["commands"] == 0 and after["hosts"]["ecs-sim-002"]["http_requests"] == 0


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_dir_files(sim_factory, tmp_path):
    state_dir = tmp_path / "shared"
    state_dir.mkdir(mode=0o755)
    state_dir.chmod(0o755)
    sim = sim_factory(state_dir=state_dir, scheme="https", auth="ntlm")
    assert (sim.state_dir / "tls" / "cert.pem").is_file()
    assert (sim.state_dir / "ntlm_users").read_text().splitlines() == [".:Administrator:Sim-Passw0rd!", ":Administrator:Sim-Passw0rd!"]
    assert (sim.state_dir / "hosts" / "ecs-sim-001.json").is_file()
    assert int((sim.state_dir / "server.pid").read_text()) == sim.proc.pid
    # The WinRM password (inventory.yml, ntlm_users) and the hosts' Machine environments (hosts/) are the owner's
    # only; an existing state dir is made so too.
    assert mode(sim.state_dir) == 0o700
    for name in ("tls", "hosts"):
        assert mode(sim.state_dir / name) == 0o700, name
    for name in ("inventory.yml", "ntlm_users", "tls/key.pem", "hosts/ecs-sim-001.json", "control.sock"):
        assert mode(sim.state_dir / name) == 0o600, name
    sim.ctl("set", "ecs-sim-001", "machine-env:ECS_ENGINE_AUTH_DATA={}")  # saved again: still owner-only
    assert mode(sim.state_dir / "hosts" / "ecs-sim-001.json") == 0o600
