"""wait_registered: poll the agent's /v1/metadata for the cluster's ContainerInstanceArn.

The model's agent registers at start, so the state cannot change while waiting: the emulation answers at
once and reports `timeout_s` as waited when not registered (no real sleeping).
"""

from __future__ import annotations

from .. import endpoints


def wait(state: dict, cluster: str, timeout_s: int) -> dict:
    reg = endpoints.registration(state)
    registered = reg["reachable"] and reg["cluster"] == cluster and reg["container_instance_arn"] is not None
    return {"registered": registered, "cluster": reg["cluster"], "container_instance_arn": reg["container_instance_arn"],
            "waited_s": 0 if registered else timeout_s}


def run(state: dict, args: dict) -> dict:
    return wait(state, args["cluster"], args["timeout_s"])
