#!/usr/bin/env bash
# Every test of the project (the body of `make test`): tests/run-all.sh
#
# Runs each step even when an earlier one failed, prints a summary with the time of each step and
# exits non-zero if any step failed. Expects the dev venv (`make venv` creates it); VENV overrides it.
# pytest exits 5 when it collects no test, and that counts as a failure here.
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
cd "$repo"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$venv/collections}"
export ANSIBLE_HOME="${ANSIBLE_HOME:-$repo/.ansible}"
export ANSIBLE_LOCAL_TEMP="${ANSIBLE_LOCAL_TEMP:-$ANSIBLE_HOME/tmp}"
export ANSIBLE_NOCOLOR=1
pytest=("$venv/bin/python" -m pytest -p no:cacheprovider -q)

summary=()
failed=0
step() {
    local name="$1" start rc
    shift
    echo
    echo "=== $name: $*"
    start=$SECONDS
    "$@"
    rc=$?
    summary+=("$(printf '%-32s %-6s %4ss' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" $((SECONDS - start)))")
    [ $rc -eq 0 ] || failed=1
}

started=$SECONDS
step "unit tests" "${pytest[@]}" tests/unit --ignore=tests/unit/test_powershell_static.py
step "PowerShell static check" "${pytest[@]}" tests/unit/test_powershell_static.py
# ansible-lint finds this collection through .ansible/collections (see tests/collection_path.py).
"$venv/bin/python" tests/collection_path.py >/dev/null
step "ansible-lint" ansible-lint
step "ansible-test sanity" tests/sanity.sh
# Two pytest runs: test modules of both trees import helpers by bare module name.
step "integration tests" "${pytest[@]}" tests/integration
step "simulator tests" "${pytest[@]}" tests/simulator/tests

# --- molecule scenarios (extensions/molecule: default, reboot) -------------------------------------
# Run by tests/molecule.sh once the scenarios exist; until then this says so in the summary.
if [ -x tests/molecule.sh ]; then
    step "molecule" tests/molecule.sh
else
    summary+=("$(printf '%-32s %-6s' "molecule" "absent (tests/molecule.sh not written yet)")")
fi

echo
echo "=== summary ($((SECONDS - started)) s)"
printf '%s\n' "${summary[@]}"
exit $failed
