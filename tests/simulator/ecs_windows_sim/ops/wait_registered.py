"""wait_registered: poll the agent's /v1/metadata for the cluster's ContainerInstanceArn for one round of at most
timeout_s, in real time (the registration-delay setting makes the agent register late)."""

from __future__ import annotations

import time

from .. import endpoints


def wait(state: dict, cluster: str, timeout_s: int, interval_s: int = 2) -> dict:
    started = time.monotonic()
    while True:
        reg = endpoints.registration(state)
        registered = reg["reachable"] and reg["cluster"] == cluster and reg["container_instance_arn"] is not None
        waited = time.monotonic() - started
        if registered or waited >= timeout_s:
            break
        time.sleep(min(interval_s, timeout_s - waited))
    return {"registered": registered, "cluster": reg["cluster"], "container_instance_arn": reg["container_instance_arn"],
            "waited_s": round(time.monotonic() - started, 1)}


def run(state: dict, args: dict) -> dict:
    return wait(state, args["cluster"], args["timeout_s"], args["interval_s"])
