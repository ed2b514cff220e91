# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host situations for the planner tests, built on probe_data and checked against the probe result schema."""

from __future__ import annotations

import copy

import jsonschema

import probe_data as pd

from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _env

PROBE_SCHEMA = _contract.schema("probe", "result")
_VALIDATOR = jsonschema.Draft202012Validator(PROBE_SCHEMA)
REFUSED = "Unable to connect to the remote server"
CLOSED = "The underlying connection was closed: An unexpected error occurred on a receive."
UNREACHABLE = "A socket operation was attempted to an unreachable network. 169.254.170.2:80"


def _endpoint(ok=False, status=None, code=None, error=None):
    return {"ok": ok, "status": status, "code": code, "error": error}


def valid(facts):
    _VALIDATOR.validate(facts)
    return facts


def ops(plan):
    """The op names of a plan's apply batch, in order."""
    return [op for op, _args in plan.calls]


def call(plan, name):
    """The arguments of the one call of op `name` in a plan."""
    found = [a for op, a in plan.calls if op == name]
    assert len(found) == 1, plan.calls
    return found[0]


def fresh():
    return valid(pd.fresh())


def host_env(facts, **env):
    """`facts` with Machine variables as the probe reports them: masked on the host, with the salted hash of each
    masked value (the masking rule is one: _env.mask, held equal to the host's by tests/unit/test_env.py)."""
    facts = copy.deepcopy(facts)
    for name, value in env.items():
        shown = _env.mask(name, value)
        facts["machine_env"][name] = shown
        if shown != value:
            facts["machine_env_hashes"][name] = _env.value_hash(facts["salt"], value)
    return facts


def configured(**env):
    """Configured for cluster `windows` with task IAM roles; restart on failure on; healthy."""
    return valid(host_env(pd.configured(), **env))


def stale():
    return valid(pd.rebooted_stale())


def dead_rule(facts=None):
    facts = copy.deepcopy(facts or pd.configured())
    facts["endpoints"]["proxy"] = _endpoint(error=CLOSED)
    return valid(facts)


def agent_stopped(facts=None, start_type="Automatic"):
    facts = copy.deepcopy(facts or pd.configured())
    facts["services"]["AmazonECS"].update(status="Stopped", start_type=start_type)
    facts["registration"] = {"reachable": False, "cluster": None, "container_instance_arn": None, "version": None, "error": REFUSED}
    facts["endpoints"]["agent_tmds"] = _endpoint(error=REFUSED)
    facts["endpoints"]["proxy"] = _endpoint(error=CLOSED)
    return valid(facts)


def with_iis(facts=None):
    facts = copy.deepcopy(facts or pd.configured())
    facts["services"]["W3SVC"] = {"status": "Running", "start_type": "Automatic", "failure_restart": False}
    facts["port80_listeners"].append(dict(pd.IIS_LISTENER))
    facts["endpoints"]["proxy"] = _endpoint(False, 404, None, None) if facts["proxy"]["ip_bindings"] else _endpoint(error=UNREACHABLE)
    return valid(facts)


def with_excluded(facts=None, start=51667, end=51766):
    """51679 (and 51678) inside an excluded range: the agent runs but cannot listen on 51679."""
    facts = copy.deepcopy(facts or pd.configured())
    facts["excluded_port_ranges"].append({"start": start, "end": end, "administered": False})
    facts["endpoints"]["agent_tmds"] = _endpoint(error=REFUSED)
    facts["endpoints"]["proxy"] = _endpoint(error=CLOSED if facts["proxy"]["ip_bindings"] else UNREACHABLE)
    return valid(facts)


def with_duplicate_nat(facts=None):
    facts = copy.deepcopy(facts or pd.fresh())
    facts["nat_adapters"] += [{"name": "vEthernet (nat) 2", "interface_index": 17, "status": "Disconnected"},
                              {"name": "vEthernet (nat) 3", "interface_index": 21, "status": "Up"}]
    return valid(facts)


def with_containers(facts, *containers):
    facts = copy.deepcopy(facts)
    facts["container_detail"] = "routes"
    facts["containers"] = list(containers)
    return valid(facts)


def container(name, network_mode="nat", shell="powershell", family="web-task", routes=None, gateway="172.29.80.1", cid=None):
    """A running container; `routes` are destinations via its gateway besides the default route."""
    entry = pd.container(name=name, network_mode=network_mode, routes=False, container_id=cid)
    entry.update(shell=shell, gateway=gateway, task_family=family)
    entry["routes"] = [{"destination": "0.0.0.0/0", "next_hop": gateway}] + [
        {"destination": d, "next_hop": gateway} for d in (routes or [])]
    return entry
