"""Run an op-contract script (docs/dev/op-contract.md) against a host's state.

The script is checked the way PowerShell would meet it: the marker, the op functions the script defines,
the base64 JSON batch, each op's arguments against its JSON Schema in contract.json. Anything PowerShell
would reject ends with rc 1 and a CLIXML error on stderr. Ops then run in order as Python emulations
(`ops/<op>.py`); every result is checked against its schema, and a mismatch raises SimulatorBug.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import importlib
import json
import os
import pathlib
import re
import sys
import zlib

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
            schema = dict(spec[part], **{"$defs": contract["$defs"]})
            jsonschema.Draft202012Validator.check_schema(schema)
            validators[name, part] = jsonschema.Draft202012Validator(schema)
    contract["_validators"] = validators
    contract["_batch"] = jsonschema.Draft202012Validator(contract["batch"])
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


@dataclasses.dataclass
class Batch:
    calls: list[tuple[str, dict]]
    lock: dict | None  # {wait_s, holder}: the batch holds the host lock while it runs
    store: bool = False  # a library sent along may be cached


_FROM_BASE64 = ('Exception calling "FromBase64String" with "1" argument(s): "The input is not a valid Base-64 string as '
                'it contains a non-base 64 character, more than two padding characters, or an illegal character among '
                'the padding characters. "')


def _inflate(text: str) -> str:
    """Expand-EcsText (bootstrap.ps1) or the loader's inline equivalent: FromBase64String, raw inflate, UTF-8."""
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ScriptRefused(_FROM_BASE64, "NotSpecified: (:) [], MethodInvocationException", "FormatException") from None
    try:
        return zlib.decompress(packed, -15).decode("utf-8", errors="replace")
    except zlib.error:
        raise ScriptRefused('Exception calling "ReadToEnd" with "0" argument(s): "Block length does not match with '
                            'its complement."', "NotSpecified: (:) [], MethodInvocationException",
                            "InvalidDataException") from None


@dataclasses.dataclass
class Transport:
    """What loader.ps1 and bootstrap.ps1 read from stdin: library sha256, the batch's code (or None: the cached library
    is to run), a library to cache (or None), the base64 batch."""

    library_hash: str
    code: str | None
    library: str | None
    batch: str


def unpack(stdin: bytes) -> Transport:
    """stdin as the loader splits it into lines; the bootstrap (line 1) must be the collection's (its two defining
    steps are checked), then the other lines are read as bootstrap.ps1 reads them. ScriptRefused with the .NET
    exception text where PowerShell would fail."""
    lines = stdin.decode("ascii", errors="replace").splitlines() + [""] * 5
    bootstrap = _inflate(lines[0])
    if "function Expand-EcsText" not in bootstrap or "$EcsBatch = [string]$EcsLines[4]" not in bootstrap:
        raise ScriptRefused("ecs-windows-sim refused the script: the loader's first stdin line is not the collection's "
                            "bootstrap (powershell/bootstrap.ps1).")
    return Transport(lines[1], _inflate(lines[2]) if lines[2] else None, _inflate(lines[3]) if lines[3] else None, lines[4])


def with_batch(code: str, batch: str) -> str:
    """The script text the code runs as, with the batch assigned where build_script writes it."""
    invoke = "Invoke-EcsBatch -EncodedBatch $EcsBatch"
    head, found, tail = code.rpartition(invoke)
    if not found:
        return code
    return head + "$EcsBatch = '%s'\n" % batch + invoke + tail


def parse_script(script: str) -> Batch:
    """The validated calls of a script and its lock; ScriptRefused where PowerShell (or the contract) would fail."""
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
    problem = jsonschema.exceptions.best_match(spec["_batch"].iter_errors(batch))
    if problem is not None:  # stricter than Invoke-EcsBatch: the contract's batch schema
        raise ScriptRefused("ecs-windows-sim refused the script: the batch does not match the contract's batch schema "
                            "at %s: %s" % (_param_path(problem) or "(top)", problem.message))
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
    return Batch(calls, batch.get("lock"), bool(batch.get("store")))


def emulation(name: str):
    """The emulation module of an op: ecs_windows_sim.ops.<name>, with run(state, args) -> result."""
    return importlib.import_module("%s.ops.%s" % (__package__, name))


def run_calls(state: dict, calls: list[tuple[str, dict]], error: dict | None = None, cache: str | None = None) -> dict:
    """Run validated calls in order; the output document of the contract (`error`: the batch failed before its
    first op ran, e.g. on the host lock)."""
    spec = contract()
    results = []
    for index, (name, args) in enumerate([] if error else calls):
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
    return {"contract": spec["contract"], "cache": cache, "results": results, "error": error}


def output(document: dict) -> tuple[int, bytes, bytes]:
    """rc, stdout, stderr of a script that wrote this document."""
    return 0, (json.dumps(document, separators=(",", ":")) + "\r\n").encode("ascii"), b""


def refused(exc: ScriptRefused) -> tuple[int, bytes, bytes]:
    return 1, b"", error_clixml(exc.message, category_info=exc.category_info, error_id=exc.error_id)
