#!/usr/bin/env bash
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Make sure Debian's headless-capable Chromium is at /usr/bin/chromium (the browser tests drive it with
# Playwright; Playwright's own browser downloads are never used). Installs the `chromium` package with
# apt-get when it is missing; needs root (or passwordless sudo) and the Debian archive.
#
#     tests/ensure-chromium.sh        # prints the path of the browser, exits non-zero when it cannot have one
set -euo pipefail

browser="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
    echo "$browser"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $browser is missing and there is no apt-get here; install Chromium and set CHROMIUM" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "ensure-chromium: $browser is missing; run 'apt-get install -y chromium' as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a dpkg lock another installer holds instead of failing at once.
apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 -q)
echo "ensure-chromium: installing Debian's chromium package" >&2
if ! "${apt[@]}" install -y --no-install-recommends chromium fonts-liberation >&2; then
    "${apt[@]}" update >&2
    "${apt[@]}" install -y --no-install-recommends chromium fonts-liberation >&2
fi
if [ ! -x "$browser" ]; then
    echo "ensure-chromium: apt-get installed chromium but $browser is still missing" >&2
    exit 1
fi
echo "$browser"
