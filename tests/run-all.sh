#!/usr/bin/env bash
# Every test of the project (the body of `make test`): tests/run-all.sh
#
# Lanes run side by side, because the simulator tests mostly wait (reboot downtimes, WinRM round trips) while
# the linters mostly compute. The main lane (.venv, ansible-core 2.19): the static checks (ansible-lint,
# ansible-test sanity) in the background, the test suites in the foreground. The version lanes (tests/lane.sh:
# core2.17 = the oldest supported ansible-core on Python 3.11, core2.21 = the newest on Python 3.12+, each in its
# own venv) in the background too: sanity, units, ansible-lint and the integration scenarios of tests/matrix.txt.
# Every step runs even when another failed; each step's output is in tests/output/run-all/<step>.log (a version
# lane's in tests/output/run-all/<lane>/; the foreground steps also stream it), and a summary with the time of each
# step and lane ends the run. Exits non-zero if any step failed. pytest exits 5 when it collects no test, and
# that counts as a failure. LANES="core2.17" runs only that version lane; LANES="" none.
#
# Expects the dev venv and the lane venvs (`make venv lanes` creates them; VENV overrides the dev venv's path).
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

# The collection's Python (plugins/): formatted (ruff format --check), type hints on every function (ruff check,
# ruff.toml) and hints that agree with the code (mypy, tests/mypy.ini). Each tool runs even when another failed.
python_checks() {
    local rc=0
    "$venv/bin/ruff" format --check plugins || rc=1
    "$venv/bin/ruff" check plugins || rc=1
    MYPYPATH="$venv/collections" "$venv/bin/mypy" --config-file tests/mypy.ini \
        -p ansible_collections.ecs_windows.task_iam.plugins || rc=1
    return $rc
}

started=$SECONDS

(
    lane=background
    # ansible-lint finds this collection through .ansible/collections (see tests/collection_path.py).
    "$venv/bin/python" tests/collection_path.py >/dev/null
    step "ansible-lint" ansible-lint
    step "ansible-test sanity" tests/sanity.sh
    # antsibull-changelog lint, no hand-written "new module" entries, CHANGELOG.rst current (tests/changelog.py).
    step "changelog" "$venv/bin/python" tests/changelog.py --check
    step "python style and types" python_checks
) &
background=$!

lane_pids=()
for lane in ${LANES-core2.17 core2.21}; do
    (
        start=$SECONDS
        STATUS="$status" tests/lane.sh "$lane" >"$out/lane-$lane.log" 2>&1
        echo "lane $lane (in all)|$?|$((SECONDS - start))" >>"$status"
    ) &
    lane_pids+=($!)
done

lane=foreground
step "unit tests" "${pytest[@]}" tests/unit --ignore=tests/unit/test_powershell_static.py --ignore=tests/unit/test_ps51_catalog.py
step "PowerShell static check" "${pytest[@]}" tests/unit/test_powershell_static.py
# Every command and parameter against Windows PowerShell 5.1's catalog (../shared/ps51, outside the repository): the
# .ps1 files and the scripts the collection generates; skipped, with the reason (-rs), where that folder is absent.
step "PowerShell 5.1 catalog check" "${pytest[@]}" -rs tests/unit/test_ps51_catalog.py
# Two pytest runs: test modules of both trees import helpers by bare module name.
step "integration tests" "${pytest[@]}" tests/integration
step "simulator tests" "${pytest[@]}" tests/simulator/tests
# Molecule scenarios default and reboot (extensions/molecule), against simulated hosts.
step "molecule" tests/molecule.sh

wait "$background"
for name in "ansible-lint" "ansible-test sanity" "changelog" "python style and types"; do
    echo
    echo "=== $name (ran in the background; $out/${name// /_}.log)"
    cat "$out/${name// /_}.log"
done

for pid in "${lane_pids[@]}"; do
    wait "$pid"
done
for lane in ${LANES-core2.17 core2.21}; do
    echo
    echo "=== lane $lane (ran in the background; $out/lane-$lane.log, step logs in $out/$lane/)"
    cat "$out/lane-$lane.log"
    # The closing lines of each step; the whole log of a step that failed.
    while IFS='|' read -r name rc _seconds; do
        case "$name" in "$lane "*) ;; *) continue ;; esac
        step_log="$out/$lane/${name#"$lane "}.log"
        step_log="${step_log// /_}"
        [ -f "$step_log" ] || continue
        echo "--- $name: $step_log"
        if [ "$rc" = 0 ]; then tail -n 3 "$step_log"; else cat "$step_log"; fi
    done <"$status"
done

echo
echo "=== summary: $((SECONDS - started)) s in all (ansible-lint, sanity and the version lanes ran alongside the test suites)"
failed=0
while IFS='|' read -r name rc seconds; do
    case "$rc" in
        0) result=ok ;;
        skipped) result=SKIPPED ;;
        *) result=FAILED; failed=1 ;;
    esac
    printf '%-36s %-7s %5ss\n' "$name" "$result" "$seconds"
done <"$status"
grep -q '|skipped|' "$status" && echo "A version lane was SKIPPED: see its section above (no suitable Python; REQUIRE_LANES=1 makes that a failure)."
exit $failed
