"""DIR/inventory.yml: a ready Ansible inventory (group `windows_ecs`) for the served hosts."""

from __future__ import annotations

import json
import os
import pathlib

GROUP = "windows_ecs"
# The winrm plugin turns this into OperationTimeout (15 s) and the HTTP read timeout (25 s): a down host is
# refused at once anyway; these only bound a hung request.
CONNECTION_TIMEOUT = 15


def inventory_data(
    endpoints, scheme: str, auth: str, user: str, password: str, listen: str, ca_path: str | None = None
) -> dict:
    """With HTTPS and `ca_path` (the listener's self-signed certificate), the inventory validates the certificate
    against it, as a fleet with its own CA is reached; that is also cheaper for the controller than `ignore`, which
    makes urllib3 load the system's CA store for every connection (docs/benchmarks.md)."""
    hosts = {ep.name: {"ansible_host": listen, "ansible_port": ep.port} for ep in endpoints}
    validation = {"ansible_winrm_server_cert_validation": "ignore"}
    if scheme == "https" and ca_path:
        validation = {"ansible_winrm_server_cert_validation": "validate", "ansible_winrm_ca_trust_path": ca_path}
    group_vars = {
        "ansible_connection": "winrm",
        "ansible_winrm_scheme": scheme,
        "ansible_winrm_transport": auth if auth == "ntlm" else "basic",
        **validation,
        "ansible_winrm_message_encryption": "auto",
        "ansible_winrm_connection_timeout": CONNECTION_TIMEOUT,
        "ansible_user": user,
        "ansible_password": password,
    }
    return {"all": {"children": {GROUP: {"hosts": hosts, "vars": group_vars}}}}


def write_inventory(path: pathlib.Path, data: dict, state_dir: pathlib.Path) -> None:
    """YAML via JSON scalars (valid YAML 1.2), so no YAML library is needed and quoting is exact."""
    lines = [
        "# Written by `ecs-windows-sim serve --state-dir %s`; rewritten on every start." % state_dir,
        "# Control the hosts with `ecs-windows-sim ctl --state-dir %s ...`." % state_dir,
        "all:",
        "  children:",
        "    %s:" % GROUP,
        "      hosts:",
    ]
    group = data["all"]["children"][GROUP]
    for name, host_vars in group["hosts"].items():
        lines.append("        %s:" % json.dumps(name))
        lines.extend("          %s: %s" % (key, json.dumps(value)) for key, value in host_vars.items())
    lines.append("      vars:")
    lines.extend("        %s: %s" % (key, json.dumps(value)) for key, value in group["vars"].items())
    tmp = path.with_suffix(".yml.tmp")
    # It holds the WinRM password: owner-only.
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    tmp.replace(path)
