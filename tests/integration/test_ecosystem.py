# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the collection installs and fits with the others: galaxy.yml, meta/runtime.yml, the build, the README's tested
versions, the execution environment, the missing_collections lookup and module_defaults groups (real ansible-galaxy
and ansible-playbook runs; the simulator where a host module runs)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from packaging.specifiers import SpecifierSet

import ecs_integration

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# Host modules are action plugins that run PowerShell through the connection; the others run on the controller.
# The collections of the `ansible` package: installed beside ansible-core in the venv's site-packages.
SITE_COLLECTIONS = pathlib.Path(__import__("ansible").__file__).resolve().parents[1] / "ansible_collections"
HOST_MODULES = [name for name in MODULES if (ROOT / "plugins" / "action" / (name + ".py")).is_file()]
AWS_MODULES = [name for name in MODULES if name not in HOST_MODULES]
# Modules announced for this release and already in meta/runtime.yml's action_groups; each must land in its group.
ANNOUNCED = {"instance": "host", "ecs_container_instance_info": "aws", "ecs_container_instance": "aws",
             "task_definition": "aws"}
# Collections the code uses today that galaxy.yml does not declare, with what removes that use.
BEING_REMOVED: dict[str, str] = {}
# Declared dependencies not used by the code yet, with what will use them.
ANNOUNCED_USES: dict[str, str] = {}


def requirement_pins(name):
    pins = {}
    for line in (ROOT / "tests" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            package, version = line.split("==", 1)
            pins[re.sub(r"\[.*\]", "", package).lower()] = version
    return pins


def collections_used():
    """{collection: [files]} of the FQCNs that roles, playbooks and plugins use in code (not in comments or docs)."""
    used = {}
    code_re = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*")
    for path in sorted(list((ROOT / "roles").rglob("*.yml")) + list((ROOT / "playbooks").glob("*.yml"))):
        if path.parent.name == "meta":
            continue  # argument_specs and galaxy_info: documentation
        text = "\n".join(line.split(" #", 1)[0] for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        for name in set(code_re.findall(text)):
            used.setdefault(name, []).append(str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for name in set(re.findall(r"^\s*(?:from|import) ansible_collections\.(\w+)\.(\w+)", path.read_text(), re.M)):
            used.setdefault(".".join(name), []).append(str(path.relative_to(ROOT)))
    # Only names of real collections (those of the `ansible` package), not attribute chains such as result.summary.x.
    site = SITE_COLLECTIONS
    return {name: files for name, files in used.items()
            if name not in ("ansible.builtin", "ecs_windows.task_iam") and (site / name.replace(".", "/")).is_dir()}


def test_galaxy_declares_exactly_the_collections_the_code_uses():
    declared = set(GALAXY["dependencies"])
    used = collections_used()
    undeclared = {name: files for name, files in used.items() if name not in declared and name not in BEING_REMOVED}
    assert not undeclared, "used but not in galaxy.yml dependencies: %s" % undeclared
    unused = [name for name in declared if name not in used and not (
        name in ANNOUNCED_USES and not (ROOT / ANNOUNCED_USES[name].split(" ")[0]).exists())]
    assert not unused, "galaxy.yml declares %s, which no role, playbook or plugin uses" % unused
    for name, what in ANNOUNCED_USES.items():
        path = ROOT / what.split(" ")[0]
        if path.exists():
            assert name + "." in path.read_text(), "%s was to use %s" % (path, name)


def test_dependency_ranges_admit_the_versions_every_lane_runs():
    """The `ansible` package of each lane ships amazon.aws and ansible.windows; the ranges must admit them all."""
    for requirements in ("requirements-core2.17.txt", "requirements-dev.txt", "requirements-core2.21.txt"):
        assert "ansible" in requirement_pins(requirements), requirements
    assert GALAXY["dependencies"]["amazon.aws"].startswith(">=8.2.1,"), "amazon.aws 8.2.1 comes with ansible 10 (core 2.17)"
    for name, spec in GALAXY["dependencies"].items():
        assert SpecifierSet(spec).contains("99.0.0") is False, "%s: give the tested range an upper bound" % name


def test_installed_dependencies_are_in_the_declared_ranges():
    """In this venv (each lane runs this test in its own): the `ansible` package's collections meet galaxy.yml."""
    site = SITE_COLLECTIONS
    for name, spec in GALAXY["dependencies"].items():
        manifest = site / name.replace(".", "/") / "MANIFEST.json"
        version = json.loads(manifest.read_text())["collection_info"]["version"]
        assert SpecifierSet(spec).contains(version), "%s %s (%s) is outside galaxy.yml's %s" % (name, version, manifest, spec)


def test_placeholder_urls_are_obvious_and_agree():
    urls = {key: GALAXY[key] for key in ("repository", "homepage", "documentation", "issues")}
    for key, url in urls.items():
        assert url.startswith("https://github.com/YOUR-ORG/ecs_windows.task_iam"), (key, url)
    assert urls["issues"] == urls["repository"] + "/issues"
    assert urls["documentation"].startswith(urls["repository"] + "/")
    awx = yaml.safe_load((ROOT / "awx" / "collections" / "requirements.yml").read_text())
    assert awx["collections"][0]["name"] == urls["repository"] + ".git"
    for path in ("galaxy.yml", "awx/collections/requirements.yml", "README.md"):
        assert "YOUR-ORG" in (ROOT / path).read_text() and "fork" in (ROOT / path).read_text(), path


def build(source, output):
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(output)], cwd=source,
                   check=True, capture_output=True, text=True)
    (tarball,) = pathlib.Path(output).glob("ecs_windows-task_iam-*.tar.gz")
    return tarball


def test_build_leaves_out_generated_files_and_the_unshipped_tests(tmp_path):
    source = tmp_path / "src"
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for path in filter(None, listed):
        if (ROOT / path).is_file():
            (source / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, source / path)
    generated = ["fleet-report.md", "fleet-report.json", "fleet-report.html", "changelogs/.plugin-cache.yaml",
                 "tests/output/run-all/status", ".venv-core2.17/bin/python", ".ansible/collections/x"]
    for path in generated:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text("generated\n")
    with tarfile.open(build(source, tmp_path / "dist")) as archive:
        names = set(archive.getnames())
    assert not [path for path in generated if path in names or any(n.startswith(path + "/") for n in names)]
    for unshipped in ("tests/simulator", "tests/integration", "tests/unit/test_contract.py", "tests/run-all.sh",
                      "tests/matrix.txt", "tests/requirements-dev.txt", "Makefile"):
        assert not [n for n in names if n == unshipped or n.startswith(unshipped + "/")], unshipped
    for shipped in ("plugins/lookup/missing_collections.py", "extensions/molecule/default/molecule.yml",
                    "tests/unit/test_args.py", "tests/unit/requirements.txt", "tests/conftest.py", "meta/runtime.yml"):
        assert shipped in names, shipped


def test_offline_install_takes_the_dependencies_from_the_ansible_package(tmp_path):
    tarball = build(ROOT, tmp_path / "dist")
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / "home"))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    done = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p",
                           str(tmp_path / "collections"), str(tarball)], env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ecs_windows.task_iam:0.1.0 was installed successfully" in done.stdout
    for name in GALAXY["dependencies"]:
        assert re.search(r"'%s:[0-9.]+' is already installed" % re.escape(name), done.stdout), done.stdout


def test_action_groups_list_every_module_in_its_group():
    groups = RUNTIME["action_groups"]
    assert set(groups) == {"host", "aws"}
    names = {group: [entry for entry in entries if isinstance(entry, str)] for group, entries in groups.items()}
    assert {"metadata": {"extend_group": ["amazon.aws.aws"]}} in groups["aws"]
    for module in HOST_MODULES:
        assert module in names["host"] and module not in names["aws"], module
    for module in AWS_MODULES:
        assert module in names["aws"] and module not in names["host"], module
    for group, entries in names.items():
        for name in entries:
            assert name in MODULES or ANNOUNCED.get(name) == group, "%s in group %s is no module" % (name, group)


def test_module_defaults_group_reaches_the_host_modules(sim_factory, playbook):
    sim = sim_factory(hosts=1)
    run = playbook(r"""
- name: module_defaults through the collection's host group
  hosts: windows_ecs
  gather_facts: false
  module_defaults:
    group/ecs_windows.task_iam.host:
      files: ['C:\ProgramData\Amazon\ECS\no-such-file.txt']
  tasks:
    - name: Read the instance
      ecs_windows.task_iam.instance_info:
""", sim)
    assert run.rc == 0, run
    assert run.result("ecs-sim-001", "Read the instance")["files"] == {"C:\\ProgramData\\Amazon\\ECS\\no-such-file.txt": None}


MISSING = """
- name: Check collections
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ask
      ansible.builtin.set_fact:
        missing: "{{ query('ecs_windows.task_iam.missing_collections', *names, needed_by='the task_role role') }}"
"""


def missing(tmp_path, names, env=None):
    run = ecs_integration.run_playbook(MISSING, "localhost,", tmp_path, extra_vars={"names": names}, env=env)
    assert run.rc == 0, run
    return run.result("localhost", "Ask")["ansible_facts"]["missing"], run


def test_missing_collections_names_what_to_install(tmp_path):
    found, _run = missing(tmp_path / "all", ["amazon.aws", "ansible.windows"])
    assert found == []
    # Only this collection on the collections path: amazon.aws and ansible.windows are gone.
    found, _run = missing(tmp_path / "none", ["amazon.aws"], env={"ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"})
    wanted = GALAXY["dependencies"]["amazon.aws"]
    assert found == ["the task_role role needs the collection amazon.aws %s, which is not installed: ansible-galaxy "
                     "collection install 'amazon.aws:%s' (or pip install ansible, which includes amazon.aws)" % (wanted, wanted)]


def fake_collection(root, name, version):
    path = root / "ansible_collections" / name.replace(".", "/")
    path.mkdir(parents=True)
    (path / "MANIFEST.json").write_text(json.dumps({"collection_info": {"namespace": name.split(".")[0],
                                                                        "name": name.split(".")[1], "version": version}}))
    return path


def test_missing_collections_too_old_and_newer(tmp_path):
    old = tmp_path / "old"
    path = fake_collection(old, "amazon.aws", "7.6.0")
    env = {"ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (old, ecs_integration.collections_root())}
    found, _run = missing(tmp_path / "run-old", ["amazon.aws"], env=env)
    assert len(found) == 1 and "but %s is version 7.6.0: ansible-galaxy collection install --upgrade" % path in found[0]
    new = tmp_path / "new"
    fake_collection(new, "amazon.aws", "12.0.0")
    env = {"ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (new, ecs_integration.collections_root())}
    found, run = missing(tmp_path / "run-new", ["amazon.aws"], env=env)
    assert found == []
    # ansible-core 2.17 wraps warnings at the terminal width.
    assert "is newer than the versions ecs_windows.task_iam was tested with" in " ".join((run.stdout + run.stderr).split())


def test_missing_collections_refuses_a_bad_name(tmp_path):
    run = ecs_integration.run_playbook(MISSING, "localhost,", tmp_path, extra_vars={"names": ["amazon"]})
    assert run.rc != 0 and "'amazon' is not a collection name (namespace.name)" in " ".join((run.stdout + run.stderr).split()), run


def test_register_task_without_amazon_aws_says_what_to_install(tmp_path):
    variables = {"task_role_name": "web-task", "task_role_family": "web", "task_role_region": "eu-west-1",
                 "task_role_containers": [{"name": "web", "image": "mcr.microsoft.com/windows/servercore/iis"}]}
    run = ecs_integration.run_playbook("ecs_windows.task_iam.register_task", "localhost,", tmp_path,
                                       extra_vars=variables, env={"ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"})
    output = run.stdout + run.stderr
    assert run.rc != 0
    assert "could not resolve the module_defaults group" not in output
    assert "ansible-galaxy collection install 'amazon.aws:%s'" % GALAXY["dependencies"]["amazon.aws"] in output


def readme_table(title):
    text = (ROOT / "README.md").read_text()
    lines = text.split(title, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in row.strip("|").split("|")))) for row in rows[2:]]


def test_readme_tested_versions_are_the_lanes_pins():
    rows = {row["lane"]: row for row in readme_table("## Tested versions")}
    lanes = {"core2.17": "requirements-core2.17.txt", "main": "requirements-dev.txt", "core2.21": "requirements-core2.21.txt"}
    assert set(rows) == {"`%s`" % lane for lane in lanes}
    for lane, requirements in lanes.items():
        pins, row = requirement_pins(requirements), rows["`%s`" % lane]
        assert row["ansible-core"] == pins["ansible-core"], lane
        assert row["`ansible` package"] == pins["ansible"], lane
        assert row["pywinrm"] == pins["pywinrm"], lane


def test_readme_windows_table_names_every_simulator_preset():
    from ecs_windows_sim import presets  # pylint: disable=import-outside-toplevel

    listed = {name for row in readme_table("Windows Server, as the simulator's presets model it")
              for name in re.findall(r"`([a-z0-9-]+)`", row["simulator preset"])}
    assert listed == set(presets.PRESETS)


def test_example_execution_environment_admits_the_newest_core():
    ee = yaml.safe_load((ROOT / "examples" / "execution-environment.yml").read_text())
    newest = requirement_pins("requirements-core2.21.txt")["ansible-core"]
    spec = ee["dependencies"]["ansible_core"]["package_pip"].split("ansible-core", 1)[1]
    assert SpecifierSet(spec).contains(newest), "the EE caps ansible-core below %s: %s" % (newest, spec)
    python = re.search(r"python(3\.\d+)$", ee["dependencies"]["python_interpreter"]["python_path"]).group(1)
    assert tuple(map(int, python.split("."))) >= (3, 12), "ansible-core %s needs Python 3.12 or later" % newest
