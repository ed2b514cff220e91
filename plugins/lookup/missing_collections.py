# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: missing_collections
short_description: Which collections that ecs_windows.task_iam needs are not installed, with what to install
version_added: 0.1.0
author:
  - ecs_windows.task_iam contributors (@ecs-windows)
description:
  - For each collection name, looks the collection up the way Ansible does (the configured collection paths,
    C(ANSIBLE_COLLECTIONS_PATH), the collections of the C(ansible) package, a C(collections/) directory beside the
    playbook) and returns one message when it is missing or older than the version range this collection declares
    for it in its C(galaxy.yml) / C(MANIFEST.json) dependencies. Each message names the collection, the range and
    the command that installs it. An empty list means everything is there.
  - A version newer than the declared range is not a problem (it is newer than what was tested); it gets a warning.
  - Use it in a task before the first task that needs the collection, in a separate task file (C(include_tasks))
    from the tasks that use the collection's modules or action groups, because Ansible resolves those when it
    loads a task file and fails there with a message that does not say what to install.
options:
  _terms:
    description:
      - Collection names (C(amazon.aws)), or C(name:range) (C(amazon.aws:>=8.2.1)) to check a range of your own.
    type: list
    elements: str
    required: true
  needed_by:
    description: What needs the collections, for the message (for example C(the task_role role)).
    type: str
    default: ecs_windows.task_iam
"""

EXAMPLES = r"""
- name: Check that the AWS collections are installed
  ansible.builtin.assert:
    that: missing | length == 0
    fail_msg: "{{ missing | join('; ') }}"
    quiet: true
  vars:
    missing: "{{ query('ecs_windows.task_iam.missing_collections', 'amazon.aws', needed_by='the task_role role') }}"

- name: The tasks that use amazon.aws modules, loaded only after the check
  ansible.builtin.include_tasks: aws.yml
"""

RETURN = r"""
_raw:
  description: One message per missing or too old collection; empty when all are installed.
  type: list
  elements: str
"""

import importlib
import json
import os
from typing import Any

import yaml
from ansible.errors import AnsibleLookupError
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

SELF = "ecs_windows.task_iam"
display = Display()


def collection_dir(name: str) -> str | None:
    """Directory of the installed collection NAME as Ansible's collection loader resolves it, or None."""
    try:
        package = importlib.import_module("ansible_collections." + name)
    except ImportError:
        return None
    location = getattr(package, "__file__", None)
    return os.path.dirname(location) if location else None


def collection_info(path: str) -> dict:
    """version and dependencies of the collection in PATH (MANIFEST.json when installed, galaxy.yml in a checkout)."""
    manifest = os.path.join(path, "MANIFEST.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            return json.load(handle).get("collection_info") or {}
    galaxy = os.path.join(path, "galaxy.yml")
    if os.path.isfile(galaxy):
        with open(galaxy, encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}
    return {}


def install_hint(name: str, wanted: str) -> str:
    spec = name if wanted in ("", "*") else "%s:%s" % (name, wanted)
    return "ansible-galaxy collection install '%s' (or pip install ansible, which includes %s)" % (spec, name)


def problem(name: str, wanted: str, needed_by: str) -> str | None:
    """The message for NAME when it is missing or older than WANTED, else None."""
    needs = "%s needs the collection %s%s" % (needed_by, name, "" if wanted in ("", "*") else " " + wanted)
    path = collection_dir(name)
    if path is None:
        return "%s, which is not installed: %s" % (needs, install_hint(name, wanted))
    version = str(collection_info(path).get("version") or "*")
    if version == "*" or wanted in ("", "*") or meets_requirements(version, wanted):
        return None
    floor = ",".join(part for part in wanted.split(",") if part.strip().startswith(">"))
    if floor and not meets_requirements(version, floor):
        return "%s, but %s is version %s: %s" % (
            needs,
            path,
            version,
            install_hint(name, wanted).replace("install '", "install --upgrade '", 1),
        )
    display.warning(
        "%s %s (%s) is newer than the versions %s was tested with (%s)" % (name, version, path, SELF, wanted)
    )
    return None


class LookupModule(LookupBase):
    def run(self, terms: list, variables: dict | None = None, **kwargs: Any) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        needed_by = self.get_option("needed_by")
        own = collection_dir(SELF)
        declared = (collection_info(own).get("dependencies") or {}) if own else {}
        messages = []
        for term in terms:
            name, sep, wanted = str(term).partition(":")
            if name.count(".") != 1 or not all(name.split(".")):
                raise AnsibleLookupError("missing_collections: %r is not a collection name (namespace.name)" % term)
            messages.append(problem(name, wanted.strip() if sep else str(declared.get(name, "*")), needed_by))
        return [message for message in messages if message]
