# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ECS calls the collection made, from moto's request recording: those whose User-Agent carries Ansible's
(amazon.aws adds "Ansible/<version> amazon.aws/<version>"), so that the simulator's own calls (its agents register
and re-register after a reboot, as real agents do) are not counted."""

from __future__ import annotations

import base64
import json
import urllib.request

from aws_moto import MUTATING_PREFIXES


def collection_calls(moto):
    """[(action, request body)] of the ECS calls Ansible made since the last reset_recording, in order."""
    text = urllib.request.urlopen(moto.url + "/moto-api/recorder/download-recording", timeout=10).read().decode()
    calls = []
    for line in filter(None, text.splitlines()):
        entry = json.loads(line)
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        if "x-amz-target" not in headers or "Ansible/" not in headers.get("user-agent", ""):
            continue
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        calls.append((headers["x-amz-target"].rsplit(".", 1)[-1], json.loads(body) if body else {}))
    return calls


def mutating(calls):
    return [action for action, dummy in calls if action.startswith(MUTATING_PREFIXES)]


def actions(calls):
    return [action for action, dummy in calls]
