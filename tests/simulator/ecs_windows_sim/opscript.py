"""Run an op-contract script (docs/dev/op-contract.md) against a host's state.

The script is checked the way PowerShell would meet it: the marker, the op functions the script defines,
the base64 JSON batch, each op's arguments against its JSON Schema in contract.json. Anything PowerShell
would reject ends with rc 1 and a CLIXML error on stderr. Ops then run in order as Python emulations
(`ops/<op>.py`); every result is checked against its schema, and a mismatch raises SimulatorBug.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
import json
import os
import pathlib
import re
import sys

import jsonschema

from .clixml import error_clixml

CONTRACT_ENV = "ECS_WINDOWS_SIM_CONTRACT"
_CONTRACT_IN_REPO = pathlib.Path("plugins", "plugin_utils", "powershell", "contract.json")
_COLLECTION = pathlib.Path("ansible_collections", "ecs_windows", "task_iam")
_BATCH_LINE = re.compile(r"^\$EcsBatch\s*=\s*'([^']*)'[ \t]*$", re.MULTILINE | re.IGNORECASE)
_INVOKE_LINE = re.compile(r"^Invoke-EcsBatch\s+-EncodedBatch\s+\$EcsBatch[ \t]*$", re.MULTILINE | re.IGNORECASE)
_NOT_RECOGNIZED = ("The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable "
                   "program. Check the spelling of the name, or if a path was included, verify that the path is "
                   "correct and try again.")


class OpError(Exception):
    """An op failed the way its PowerShell raises New-EcsOpError: reported in the JSON, rc 0."""

    def __init__(self, category: str, message: str):
        super().__init__("%s: %s" % (category, message))
        self.category = category
        self.message = message


class ScriptRefused(Exception):
    """PowerShell itself would fail on this script: rc 1, CLIXML error on stderr."""

    def __init__(self, message: str, category_info: str | None = None, error_id: str | None = None):
        super().__init__(message)
        self.message, self.category_info, self.error_id = message, category_info, error_id


class SimulatorBug(RuntimeError):
    """An emulation broke the contract (e.g. a result that violates its schema): fix the simulator."""


def _collection_roots() -> list[pathlib.Path]:
    """Where Ansible looks for collections: its configured paths (ANSIBLE_COLLECTIONS_PATH, ansible.cfg) or, without
    ansible-core in this Python, that variable and the default paths; then the ansible_collections on sys.path."""
    try:
        from ansible import constants  # pylint: disable=import-outside-toplevel
        configured = [str(path) for path in constants.COLLECTIONS_PATHS]
    except Exception:  # pylint: disable=broad-except  # no ansible-core here, or a broken ansible.cfg
        configured = []
        for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
            configured += [part for part in os.environ.get(name, "").split(os.pathsep) if part]
        home = os.environ.get("ANSIBLE_HOME", "~/.ansible")
        configured += [os.path.join(home, "collections"), "/usr/share/ansible/collections"]
    roots = [pathlib.Path(os.path.expanduser(path)) for path in configured]
    roots += [pathlib.Path(entry) for entry in sys.path if entry and (pathlib.Path(entry) / "ansible_collections").is_dir()]
    return list(dict.fromkeys(roots))


def contract_candidates() -> list[tuple[str, pathlib.Path]]:
    """Where the op contract may be, in order: $ECS_WINDOWS_SIM_CONTRACT alone when it is set; else the checkout this
    package sits in (an editable install: the contract its emulations were written for), then the collection
    ecs_windows.task_iam installed in each collections path Ansible searches."""
    override = os.environ.get(CONTRACT_ENV)
    if override:
        return [("$" + CONTRACT_ENV, pathlib.Path(override))]
    found = [("the repository this simulator was installed from",
              pathlib.Path(__file__).resolve().parents[3] / _CONTRACT_IN_REPO)]
    for root in _collection_roots():
        found.append(("collections path %s" % root, root / _COLLECTION / _CONTRACT_IN_REPO))
    return found


def contract_path() -> pathlib.Path:
    """The first candidate that exists (see contract_candidates), or $ECS_WINDOWS_SIM_CONTRACT as given."""
    candidates = contract_candidates()
    if candidates[0][0] == "$" + CONTRACT_ENV:
        return candidates[0][1]
    for _where, path in candidates:
        if path.is_file():
            return path
    raise RuntimeError(
        "cannot find the op contract of the collection ecs_windows.task_iam (%s); looked in:\n%s\n"
        "Install the collection where Ansible finds it (ansible-galaxy collection install ecs_windows.task_iam or "
        "its tarball), or set ANSIBLE_COLLECTIONS_PATH to the directory that holds ansible_collections/, or set %s "
        "to the contract.json" % (_CONTRACT_IN_REPO, "\n".join("  %s: %s" % item for item in candidates), CONTRACT_ENV)
    )


@functools.lru_cache(maxsize=None)
def _load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            contract = json.load(handle)
    except OSError as exc:
        raise RuntimeError(
            "cannot read the op contract %s (%s); set %s to the collection's "
            "plugins/plugin_utils/powershell/contract.json" % (path, exc.strerror, CONTRACT_ENV)
        ) from None
    validators = {}
    for name, spec in contract["ops"].items():
        for part in ("args", "result"):
            cls = jsonschema.validators.validator_for(spec[part], default=jsonschema.Draft202012Validator)
            cls.check_schema(spec[part])
            validators[name, part] = cls(spec[part])
    contract["_validators"] = validators
    return contract


def contract() -> dict:
    return _load(str(contract_path()))


def _function_defined(script: str, function: str) -> bool:
    return re.search(r"^[ \t]*function[ \t]+%s(?=[\s{(])" % re.escape(function), script, re.MULTILINE | re.IGNORECASE) is not None


def _param_path(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _refuse_args(function: str, error: jsonschema.ValidationError) -> ScriptRefused:
    """A schema violation, worded as PowerShell's parameter binding errors."""
    where = _param_path(error)
    prefix = where + "." if where else ""
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        return ScriptRefused(
            "%s : A parameter cannot be found that matches parameter name '%s'." % (function, prefix + extra[0]),
            "InvalidArgument: (:) [%s], ParameterBindingException" % function, "NamedParameterNotFound," + function)
    if error.validator == "required":
        missing = sorted(set(error.validator_value) - set(error.instance))
        return ScriptRefused(
            "%s : Cannot process command because of one or more missing mandatory parameters: %s."
            % (function, " ".join(prefix + m for m in missing)),
            "InvalidArgument: (:) [%s], ParameterBindingException" % function, "MissingMandatoryParameter," + function)
    return ScriptRefused(
        "%s : Cannot validate argument on parameter '%s'. %s" % (function, where or "Arguments", error.message),
        "InvalidData: (:) [%s], ParameterBindingValidationException" % function,
        "ParameterArgumentValidationError," + function)


def _thrown(message: str) -> ScriptRefused:
    return ScriptRefused(message, "OperationStopped: (:) [], RuntimeException", "RuntimeException")


def parse_script(script: str) -> list[tuple[str, dict]]:
    """The validated (op, args) calls of a script; ScriptRefused where PowerShell (or the contract) would fail."""
    spec = contract()
    script = script.lstrip("\ufeff").replace("\r\n", "\n")
    first = script.split("\n", 1)[0].rstrip()
    prefix = spec["marker_prefix"]
    family = prefix.rsplit("/", 1)[0] + "/"
    if not first.startswith(family):
        raise ScriptRefused("ecs-windows-sim refused the script: its first line is not the op marker '%s <ops>' "
                            "(found %r)." % (prefix, first[:80]))
    if not first.startswith(prefix + " "):
        raise ScriptRefused("ecs-windows-sim refused the script: marker %r is not op contract %d ('%s <ops>')."
                            % (first[:80], spec["contract"], prefix))
    marker_ops = first[len(prefix) + 1:].strip().split(",")
    if not _function_defined(script, "Invoke-EcsBatch"):
        raise ScriptRefused(_NOT_RECOGNIZED % "Invoke-EcsBatch", "ObjectNotFound: (Invoke-EcsBatch:String) [], "
                            "CommandNotFoundException", "CommandNotFoundException")
    batches = _BATCH_LINE.findall(script)
    if len(batches) != 1 or not _INVOKE_LINE.search(script):
        raise ScriptRefused("ecs-windows-sim refused the script: it must assign $EcsBatch once and end with "
                            "'Invoke-EcsBatch -EncodedBatch $EcsBatch' (found %d assignments)." % len(batches))
    try:
        batch = json.loads(base64.b64decode(batches[0], validate=True).decode("utf-8"))
    except (binascii.Error, ValueError) as exc:
        raise ScriptRefused("Invoke-EcsBatch : the batch is not base64 of UTF-8 JSON: %s" % exc,
                            "NotSpecified: (:) [Invoke-EcsBatch], FormatException", "FormatException,Invoke-EcsBatch") from None
    # The checks Invoke-EcsBatch (prelude.ps1) makes before running anything, with its messages.
    if not isinstance(batch, dict) or batch.get("contract") != spec["contract"]:
        contract_seen = batch.get("contract") if isinstance(batch, dict) else None
        raise _thrown("ecs_windows.task_iam: batch contract %s does not match the script's contract %d"
                      % ("" if contract_seen is None else contract_seen, spec["contract"]))
    calls = []
    for call in batch.get("ops") or []:
        name = call.get("op") if isinstance(call, dict) else None
        if not isinstance(name, str) or not re.match(r"^[a-z][a-z_]*$", name):
            raise _thrown("ecs_windows.task_iam: invalid op name '%s'" % ("" if name is None else name))
        op = spec["ops"].get(name)
        function = op["function"] if op else "Invoke-EcsOp" + name.replace("_", "")
        if op is None or not _function_defined(script, function):
            raise _thrown("ecs_windows.task_iam: op '%s' is not defined in this script (%s)" % (name, function))
        # Stricter than PowerShell (the contract's rules): the marker lists every op, the script defines
        # the functions an op uses, and the arguments match the op's schema.
        if name not in marker_ops:
            raise ScriptRefused("ecs-windows-sim refused the script: op %r runs in the batch but is missing from the "
                                "marker line (%s)." % (name, first))
        for used in op["uses"]:
            function = spec["ops"][used]["function"]
            if not _function_defined(script, function):
                raise ScriptRefused(_NOT_RECOGNIZED % function, "ObjectNotFound: (%s:String) [], "
                                    "CommandNotFoundException" % function, "CommandNotFoundException")
        args = call.get("args")
        error = jsonschema.exceptions.best_match(spec["_validators"][name, "args"].iter_errors(args))
        if error is not None:
            raise _refuse_args(op["function"], error)
        calls.append((name, args))
    return calls


def emulation(name: str):
    """The emulation module of an op: ecs_windows_sim.ops.<name>, with run(state, args) -> result."""
    return importlib.import_module("%s.ops.%s" % (__package__, name))


def run_calls(state: dict, calls: list[tuple[str, dict]]) -> dict:
    """Run validated calls in order; the output document of the contract."""
    spec = contract()
    results, error = [], None
    for index, (name, args) in enumerate(calls):
        try:
            result = emulation(name).run(state, args)
        except OpError as exc:
            if exc.category not in spec["error_categories"]:
                raise SimulatorBug("op %s raised unknown error category %r" % (name, exc.category)) from None
            error = {"op": name, "index": index, "category": exc.category, "message": exc.message}
            break
        problem = jsonschema.exceptions.best_match(spec["_validators"][name, "result"].iter_errors(result))
        if problem is not None:
            raise SimulatorBug("emulation of op %s returned a result that violates its schema at %s: %s\nresult: %s"
                               % (name, _param_path(problem) or "(top)", problem.message, json.dumps(result)))
        results.append({"op": name, "result": result})
    return {"contract": spec["contract"], "results": results, "error": error}


def run_script(state: dict, script: str) -> tuple[int, bytes, bytes]:
    """rc, stdout, stderr of powershell.exe running this op script on the modelled host."""
    try:
        calls = parse_script(script)
    except ScriptRefused as exc:
        return 1, b"", error_clixml(exc.message, category_info=exc.category_info, error_id=exc.error_id)
    document = run_calls(state, calls)
    return 0, (json.dumps(document, separators=(",", ":")) + "\r\n").encode("ascii"), b""
