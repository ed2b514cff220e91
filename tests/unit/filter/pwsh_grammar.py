# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check generated PowerShell with the project's static check, and split its tree into quoted strings and code.

The static check is check_powershell() of tests/unit/test_powershell_static.py (tree-sitter-powershell grammar,
Windows PowerShell 5.1 rules: no parse error, no alias, no PowerShell 7 syntax, ASCII only).
"""

from __future__ import annotations

import importlib.util
import pathlib

import tree_sitter_powershell
from tree_sitter import Language, Parser

_PARSER = Parser(Language(tree_sitter_powershell.language()))
_STATIC = pathlib.Path(__file__).resolve().parents[1] / "test_powershell_static.py"


def _load_static_check():
    spec = importlib.util.spec_from_file_location("_project_powershell_static", _STATIC)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check_powershell


check_powershell = _load_static_check()


def parse(script):
    """The tree-sitter tree of `script`, after the project's static check found no problem in it."""
    problems = check_powershell(script.encode("utf-8"))
    assert not problems, "PowerShell static check:\n" + "\n".join(problems)
    tree = _PARSER.parse(script.encode("utf-8"))
    errors = []

    def visit(node):
        if node.type == "ERROR" or node.is_missing:
            errors.append("%s at %s: %r" % (node.type, node.start_point, node.text[:60]))
        for child in node.children:
            visit(child)

    visit(tree.root_node)
    assert not errors, "PowerShell does not parse:\n" + "\n".join(errors)
    return tree


def split_strings(tree):
    """(verbatim string values, text of every leaf outside a string literal)."""
    strings, code = [], []

    def visit(node):
        if node.type == "verbatim_string_characters":
            text = node.text.decode("utf-8")
            strings.append(text[1:-1].replace("''", "'"))
            return
        if node.type in ("expandable_string_literal", "expandable_here_string_literal"):
            code.append(node.text.decode("utf-8"))  # expandable strings count as code: they run $()
            return
        if node.child_count == 0:
            code.append(node.text.decode("utf-8"))
        for child in node.children:
            visit(child)

    visit(tree.root_node)
    return strings, code


def command_names(tree):
    """Names of the commands the script invokes (the grammar's command_name nodes)."""
    names = []

    def visit(node):
        if node.type == "command_name":
            names.append(node.text.decode("utf-8"))
        for child in node.children:
            visit(child)

    visit(tree.root_node)
    return names
