# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The integration scenarios of a version lane (tests/matrix.txt): check them, then run them with pytest.

    python tests/matrix.py LANE [PYTEST ARGS...]     # check, then one pytest run per test tree
    python tests/matrix.py --check LANE              # check only (exit 1 with the reasons)

The check refuses a lane whose entries name a path that does not exist, or that does not run every module
(plugins/modules) and playbook (playbooks/) of the collection. A module or playbook is run by the lane when a listed
test file (or a conftest.py above it) names it as ecs_windows.task_iam.NAME, or when a playbook or role the lane runs
names it. The pytest run then fails (exit 4) before running anything when an entry collects no test.
Runs pytest with this Python (the lane's venv).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
# ECS_MATRIX: another list file (the tests of this tool use it).
MATRIX = pathlib.Path(os.environ.get("ECS_MATRIX") or ROOT / "tests" / "matrix.txt")
PREFIX = "ecs_windows.task_iam."
# Test modules of these trees import their helpers by bare module name: one pytest run each.
TREES = ("tests/simulator/tests", "tests/integration", "tests/unit")


class MatrixError(Exception):
    pass


def read_matrix(path=MATRIX):
    """[(node id, set of lanes)] in file order."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 2:
            raise MatrixError("%s:%d: %r needs a node id and the lanes that run it (or all)" % (path, number, line))
        entries.append((fields[0], set(fields[1:])))
    return entries


def lane_entries(lane, entries):
    return [node for node, lanes in entries if lane in lanes or "all" in lanes]


def tree_of(node):
    path = node.split("::", 1)[0]
    for tree in TREES:
        if path == tree or path.startswith(tree + "/"):
            return tree
    raise MatrixError("%s is not in a test tree (%s)" % (node, ", ".join(TREES)))


def names_in(text):
    return set(re.findall(re.escape(PREFIX) + r"([a-z0-9_]+)\b", text))


def collection_parts(root=ROOT):
    """{'module': {...}, 'playbook': {...}, 'role': {...}} -> {name: text of its files} (modules: no text)."""
    modules = {p.stem: "" for p in (root / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    playbooks = {p.stem: p.read_text(encoding="utf-8") for p in sorted((root / "playbooks").glob("*.y*ml"))}
    roles = {}
    for role in sorted(p for p in (root / "roles").iterdir() if p.is_dir()):
        roles[role.name] = "\n".join(f.read_text(encoding="utf-8") for f in sorted(role.rglob("*.y*ml")))
    return {"module": modules, "playbook": playbooks, "role": roles}


def test_texts(nodes, root=ROOT):
    """The text of every listed test file and of the conftest.py files above it (within tests/)."""
    texts = {}
    for node in nodes:
        path = root / node.split("::", 1)[0]
        files = sorted(path.rglob("test_*.py")) if path.is_dir() else [path]
        for test_file in files:
            texts[test_file] = test_file.read_text(encoding="utf-8")
            for parent in test_file.parents:
                if parent == root / "tests" or root / "tests" not in parent.parents:
                    break
                conftest = parent / "conftest.py"
                if conftest.is_file():
                    texts[conftest] = conftest.read_text(encoding="utf-8")
    return texts


def uncovered(nodes, root=ROOT):
    """Modules and playbooks that the tests NODES do not run, directly or through a playbook or role they run."""
    parts = collection_parts(root)
    reached = set()
    for text in test_texts(nodes, root).values():
        reached |= names_in(text)
    pending = list(reached)
    while pending:
        name = pending.pop()
        for kind in ("playbook", "role"):
            for found in names_in(parts[kind].get(name, "")) - reached:
                reached.add(found)
                pending.append(found)
    return ["%s %s" % (kind, name) for kind in ("module", "playbook") for name in sorted(parts[kind])
            if name not in reached]


def check(lane, root=ROOT, matrix=MATRIX):
    """The lane's node ids; MatrixError listing every problem."""
    entries = read_matrix(matrix)
    known = set().union(*(lanes for _node, lanes in entries)) if entries else set()
    nodes = lane_entries(lane, entries)
    if not nodes:
        raise MatrixError("%s names no test for lane %s (lanes in it: %s)" % (matrix, lane, ", ".join(sorted(known))))
    problems = []
    for node in nodes:
        if not (root / node.split("::", 1)[0]).exists():
            problems.append("%s does not exist" % node)
        else:
            try:
                tree_of(node)
            except MatrixError as exc:
                problems.append(str(exc))
    if not problems:
        missing = uncovered(nodes, root)
        if missing:
            problems.append("no test of lane %s runs %s: add a test that runs it to %s"
                            % (lane, ", ".join(missing), matrix.name))
    if problems:
        raise MatrixError("%s, lane %s:\n  %s" % (matrix, lane, "\n  ".join(problems)))
    return nodes


class EntriesCollect:
    """pytest plugin: exit 4 before running anything when a matrix entry collects no test."""

    def __init__(self, nodes):
        self.nodes = nodes

    @staticmethod
    def matches(node, item):
        path, _sep, name = node.partition("::")
        target = ROOT / path
        if not name:
            return item.path == target or target in item.path.parents
        rest = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
        return item.path == target and (rest == name or rest.startswith((name + "[", name + "::")))

    def pytest_collection_modifyitems(self, session, config, items):  # pylint: disable=unused-argument
        empty = [node for node in self.nodes if not any(self.matches(node, item) for item in items)]
        if empty:
            import pytest  # pylint: disable=import-outside-toplevel
            pytest.exit("tests/matrix.txt: these entries collect no test: %s" % ", ".join(empty), returncode=4)


def run(lane, pytest_args):
    nodes = check(lane)
    trees = {}
    for node in nodes:
        trees.setdefault(tree_of(node), []).append(node)
    status = 0
    for tree, tree_nodes in trees.items():
        print("== %s: pytest %s (%d entries of tests/matrix.txt)" % (lane, tree, len(tree_nodes)), flush=True)
        # -P: not this script's directory (tests/) first on sys.path; the tests' own conftest.py files do the rest.
        done = subprocess.run([sys.executable, "-P", __file__, "--pytest", json.dumps(tree_nodes)] + pytest_args,
                              cwd=ROOT, check=False)
        status = status or done.returncode
    return status


def main(argv):
    if argv[:1] == ["--pytest"]:
        import pytest  # pylint: disable=import-outside-toplevel
        nodes = json.loads(argv[1])
        return pytest.main(argv[2:] + nodes, plugins=[EntriesCollect(nodes)])
    try:
        if argv[:1] == ["--check"]:
            print("\n".join(check(argv[1])))
            return 0
        if not argv:
            raise MatrixError(__doc__)
        return run(argv[0], argv[1:])
    except MatrixError as exc:
        print("matrix: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main(sys.argv[1:]))
