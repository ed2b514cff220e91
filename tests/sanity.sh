#!/usr/bin/env bash
# ansible-test sanity for this collection: tests/sanity.sh [extra ansible-test sanity arguments]
#
# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>, so this copies the
# collection to a temporary tree and runs `ansible-test sanity --venv` there. It copies what
# `ansible-galaxy collection build` would ship: the git-tracked files plus untracked files that are not
# git-ignored, minus galaxy.yml's build_ignore. That leaves out the simulator (tests/simulator, its own
# Python package with its own tests, not collection content) and the pytest-driven integration tests.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
python="${SANITY_PYTHON:-3.11}"
export PATH="$venv/bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/ecs-sanity.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/ecs_windows/task_iam"
"$venv/bin/python" - "$repo" "$dest" <<'PY'
import fnmatch
import os
import shutil
import subprocess
import sys

import yaml

repo, dest = sys.argv[1:]
with open(os.path.join(repo, "galaxy.yml"), encoding="utf-8") as handle:
    ignore = yaml.safe_load(handle).get("build_ignore") or []
listed = subprocess.run(["git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                        check=True, capture_output=True).stdout.decode().split("\0")


def ignored(path):
    parts = path.split("/")
    return any(fnmatch.fnmatch("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1) for pattern in ignore)


for path in listed:
    source = os.path.join(repo, path)
    if path and os.path.isfile(source) and not ignored(path):
        os.makedirs(os.path.dirname(os.path.join(dest, path)), exist_ok=True)
        shutil.copy2(source, os.path.join(dest, path))
PY

# ansible-test bootstraps pip in its venvs with a get-pip.py it downloads from a host that may be
# unreachable (it is on the project's build machine). Put a stand-in where ansible-test caches that
# script: it bootstraps pip with ensurepip and then runs `pip install` with the same arguments.
pip_version="$("$venv/bin/python" -c 'import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"])')"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$get_pip" ]; then
    mkdir -p "$(dirname "$get_pip")"
    cat >"$get_pip" <<'PY'
"""Stand-in for get-pip.py written by ecs_windows.task_iam's tests/sanity.sh (the real one could not be downloaded)."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null, which would hide the machine's pip configuration (index, proxy).
os.environ.pop("PIP_CONFIG_FILE", None)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
PY
    echo "sanity: wrote the pip bootstrap stand-in $get_pip"
fi

# The collections this one's plugins use (their doc fragments and module_utils): amazon.aws and ansible.windows
# from the ansible package in the venv, next to the copy.
site="$("$venv/bin/python" -c 'import os, ansible_collections.amazon.aws as aws; print(os.path.dirname(os.path.dirname(os.path.dirname(list(aws.__path__)[0]))))')"
for namespace in amazon ansible; do
    [ -e "$work/ansible_collections/$namespace" ] || ln -s "$site/ansible_collections/$namespace" "$work/ansible_collections/$namespace"
done

cd "$dest"
ansible-test "${ANSIBLE_TEST_COMMAND:-sanity}" --venv --python "$python" --color no "$@"
