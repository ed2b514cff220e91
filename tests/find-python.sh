#!/usr/bin/env bash
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Print the path of the newest Python MIN <= X.Y <= MAX for a version lane of `make test`: tests/find-python.sh 3.12 [MAX]
#
# Looks first among pyenv's versions (`pyenv versions --bare`, where pyenv is installed), then for python3.N on PATH
# (a pyenv shim of a version that is not active fails to run and is skipped). Says on stderr where it found it, or
# that it found none (exit 1).
set -uo pipefail

min="$1"
max="${2:-3.99}"

number() { echo $(( ${1%%.*} * 100 + ${1#*.} )); }  # 3.12 -> 312
in_range() { [ "$(number "$1")" -ge "$(number "$min")" ] && [ "$(number "$1")" -le "$(number "$max")" ]; }

if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
    best=""
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -t. -k1,1n -k2,2n -k3,3n); do
        in_range "${version%.*}" && [ -x "$root/versions/$version/bin/python3" ] && best="$version"
    done
    if [ -n "$best" ]; then
        echo "find-python: Python $best from pyenv ($root/versions/$best)" >&2
        echo "$root/versions/$best/bin/python3"
        exit 0
    fi
    echo "find-python: pyenv has no Python $min to $max (pyenv versions: $(pyenv versions --bare 2>/dev/null | tr '\n' ' '))" >&2
else
    echo "find-python: pyenv is not installed; looking for python3.N on PATH" >&2
fi

for minor in $(seq 30 -1 0); do
    candidate="python3.$minor"
    in_range "3.$minor" || continue
    path="$(command -v "$candidate" 2>/dev/null)" || continue
    if version="$("$path" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"; then
        echo "find-python: Python $version from PATH ($path), not from pyenv" >&2
        echo "$path"
        exit 0
    fi
done
echo "find-python: no Python $min to $max found (neither through pyenv nor on PATH)" >&2
exit 1
