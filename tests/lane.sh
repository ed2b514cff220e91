#!/usr/bin/env bash
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# One version lane of `make test`: tests/lane.sh LANE   (LANE: core2.17 or core2.21, see the Makefile's LANES)
#
# Runs in the lane's own venv, .venv-LANE, built by `make lanes` from tests/requirements-LANE.txt (ansible-core, the
# matching `ansible` package for its collections, pywinrm, moto, pytest, ansible-lint) with the simulator:
#   ansible-test sanity   the collection as it ships (tests/sanity.sh), on the lane's Python
#   ansible-test units    the shipped unit tests (tests/unit)
#   ansible-lint          the lane's ansible-lint against the lane's ansible-core
#   integration           the scenarios tests/matrix.txt lists for the lane (tests/matrix.py checks them first)
# Every step runs even when another failed. Output: tests/output/run-all/LANE/<step>.log; with STATUS=FILE each step
# appends "LANE step|rc|seconds" to FILE (tests/run-all.sh's summary). Exits non-zero if a step failed.
# A lane whose venv could not be built (tests/output/lanes/LANE.missing says why: no suitable Python) is reported as skipped:
# exit 0, or exit 1 when REQUIRE_LANES=1 (the default under CI=true).
set -uo pipefail

lane="$1"
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv-$lane"
out="$repo/tests/output/run-all/$lane"
status="${STATUS:-$out/status}"
require="${REQUIRE_LANES:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}"
cd "$repo"
mkdir -p "$out"

if [ ! -x "$venv/bin/python" ]; then
    reason="$(cat "$repo/tests/output/lanes/$lane.missing" 2>/dev/null || echo "$venv does not exist (make lanes builds it)")"
    echo "=== lane $lane SKIPPED: $reason" | tee "$out/skipped.log"
    echo "$lane (whole lane)|$([ "$require" = 1 ] && echo 1 || echo skipped)|0" >>"$status"
    [ "$require" = 1 ] && exit 1
    exit 0
fi

export PATH="$venv/bin:$PATH"
export ANSIBLE_NOCOLOR=1
# The lane's own Ansible home: ansible-lint's and ansible-test's caches never mix with another lane's.
export ANSIBLE_HOME="$out/.ansible"
export ANSIBLE_LOCAL_TEMP="$ANSIBLE_HOME/tmp"
python_version="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
failed=0

step() {
    local name="$1" log start rc
    shift
    log="$out/${name// /_}.log"
    start=$SECONDS
    "$@" >"$log" 2>&1
    rc=$?
    echo "$lane $name|$rc|$((SECONDS - start))" >>"$status"
    [ "$rc" -eq 0 ] || failed=1
}

lint_args=()
case "$lane" in
    # amazon.aws 8.x (the `ansible` package of core 2.17) has no ec2_launch_template yet (it came from community.aws
    # in amazon.aws 9.0.0); only this test playbook and the molecule ec2 scenario (whose README asks for amazon.aws
    # 9.0.0 or later) use it, and tests/matrix.txt runs their tests in newer lanes.
    core2.17) lint_args=(--exclude tests/integration/aws/launch_template.yml --exclude extensions/molecule/ec2/create.yml
                         --exclude extensions/molecule/ec2/destroy.yml) ;;
esac

lint() {
    # ansible-lint finds this collection through .ansible/collections beside the checkout (tests/collection_path.py),
    # under the checkout's Ansible home as in the main lane.
    "$venv/bin/python" tests/collection_path.py >/dev/null && ANSIBLE_HOME="$repo/.ansible" ansible-lint "${lint_args[@]}"
}

{
    echo "lane $lane: $("$venv/bin/ansible" --version | sed -n 1p), Python $python_version ($venv)"
    # How `make lanes` found the Python (tests/find-python.sh): from pyenv, or from PATH and not from pyenv.
    cat "$venv/python-source" 2>/dev/null || echo "find-python: how $venv's Python was found is not recorded"
    "$venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(ansible|ansible-core|ansible-lint|pywinrm|pytest|moto) '
} | tee "$out/versions.log"

step "ansible-test sanity" env VENV="$venv" SANITY_PYTHON="$python_version" tests/sanity.sh
step "ansible-test units" env VENV="$venv" SANITY_PYTHON="$python_version" ANSIBLE_TEST_COMMAND=units tests/sanity.sh
if [ -x "$venv/bin/ansible-lint" ]; then
    step "ansible-lint" lint
fi
step "integration" "$venv/bin/python" tests/matrix.py "$lane" -p no:cacheprovider -q --durations=5
exit $failed
