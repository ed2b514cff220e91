# Copyright: (c) 2026, ecs_windows.task_iam contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static check of every .ps1 under plugins/: Windows PowerShell 5.1 only (docs/dev/powershell.md).

Parses with a real PowerShell grammar (tree-sitter-powershell) and rejects: parse errors, PowerShell 7-only
syntax, aliases and shorthand functions used as command names, PowerShell 7-only cmdlets and parameters,
Invoke-Expression, non-ASCII bytes and CR characters. The negative cases below prove each rule can fail.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re

import jsonschema
import pytest
import tree_sitter_powershell
from tree_sitter import Language, Parser

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS_DIR = ROOT / "plugins" / "plugin_utils" / "powershell"
from ansible_collections.ecs_windows.task_iam.plugins.plugin_utils import _contract, _script  # noqa: E402  (conftest: collection path)

CONTRACT = json.loads((PS_DIR / "contract.json").read_text(encoding="ascii"))
PARSER = Parser(Language(tree_sitter_powershell.language()))

# Every alias Windows PowerShell 5.1 defines at startup (InitialSessionState.BuiltInAliases plus the
# aliases its bundled modules export: gcb/scb, gtz/stz, fhx, gin, CFS), and built-in shorthand functions.
ALIASES = frozenset(
    """
    % ? ac asnp cat cd CFS chdir clc clear clhy cli clp cls clv cnsn compare copy cp cpi cpp curl cvpa dbp
    del diff dir dnsn ebp echo epal epcsv epsn erase etsn exsn fc fhx fl foreach ft fw gal gbp gc gcb gci
    gcm gcs gdr gerr ghy gi gin gjb gl gm gmo gp gps gpv group gsn gsnp gsv gtz gu gv gwmi h history icm
    iex ihy ii ipal ipcsv ipmo ipsn irm ise iwmi iwr kill lp ls man md measure mi mount move mp mv nal ndr
    ni nmo npssc nsn nv ogv oh popd ps pushd pwd r rbp rcjb rcsn rd rdr ren ri rjb rm rmdir rmo rni rnp
    rp rsn rsnp rujb rv rvpa rwmi sajb sal saps sasv sbp sc scb select set shcm si sl sleep sls sort sp
    spjb spps spsv start stz sujb sv swmi tee trcm type wget where wjb write
    """.lower().split()
)
SHORTHAND_FUNCTIONS = frozenset(["mkdir", "more", "help", "pause", "oss", "cd..", "cd\\"])
PS7_ONLY_COMMANDS = frozenset(
    name.lower()
    for name in (
        "Get-Error", "Join-String", "Test-Json", "ConvertFrom-Markdown", "Show-Markdown", "Get-MarkdownOption",
        "Set-MarkdownOption", "Get-Uptime", "Remove-Alias", "Remove-Service", "Get-PSSubsystem",
        "Enable-ExperimentalFeature", "Disable-ExperimentalFeature", "Get-ExperimentalFeature",
        "ConvertTo-CliXml", "ConvertFrom-CliXml",
    )
)
# Parameters added after Windows PowerShell 5.1 to cmdlets that exist in 5.1.
PS7_ONLY_PARAMETERS = {
    "foreach-object": {"-parallel", "-throttlelimit", "-asjob", "-timeoutseconds"},
    "convertfrom-json": {"-ashashtable", "-depth", "-noenumerate", "-datekind"},
    "convertto-json": {"-asarray", "-enumsasstrings", "-escapehandling"},
    "invoke-webrequest": {
        "-skipcertificatecheck", "-skiphttperrorcheck", "-statuscodevariable", "-responseheadersvariable",
        "-authentication", "-token", "-maximumretrycount", "-retryintervalsec", "-sslprotocol",
        "-skipheadervalidation", "-noproxy", "-resume", "-preserveauthorizationonredirect", "-httpversion",
        "-custommethod", "-form", "-connectiontimeoutseconds", "-operationtimeoutseconds",
    },
    "get-content": {"-asbytestream"},
    "set-content": {"-asbytestream"},
    "add-content": {"-asbytestream"},
    "start-process": {"-environment"},
    "test-connection": {"-targetname", "-tcpport", "-ping", "-traceroute", "-mtusize", "-repeat"},
    "select-object": {"-skipindex"},
    "get-childitem": {"-followsymlink"},
}
PS7_ONLY_PARAMETERS["invoke-restmethod"] = PS7_ONLY_PARAMETERS["invoke-webrequest"]
PS7_ONLY_ENCODINGS = frozenset(["utf8nobom", "utf8bom", "ansi"])
FORBIDDEN_COMMANDS = {"invoke-expression": "Invoke-Expression runs text as code: call commands directly"}

# Tokens that only exist in PowerShell 7, searched in the source with strings and comments blanked out.
PS7_OPERATORS = (
    (re.compile(r"\?\?=?"), "null-coalescing operator ?? / ??= (PowerShell 7)"),
    (re.compile(r"\?\.|\?\["), "null-conditional member access ?. / ?[ (PowerShell 7)"),
    (re.compile(r"&&|\|\|"), "pipeline chain operator && / || (PowerShell 7)"),
    (re.compile(r"[\w)\]'\"]\s+\?\s+[^\s{]"), "ternary operator ? : (PowerShell 7)"),
    (re.compile(r"(?im)^\s*clean\s*\{"), "clean block (PowerShell 7.3)"),
)
# Not 7-only, but wrong in 5.1 too: `$list -eq $null` filters the list instead of testing it.
STYLE_RULES = (
    (re.compile(r"(?i)-[ci]?(?:eq|ne)\s+\$null\b"), "$null must be on the left of -eq/-ne"),
)
_BLANKED = frozenset(
    [
        "comment", "string_literal", "expandable_string_literal", "expandable_here_string_literal",
        "verbatim_string_characters", "verbatim_here_string_characters",
    ]
)


def _walk(node):
    """Every node under `node`, in document order (iterative: the trees are deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _line(node):
    return node.start_point[0] + 1


def _text(source, node):
    return source[node.start_byte:node.end_byte].decode("ascii", "replace")


def _blank_strings_and_comments(source, nodes):
    code = bytearray(source)
    for node in nodes:
        if node.type in _BLANKED:
            for index in range(node.start_byte, node.end_byte):
                if code[index] not in b"\n":
                    code[index] = ord(" ")
    return code.decode("ascii", "replace")


def _command_name(source, node):
    """The name a command node invokes, or None when it is computed (`& $fn`)."""
    for child in node.children:
        if child.type == "command_name":
            return _text(source, child)
        if child.type == "command_name_expr":
            text = _text(source, child)
            if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
                return text[1:-1]
            return None
    return None


def _check_command(source, node, problems):
    name = _command_name(source, node)
    if name is None:
        return
    lower = name.lower()
    line = _line(node)
    if lower in ALIASES:
        problems.append("line %d: alias '%s' used as a command: use the full cmdlet name" % (line, name))
    elif lower in SHORTHAND_FUNCTIONS:
        problems.append("line %d: shorthand function '%s': use the full cmdlet name" % (line, name))
    elif lower in PS7_ONLY_COMMANDS:
        problems.append("line %d: '%s' does not exist in Windows PowerShell 5.1" % (line, name))
    elif lower in FORBIDDEN_COMMANDS:
        problems.append("line %d: %s" % (line, FORBIDDEN_COMMANDS[lower]))
    elements = [n for n in _walk(node) if n.type in ("command_parameter", "generic_token", "array_literal_expression")]
    previous = None
    for element in elements:
        text = _text(source, element).strip()
        if element.type == "command_parameter":
            parameter = text.rstrip(":").lower()
            if parameter == "-parallel" or parameter in PS7_ONLY_PARAMETERS.get(lower, ()):
                problems.append("line %d: parameter %s of %s is PowerShell 7 only" % (_line(element), text, name))
            previous = parameter
            continue
        if previous == "-encoding" and text.strip("'\"").lower() in PS7_ONLY_ENCODINGS:
            problems.append("line %d: -Encoding %s is PowerShell 7 only" % (_line(element), text))
        previous = None


def check_powershell(source: bytes) -> list[str]:
    """Problems found in one PowerShell source; an empty list means it is clean."""
    problems = []
    for number, line in enumerate(source.split(b"\n"), 1):
        if b"\r" in line:
            problems.append("line %d: CR character (CRLF line ending): use LF only" % number)
        for delimiter in (b"{{", b"{%", b"{#"):
            if delimiter in line:
                problems.append("line %d: %s is a Jinja delimiter: a script must survive Ansible templating"
                                % (number, delimiter.decode()))
        high = [byte for byte in line if byte > 127]
        if high:
            problems.append("line %d: non-ASCII byte 0x%02x: scripts are ASCII only" % (number, high[0]))
    nodes = list(_walk(PARSER.parse(source).root_node))
    code = _blank_strings_and_comments(source, nodes)
    for pattern, message in PS7_OPERATORS + STYLE_RULES:
        for match in pattern.finditer(code):
            problems.append("line %d: %s" % (code.count("\n", 0, match.start()) + 1, message))
    for node in nodes:
        if node.type == "ERROR":
            problems.append("line %d: syntax error near %r" % (_line(node), _text(source, node).strip()[:40]))
        elif node.is_missing:
            problems.append("line %d: syntax error: missing %s" % (_line(node), node.type))
        elif node.type == "pipeline_chain_tail":
            problems.append("line %d: pipeline chain operator && / || (PowerShell 7)" % _line(node))
        elif node.type == "-parallel":
            problems.append("line %d: foreach -parallel is workflow/PowerShell 7 syntax" % _line(node))
        elif node.type == "command":
            _check_command(source, node, problems)
    return problems


def list_return_misuse(source: bytes) -> list[str]:
    """Calls of functions that return a list with `return , $list` (so 0/1 items stay a list) that lose it.

    The single object such a call emits is the whole list: piped into the next command it arrives as one
    object, inside @() it becomes a list of one list, and `return F` unrolls it again. Allowed uses: the
    right side of an assignment and a hashtable value.
    """
    tree = PARSER.parse(source)
    returners = set()
    for node in _walk(tree.root_node):
        if node.type == "function_statement" and re.search(r"\breturn\s*,", _text(source, node)):
            returners.update(_text(source, c).lower() for c in node.children if c.type == "function_name")
    problems = []
    for node in _walk(tree.root_node):
        if node.type != "command" or (_command_name(source, node) or "").lower() not in returners:
            continue
        chain = node.parent
        pipeline = chain.parent if chain is not None else None
        commands = [c for c in chain.children if c.type == "command"] if chain is not None else []
        holder = pipeline.parent.type if pipeline is not None and pipeline.parent is not None else None
        if len(commands) != 1 or holder not in ("assignment_expression", "hash_entry"):
            problems.append("line %d: %s returns a list as one object: assign it to a variable first"
                            % (_line(node), _command_name(source, node)))
    return problems


def _ps1_files():
    return sorted((ROOT / "plugins").rglob("*.ps1"))


# --- the collection's own scripts -------------------------------------------------------------------


def test_there_are_scripts_to_check():
    names = {path.name for path in _ps1_files()}
    assert {"loader.ps1", "prelude.ps1", "probe.ps1"} <= names


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_script_is_ascii(path):
    # The scripts travel as ASCII (contract.json, _script.py read them so) and Windows PowerShell 5.1 reads a file
    # without a BOM in the system's ANSI code page: a non-ASCII character would not survive either way.
    text = path.read_bytes()
    assert not [(n, line) for n, line in enumerate(text.splitlines(), 1) if not line.isascii()]


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_script_is_windows_powershell_51(path):
    assert check_powershell(path.read_bytes()) == []


def _here_strings(source):
    """Bodies of the verbatim here-strings (@'...'@): scripts the ops run inside containers."""
    tree = PARSER.parse(source)
    for node in _walk(tree.root_node):
        if node.type == "verbatim_here_string_characters":
            text = _text(source, node)
            yield _line(node), text[text.index("\n") + 1:text.rindex("\n")].encode("ascii") + b"\n"


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_embedded_scripts_are_windows_powershell_51(path):
    for line, body in _here_strings(path.read_bytes()):
        assert check_powershell(body) == [], "here-string at line %d" % line


def _function_names(path):
    source = path.read_bytes()
    tree = PARSER.parse(source)
    return [
        _text(source, child)
        for node in _walk(tree.root_node)
        if node.type == "function_statement"
        for child in node.children
        if child.type == "function_name"
    ]


def test_function_names_are_unique_across_prelude_and_ops():
    # Ops are concatenated into one script: a second definition would silently replace the first.
    seen = {}
    for path in sorted(PS_DIR.glob("*.ps1")):
        for name in _function_names(path):
            assert name.lower() not in seen, "%s defined in %s and %s" % (name, seen[name.lower()], path.name)
            seen[name.lower()] = path.name


@pytest.mark.parametrize("path", sorted(p for p in PS_DIR.glob("*.ps1") if p.name not in ("loader.ps1", "bootstrap.ps1")),
                         ids=lambda p: p.name)
def test_prelude_and_ops_only_define_at_load(path):
    # Loading the script must not run anything: top level holds functions and $Ecs* constants only (the loader and the
    # bootstrap it runs first are the two pieces that act).
    source = path.read_bytes()
    tree = PARSER.parse(source)
    for statements in (n for n in tree.root_node.children if n.type == "statement_list"):
        for statement in statements.children:
            if statement.type in ("function_statement", "comment"):
                continue
            text = _text(source, statement)
            assert statement.type == "pipeline" and re.match(r"\$Ecs[A-Za-z]+ = ", text), (
                "line %d: top-level statement %r" % (_line(statement), text[:60])
            )


def test_list_returning_functions_are_assigned_before_use():
    source = b"\n".join(path.read_bytes() for path in sorted(PS_DIR.glob("*.ps1")))
    assert list_return_misuse(source) == []


LIST_FUNCTION = "function Get-EcsItems {\n    return , @(1)\n}\n"


@pytest.mark.parametrize("use", [
    "$a = @(Get-EcsItems | Where-Object { $_ })\n",
    "foreach ($b in @(Get-EcsItems)) {\n    $c = $b\n}\n",
    "foreach ($b in Get-EcsItems) {\n    $c = $b\n}\n",
    "function Get-Other {\n    return Get-EcsItems\n}\n",
])
def test_list_return_misuse_is_rejected(use):
    assert list_return_misuse((LIST_FUNCTION + use).encode("ascii"))


def test_list_return_assignment_is_accepted():
    use = "$a = Get-EcsItems\n$h = @{ k = Get-EcsItems }\n$b = @($a | Where-Object { $_ })\n"
    assert list_return_misuse((LIST_FUNCTION + use).encode("ascii")) == []


@pytest.mark.parametrize("op", sorted(CONTRACT["ops"]))
def test_every_op_has_its_script_defining_its_function(op):
    path = PS_DIR / (op + ".ps1")
    assert path.is_file(), "op %s has no %s" % (op, path.name)
    function = CONTRACT["ops"][op]["function"]
    defined = _function_names(path)
    assert function in defined, "%s does not define %s (defines %s)" % (path.name, function, defined)


@pytest.mark.parametrize("op", sorted(CONTRACT["ops"]))
def test_function_name_follows_op_name(op):
    # Invoke-EcsBatch derives the function from the op name: 'Invoke-EcsOp' + op without '_' (case-insensitive).
    assert CONTRACT["ops"][op]["function"].lower() == "invoke-ecsop" + op.replace("_", "")


@pytest.mark.parametrize("op", sorted(CONTRACT["ops"]))
def test_op_reads_exactly_its_schema_arguments(op):
    text = (PS_DIR / (op + ".ps1")).read_text(encoding="ascii")
    read = set(re.findall(r"\$Arguments\.([A-Za-z_][A-Za-z0-9_]*)", text))
    assert read == set(CONTRACT["ops"][op]["args"]["properties"])


def test_contract_facts_reach_the_powershell_from_the_contract():
    # The contract version and error categories are written into every script by the builder, from contract.json;
    # the prelude does not restate them (and Invoke-EcsBatch checks the batch's version against it).
    prelude = (PS_DIR / "prelude.ps1").read_text(encoding="ascii")
    assert not re.search(r"^\$Ecs(ContractVersion|ErrorCategories)\s*=", prelude, re.M)
    script = _script.build_script([("probe", _contract.example("probe"))])
    version = re.search(r"^\$EcsContractVersion = (\d+)$", script, re.M)
    categories = re.search(r"^\$EcsErrorCategories = @\(([^)]*)\)$", script, re.M)
    assert version and int(version.group(1)) == CONTRACT["contract"]
    assert categories and re.findall(r"'([a-z_]+)'", categories.group(1)) == CONTRACT["error_categories"]
    assert "$batch.contract -ne $EcsContractVersion" in prelude


def _schema_key_sets(schema, found=None):
    """Property-name sets of every object schema inside a JSON schema ($refs into the contract's $defs followed)."""
    found = set() if found is None else found
    if isinstance(schema, dict):
        if "$ref" in schema:
            _schema_key_sets(CONTRACT["$defs"][schema["$ref"].rsplit("/", 1)[1]], found)
        if isinstance(schema.get("properties"), dict):
            found.add(frozenset(schema["properties"]))
        for key in ("properties",):
            for child in schema.get(key, {}).values():
                _schema_key_sets(child, found)
        for key in ("items", "additionalProperties"):
            _schema_key_sets(schema.get(key), found)
        for option in schema.get("oneOf", ()):
            _schema_key_sets(option, found)
    return found


def _ordered_literals(source):
    """(line, key set) of every `[ordered]@{...}` literal: the objects the ops put into their results."""
    tree = PARSER.parse(source)
    for node in _walk(tree.root_node):
        if node.type != "cast_expression" or not any(
            c.type == "type_literal" and _text(source, c).lower() == "[ordered]" for c in node.children
        ):
            continue
        bodies = [b for h in _walk(node) if h.type == "hash_literal_expression" for b in h.children
                  if b.type == "hash_literal_body"][:1]
        keys = set()
        for body in bodies:
            for entry in body.children:
                if entry.type == "hash_entry":
                    key = next((c for c in entry.children if c.type == "key_expression"), None)
                    if key is not None:
                        keys.add(_text(source, key).strip("'\""))
        yield _line(node), frozenset(keys)


# Objects that are not op results: the batch document and its error (op-contract.md), the routes read in a
# container (internal), the recover log line (host-model.md).
INTERNAL_OBJECTS = {
    "prelude.ps1": {
        frozenset(["contract", "cache", "results", "error"]), frozenset(["op", "result"]),
        frozenset(["op", "index", "category", "message"]),
        frozenset(["destination", "next_hop", "interface_index", "metric"]),
    },
    "recover_proxy.ps1": {frozenset(["time", "boot_id", "action", "before", "after", "removed", "error"])},
}


@pytest.mark.parametrize("path", sorted(PS_DIR.glob("*.ps1")), ids=lambda p: p.name)
def test_result_objects_have_the_schema_keys(path):
    # Every [ordered] object an op builds must have exactly the properties of an object in its result
    # schema (a typo or a missing key fails here, without Windows); prelude helpers serve every op.
    op = path.stem
    if op in CONTRACT["ops"]:
        allowed = _schema_key_sets(CONTRACT["ops"][op]["result"])
    else:
        allowed = set().union(*(_schema_key_sets(spec["result"]) for spec in CONTRACT["ops"].values()))
    allowed |= INTERNAL_OBJECTS.get(path.name, set())
    for line, keys in _ordered_literals(path.read_bytes()):
        if not keys:  # filled key by key (machine_env, files, services, converted values)
            continue
        assert keys in allowed, "%s line %d: [ordered] keys %s match no object of the result schema" % (
            path.name, line, sorted(keys))


def test_result_object_check_can_fail():
    typo = b"$r = [ordered]@{ changed = $true; stauts = 'Running'; start_type = 'Automatic' }\n"
    allowed = _schema_key_sets(CONTRACT["ops"]["service"]["result"])
    assert [keys for _line, keys in _ordered_literals(typo) if keys not in allowed]


# Representative arguments per op: the contract's examples, with hostile strings where the schema allows any
# string, to show they stay inside the base64 batch.
HOSTILE = "x'; Remove-Item C:\\ -Recurse; '$(Stop-Computer)`\n\"&&"
HOSTILE_OVERLAY = {
    "set_machine_env": {"set": {"ECS_CLUSTER": HOSTILE, "NO_PROXY": "169.254.169.254"}},
    "wait_registered": {"cluster": HOSTILE},
    "boot_task": {"script": HOSTILE, "description": HOSTILE},
    "wait_task_idle": {"task_name": HOSTILE},
}
REPRESENTATIVE_ARGS = {op: dict(_contract.example(op), **HOSTILE_OVERLAY.get(op, {})) for op in CONTRACT["ops"]}


def test_representative_args_cover_every_op():
    assert set(REPRESENTATIVE_ARGS) == set(CONTRACT["ops"])


@pytest.mark.parametrize("op", sorted(CONTRACT["ops"]))
def test_built_script_parses_cleanly(op):
    args = REPRESENTATIVE_ARGS[op]
    jsonschema.validate(args, _contract.schema(op, "args"))
    script = _script.build_script([(op, args)])
    assert check_powershell(script.encode("ascii")) == []
    assert HOSTILE not in script
    batch = re.search(r"^\$EcsBatch = '([A-Za-z0-9+/=]+)'$", script, re.M)
    assert json.loads(base64.b64decode(batch.group(1)))["ops"] == [{"op": op, "args": args}]


def test_built_script_of_a_whole_batch_parses_cleanly():
    calls = [(op, REPRESENTATIVE_ARGS[op]) for op in ("probe", "set_machine_env", "init_agent", "wait_registered", "probe")]
    assert check_powershell(_script.build_script(calls).encode("ascii")) == []


# --- the checker itself: every rule must be able to fail -----------------------------------------------

REJECTED = [
    ("$a = $b ?? 'default'\n", "null-coalescing"),
    ("$a ??= 5\n", "null-coalescing"),
    ("$n = $item?.Name\n", "null-conditional"),
    ("$n = $items?[0]\n", "null-conditional"),
    ("$v = $flag ? 'yes' : 'no'\n", "ternary"),
    ("Get-Service -Name x && Write-Output ok\n", "pipeline chain"),
    ("Get-Service -Name x || Write-Output failed\n", "pipeline chain"),
    ("function Test-Clean {\n    param($x)\n    process { $y = $x }\n    clean { $z = 1 }\n}\n", "clean block"),
    ("$items | ForEach-Object -Parallel { $_ }\n", "-Parallel"),
    ("workflow Test-Wf {\n    foreach -parallel ($a in $b) { $c = $a }\n}\n", "parallel"),
    ("$items | % { $_ }\n", "alias '%'"),
    ("$items | ? { $_ }\n", "alias '?'"),
    ("$items | where { $_ }\n", "alias 'where'"),
    ("$items | select -First 1\n", "alias 'select'"),
    ("$items | sort\n", "alias 'sort'"),
    ("$items | foreach { $_ }\n", "alias 'foreach'"),
    ("gci C:\\\n", "alias 'gci'"),
    ("ls\n", "alias 'ls'"),
    ("dir\n", "alias 'dir'"),
    ("$t = cat C:\\x.txt\n", "alias 'cat'"),
    ("echo hi\n", "alias 'echo'"),
    ("iex $text\n", "alias 'iex'"),
    ("curl https://example.com\n", "alias 'curl'"),
    ("wget https://example.com\n", "alias 'wget'"),
    ("sc query AmazonECS\n", "alias 'sc'"),
    ("& 'gci'\n", "alias 'gci'"),
    ("$x = ConvertFrom-Json -InputObject $t -AsHashtable\n", "-AsHashtable"),
    ("Invoke-WebRequest -Uri $u -SkipCertificateCheck\n", "-SkipCertificateCheck"),
    ("Set-Content -Path $p -Value $v -Encoding utf8NoBOM\n", "utf8NoBOM"),
    ("$e = Get-Error\n", "does not exist in Windows PowerShell 5.1"),
    ("mkdir C:\\x\n", "shorthand function"),
    ("Invoke-Expression $text\n", "Invoke-Expression"),
    ("if ($items -eq $null) {\n    $a = 1\n}\n", "$null must be on the left"),
    ("$a = (1 + \n", "syntax error"),
    ("function Broken {\n    $a = 1\n", "syntax error"),
    ("$a = 1\r\n$b = 2\r\n", "CR character"),
    ("$f = '{{.State.Running}}'\n", "Jinja delimiter"),
    ("$a = 'caf\xc3\xa9'\n", "non-ASCII"),
]


@pytest.mark.parametrize("snippet, expected", REJECTED, ids=[expected for _s, expected in REJECTED])
def test_checker_rejects(snippet, expected):
    source = snippet.encode("latin-1")
    problems = check_powershell(source)
    assert any(expected in problem for problem in problems), problems


ACCEPTED = [
    "$a = 'x && y || z ?? w ?. v'\n",
    "$a = \"gci | % { } $($b)\"\n",
    "# gci | % { $_ } ?? && ||\n$a = 1\n",
    "$h = @{ where = 1; select = 2 }\n",
    "$r = $list.Where({ $_ -gt 1 })\n",
    "$o = & sc.exe query AmazonECS\n",
    "$lines = netsh.exe interface portproxy show v4tov4\n",
    "Get-Item -Path ls\n",
    "$items | Where-Object { $_.Name -eq 'x' } | Select-Object -First 1 | Sort-Object -Property Name\n",
    "$items | ForEach-Object { $_ }\n",
    "foreach ($item in $items) {\n    $x = $item\n}\n",
    "using namespace System.Text\n$b = New-Object -TypeName StringBuilder\n",
    "$json = ConvertTo-Json -InputObject $x -Depth 10 -Compress\n",
    "$x = ConvertFrom-Json -InputObject $t\n",
    "Set-Content -Path $p -Value $v -Encoding UTF8\n",
    "$ok = $a -and -not $b -or ($c -eq $d)\n",
    "if ($null -eq $items) {\n    $a = 1\n}\n",
    "$v = if ($flag) { 'yes' } else { 'no' }\n",
    "& $function -Arguments $op.args\n",
    "$s = @'\nliteral ?? && text\n'@\n",
    "function Test-Blocks {\n    param($x)\n    begin { $a = 1 }\n    process { $b = $x }\n    end { $c = 2 }\n}\n",
]


@pytest.mark.parametrize("snippet", ACCEPTED)
def test_checker_accepts(snippet):
    assert check_powershell(snippet.encode("ascii")) == []
