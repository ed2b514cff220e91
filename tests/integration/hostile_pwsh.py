# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read PowerShell that the collection hands to people (fix texts, user data) the way Windows PowerShell reads it.

The project's parser (tree-sitter-powershell, used by tests/unit/test_powershell_static.py) and the 5.1 catalog
check only know the ASCII apostrophe as a single quote. PowerShell's tokenizer treats five characters alike
(CharTraits.IsSingleQuote: ' U+2018 U+2019 U+201A U+201B; plugins/plugin_utils/_pwsh_quote.py): any of them opens
and closes a verbatim string, and any two in a row inside one stand for the second. So `powershell_view` maps the
five to the apostrophe, which keeps every string boundary where PowerShell puts it, and the parser then sees the
commands PowerShell would run: a value that ends its string early shows up as code.

    tree = parse(powershell_view(fix))
    commands(tree)                  # ['Rename-NetAdapter', ...]: what pasting the fix runs
    verbatim_strings(tree)          # the string values, as read from the view
"""

from __future__ import annotations

import importlib
import pathlib
import sys

import tree_sitter_powershell
from tree_sitter import Language, Parser

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PARSER = Parser(Language(tree_sitter_powershell.language()))
_VIEW = str.maketrans({quote: "'" for quote in SINGLE_QUOTES})


def powershell_view(text: str) -> str:
    """`text` with PowerShell's five single-quote characters as the apostrophe (the same tokens as PowerShell's)."""
    return text.translate(_VIEW)


def parse(text: str):
    """The tree of `text` (already a powershell_view); fails on any parse error."""
    tree = _PARSER.parse(text.encode("utf-8"))
    errors = []

    def visit(node):
        if node.type == "ERROR" or node.is_missing:
            errors.append("%s at %s: %r" % (node.type, node.start_point, node.text[:60]))
        for child in node.children:
            visit(child)

    visit(tree.root_node)
    assert not errors, "PowerShell does not parse:\n%s\n%s" % ("\n".join(errors), text)
    return tree


def _nodes(node, kind):
    if node.type == kind:
        yield node
    for child in node.children:
        yield from _nodes(child, kind)


def commands(tree) -> list[str]:
    """The commands the text runs (command names and .NET static method calls)."""
    names = [node.text.decode("utf-8") for node in _nodes(tree.root_node, "command_name")]
    for call in _nodes(tree.root_node, "invokation_expression"):
        member = [child for child in call.children if child.type == "member_name"]
        if member:
            names.append(member[0].text.decode("utf-8"))
    return names


def _verbatim(node) -> str:
    return node.text.decode("utf-8")[1:-1].replace("''", "'")


def verbatim_strings(tree) -> list[str]:
    return [_verbatim(node) for node in _nodes(tree.root_node, "verbatim_string_characters")]


def argument_value(node) -> str | None:
    """The value of an argument made only of verbatim strings joined with `+` (as quote_pwsh writes one), or None for
    `$null`; anything else fails (a value must never be code)."""
    leaves = []

    def visit(current):
        if current.type == "verbatim_string_characters":
            leaves.append(_verbatim(current))
            return
        if current.child_count == 0:
            text = current.text.decode("utf-8")
            assert text in ("(", ")", "+", "$null") or not text.strip(), "code in an argument: %r" % text
            if text == "$null":
                leaves.append(None)
            return
        for child in current.children:
            visit(child)

    visit(node)
    if leaves == [None]:
        return None
    assert leaves and None not in leaves, node.text
    return "".join(leaves)


def set_machine_env_calls(tree) -> list[tuple[str, str | None]]:
    """(name, value) of every [Environment]::SetEnvironmentVariable(name, value, 'Machine') in the tree."""
    out = []
    for call in _nodes(tree.root_node, "invokation_expression"):
        member = [child for child in call.children if child.type == "member_name"]
        if not member or member[0].text.decode("utf-8") != "SetEnvironmentVariable":
            continue
        arguments = list(_nodes(call, "argument_expression"))
        assert len(arguments) == 3 and argument_value(arguments[2]) == "Machine", call.text
        out.append((argument_value(arguments[0]), argument_value(arguments[1])))
    return out


def command_arguments(tree, name: str) -> dict[str, str | bool]:
    """The parameters of the first call of command `name`: -Switch -> True, -Name value -> the value."""
    for command in _nodes(tree.root_node, "command"):
        names = [child for child in command.children if child.type == "command_name"]
        if not names or names[0].text.decode("utf-8").lower() != name.lower():
            continue
        elements = [child for child in next(_nodes(command, "command_elements")).children
                    if child.type != "command_argument_sep"]
        out, index = {}, 0
        while index < len(elements):
            parameter = elements[index].text.decode("utf-8")
            assert elements[index].type == "command_parameter", parameter
            if index + 1 < len(elements) and elements[index + 1].type != "command_parameter":
                out[parameter[1:]] = argument_value(elements[index + 1])
                index += 2
            else:
                out[parameter[1:]] = True
                index += 1
        return out
    raise AssertionError("%s is not called" % name)


def collection_module(name: str):
    """A module of the collection (`plugins.plugin_utils._script`...), imported as Ansible imports it."""
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    from collection_path import collections_root

    if AnsibleCollectionConfig.collection_finder is None:
        _AnsibleCollectionFinder(paths=[str(collections_root())])._install()
    return importlib.import_module("ansible_collections.ecs_windows.task_iam." + name)


def static_check():
    """tests/unit/filter/pwsh_grammar.py: parse() runs the project's static check (test_powershell_static.py)."""
    collection_module("plugins.plugin_utils._contract")
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "unit" / "filter"))
    import pwsh_grammar

    return pwsh_grammar
