#!/usr/bin/env bash
# Every test of the project (the body of `make test`): tests/run-all.sh
#
# Two lanes run side by side, because the simulator tests mostly wait (reboot downtimes, WinRM
# round trips) while the linters mostly compute: the static checks (ansible-lint, ansible-test sanity)
# in the background, the test suites in the foreground. Every step runs even when another failed;
# each step's output is in tests/output/run-all/<step>.log (the foreground steps also stream it), and a
# summary with the time of each step ends the run. Exits non-zero if any step failed. pytest exits 5
# when it collects no test, and that counts as a failure.
#
# Expects the dev venv (`make venv` creates it; VENV overrides its path).
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
cd "$repo"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$venv/collections}"
export ANSIBLE_HOME="${ANSIBLE_HOME:-$repo/.ansible}"
export ANSIBLE_LOCAL_TEMP="${ANSIBLE_LOCAL_TEMP:-$ANSIBLE_HOME/tmp}"
export ANSIBLE_NOCOLOR=1
pytest=("$venv/bin/python" -m pytest -p no:cacheprovider -q --durations=5)

out="$repo/tests/output/run-all"
rm -rf "$out"
mkdir -p "$out"
status="$out/status"

# step NAME COMMAND...: run COMMAND, keep its output in $out/NAME.log, record its result and time.
step() {
    local name="$1" log start rc
    shift
    log="$out/${name// /_}.log"
    start=$SECONDS
    if [ "$lane" = foreground ]; then
        echo
        echo "=== $name: $*"
        "$@" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
    else
        "$@" >"$log" 2>&1
        rc=$?
    fi
    echo "$name|$rc|$((SECONDS - start))" >>"$status"
}

started=$SECONDS

(
    lane=background
    # ansible-lint finds this collection through .ansible/collections (see tests/collection_path.py).
    "$venv/bin/python" tests/collection_path.py >/dev/null
    step "ansible-lint" ansible-lint
    step "ansible-test sanity" tests/sanity.sh
) &
background=$!

lane=foreground
step "unit tests" "${pytest[@]}" tests/unit --ignore=tests/unit/test_powershell_static.py
step "PowerShell static check" "${pytest[@]}" tests/unit/test_powershell_static.py
# Two pytest runs: test modules of both trees import helpers by bare module name.
step "integration tests" "${pytest[@]}" tests/integration
step "simulator tests" "${pytest[@]}" tests/simulator/tests
# Molecule scenarios default and reboot (extensions/molecule), against simulated hosts.
step "molecule" tests/molecule.sh

wait "$background"
for name in "ansible-lint" "ansible-test sanity"; do
    echo
    echo "=== $name (ran in the background; $out/${name// /_}.log)"
    cat "$out/${name// /_}.log"
done

echo
echo "=== summary: $((SECONDS - started)) s in all (ansible-lint and sanity ran alongside the test suites)"
failed=0
while IFS='|' read -r name rc seconds; do
    printf '%-28s %-7s %5ss\n' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED")" "$seconds"
    [ "$rc" -eq 0 ] || failed=1
done <"$status"
exit $failed
