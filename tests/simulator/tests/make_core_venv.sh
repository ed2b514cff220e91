#!/usr/bin/env bash
# Create (once) a second venv with another ansible-core for the connection tests:
#   tests/simulator/tests/make_core_venv.sh [VERSION]   -> <repo>/.venv-core<MAJORMINOR>, prints its path
# ansible-core 2.18 double-encodes every exec_command and uses the old put_file/fetch_file scripts.
# ansible-core 2.20+ needs Python 3.12+: PYTHON=python3.12 tests/simulator/tests/make_core_venv.sh 2.21.5
set -euo pipefail
version="${1:-2.18.19}"
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
tag="$(echo "$version" | cut -d. -f1,2 | tr -d .)"
venv="$repo/.venv-core$tag"
stamp="$venv/.installed-$version"
python="${PYTHON:-python3}"
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        "ansible-core==$version" pywinrm==0.5.0 requests-ntlm==1.3.0 >&2
    touch "$stamp"
fi
echo "$venv"
