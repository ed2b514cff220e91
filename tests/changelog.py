# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CHANGELOG.rst as antsibull-changelog makes it for the version in galaxy.yml (docs/release.md).

    python tests/changelog.py           # lint the fragments, then write CHANGELOG.rst (make changelog)
    python tests/changelog.py --check   # lint, then exit 1 when CHANGELOG.rst is not what antsibull-changelog makes

Before a release is recorded in changelogs/changelog.yaml this runs `antsibull-changelog release` for that version
in a copy of the collection (what the release will write, fragments included, nothing consumed here); once it is
recorded, `antsibull-changelog generate`. The copy holds what `git ls-files` lists (tracked and not ignored files),
at ansible_collections/ecs_windows/task_iam, because antsibull-changelog reads the plugins through ansible-doc.
"""

from __future__ import annotations

import datetime
import difflib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


def antsibull(args, cwd, env):
    done = subprocess.run([str(BIN / "antsibull-changelog")] + args, cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit("antsibull-changelog %s failed (rc %d):\n%s%s" % (" ".join(args), done.returncode,
                                                                        done.stdout, done.stderr))
    return done


# antsibull-changelog lists these itself (New Modules, New Plugins, New Roles) from their version_added.
HAND_WRITTEN = re.compile(r"^\s*[\w., ]+ - new (module|modules|plugin|plugins|filter|filters|lookup|role|roles)\b", re.I)


def hand_written_entries():
    """Fragment entries that announce what antsibull-changelog generates itself."""
    found = []
    for fragment in sorted((ROOT / "changelogs" / "fragments").glob("*.y*ml")):
        for section, entries in (yaml.safe_load(fragment.read_text()) or {}).items():
            if section.startswith("add ") or not isinstance(entries, list):
                continue
            found += ["%s (%s): %s" % (fragment.name, section, entry[:80]) for entry in entries
                      if isinstance(entry, str) and HAND_WRITTEN.match(entry)]
    return found


def generated() -> str:
    hand_written = hand_written_entries()
    if hand_written:
        raise SystemExit("changelog fragments announce new modules, plugins or roles, which antsibull-changelog lists "
                         "from their version_added; remove these entries:\n  " + "\n  ".join(hand_written))
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    lint = antsibull(["lint"], ROOT, env)
    if lint.stdout.strip():
        raise SystemExit("antsibull-changelog lint:\n%s" % lint.stdout)
    version = str(yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"])
    released = (yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text()).get("releases") or {})
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    with tempfile.TemporaryDirectory(prefix="ecs-changelog-") as work:
        copy = pathlib.Path(work) / "ansible_collections" / "ecs_windows" / "task_iam"
        for path in filter(None, listed):
            if (ROOT / path).is_file():
                (copy / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / path, copy / path)
        env.update(ANSIBLE_COLLECTIONS_PATH=work, ANSIBLE_HOME=os.path.join(work, ".ansible"))
        if version in released:
            antsibull(["generate"], copy, env)
        else:
            antsibull(["release", "--version", version, "--date", datetime.date.today().isoformat()], copy, env)
        return (copy / "CHANGELOG.rst").read_text()


def main(argv):
    text = generated()
    target = ROOT / "CHANGELOG.rst"
    if argv[:1] == ["--check"]:
        current = target.read_text() if target.exists() else ""
        if current != text:
            diff = "".join(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                "CHANGELOG.rst", "antsibull-changelog"))
            print("CHANGELOG.rst is not what antsibull-changelog makes from changelogs/ and the plugins; run "
                  "`make changelog` and commit it:\n%s" % diff, file=sys.stderr)
            return 1
        print("CHANGELOG.rst is current")
        return 0
    target.write_text(text)
    print("wrote %s" % target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
