"""Every packaged PowerShell script parses with a real PowerShell grammar and declares what Python binds to it.

Bindings are found statically: calls of the form `Command.script("<name>", {"Param": ...})` anywhere under
`psbridge/`. Each key of the dict literal must be declared in the script's top-level `param(...)` block.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from pathlib import Path

import pytest
import tree_sitter_powershell as tsp
from tree_sitter import Language, Node, Parser, Tree

import psbridge
from psbridge import ps

PACKAGE_DIR = Path(psbridge.__file__).parent
PARSER = Parser(Language(tsp.language()))


@dataclasses.dataclass(frozen=True)
class Binding:
    """One `Command.script(...)` call. `script`/`keys` are None when they are not literals (uncheckable)."""

    where: str
    script: str | None
    keys: tuple[str, ...] | None


def parse(text: str) -> Tree:
    return PARSER.parse(text.encode("utf-8"))


def _snippet(node: Node, limit: int = 60) -> str:
    """The node's text; long ones keep head and tail, since an ERROR's real culprit is often at its end."""
    text = (node.text or b"").decode("utf-8", errors="replace")
    return repr(text) if len(text) <= limit else f"{text[: limit // 2]!r} ... {text[-limit // 2 :]!r}"


def syntax_errors(text: str) -> list[str]:
    """`line:col` (1-based) and text of every ERROR or MISSING node; empty when the script parses cleanly."""
    root = parse(text).root_node
    errors: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        line, col = node.start_point.row + 1, node.start_point.column + 1
        if node.is_missing:
            errors.append(f"{line}:{col}: missing {node.type!r}")
        elif node.type == "ERROR":
            end = f"{node.end_point.row + 1}:{node.end_point.column + 1}"
            errors.append(f"{line}:{col}: syntax error (through {end}) at {_snippet(node)}")
        # Only subtrees flagged with has_error can contain ERROR or MISSING nodes.
        stack.extend(child for child in reversed(node.children) if child.has_error or child.is_missing)
    if root.has_error and not errors:  # should not happen, but never let a flagged tree pass
        errors.append("1:1: tree-sitter flagged the tree as erroneous")
    return sorted(errors, key=lambda e: tuple(int(n) for n in e.split(":", 2)[:2]))


def declared_params(text: str) -> set[str] | None:
    """Lower-cased names in the script's top-level `param(...)`, or None when there is no such block.

    Grammar shape: `program > param_block > parameter_list > script_parameter > variable`, where the
    variable is `$Name` or `${Name}` (a `braced_variable` child). A `param_block` nested in a function
    sits under `statement_list > function_statement > script_block` and is deliberately not looked at.
    """
    root = parse(text).root_node
    block = next((child for child in root.children if child.type == "param_block"), None)
    if block is None:
        return None
    names: set[str] = set()
    for plist in (c for c in block.children if c.type == "parameter_list"):
        for param in (c for c in plist.children if c.type == "script_parameter"):
            variable = next(c for c in param.children if c.type == "variable")
            name = (variable.text or b"").decode("utf-8").removeprefix("$")
            names.add(name.removeprefix("{").removesuffix("}").lower())
    return names


def undeclared(text: str, keys: tuple[str, ...]) -> list[str]:
    """Bound keys missing from the top-level param block, compared case-insensitively like PowerShell."""
    declared = declared_params(text) or set()
    return [key for key in keys if key.lower() not in declared]


def _is_command_script(func: ast.expr) -> bool:
    """`Command.script` or `<module>.Command.script`."""
    if not (isinstance(func, ast.Attribute) and func.attr == "script"):
        return False
    owner = func.value
    return (isinstance(owner, ast.Name) and owner.id == "Command") or (
        isinstance(owner, ast.Attribute) and owner.attr == "Command"
    )


def script_bindings(source: str, filename: str) -> list[Binding]:
    """Every `Command.script(...)` call in a Python module, with its literal script name and parameter keys."""
    found: list[Binding] = []
    for call in ast.walk(ast.parse(source, filename)):
        if not (isinstance(call, ast.Call) and _is_command_script(call.func)):
            continue
        first = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
        script = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        params = call.args[1] if len(call.args) > 1 else None
        params = params or next((k.value for k in call.keywords if k.arg == "parameters"), None)
        keys: tuple[str, ...] | None = ()
        if isinstance(params, ast.Dict):
            literal = [k.value for k in params.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            keys = tuple(literal) if len(literal) == len(params.keys) else None  # `**spread` or computed key
        elif params is not None and not (isinstance(params, ast.Constant) and params.value is None):
            keys = None  # a variable or expression: cannot be checked statically
        found.append(Binding(f"{filename}:{call.lineno}", script, keys))
    return found


@functools.cache
def all_bindings() -> tuple[Binding, ...]:
    found: list[Binding] = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR.parent).as_posix()
        found.extend(script_bindings(path.read_text(encoding="utf-8"), rel))
    return tuple(found)


SCRIPTS = ps.names()


def test_there_are_scripts() -> None:
    assert SCRIPTS, "psbridge.ps.names() found no packaged scripts; the checks below would pass vacuously"


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_parses(name: str) -> None:
    errors = syntax_errors(ps.load(name))
    assert not errors, f"{name} has syntax errors:\n" + "\n".join(f"  {name}:{e}" for e in errors)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_declares_bound_params(name: str) -> None:
    text = ps.load(name)
    assert declared_params(text) is not None, f"{name} has no top-level param() block; declare one, even empty"
    problems = [
        f"{b.where} binds {key!r}"
        for b in all_bindings()
        if b.script == name and b.keys
        for key in undeclared(text, b.keys)
    ]
    assert not problems, f"parameters not declared in {name}'s param() block:\n  " + "\n  ".join(problems)


def test_bindings_name_existing_scripts_with_literal_params() -> None:
    problems: list[str] = []
    for b in all_bindings():
        if b.script is None:
            problems.append(f"{b.where}: script name is not a string literal; cannot be checked")
        elif b.script not in SCRIPTS:
            problems.append(f"{b.where}: no packaged script {b.script!r}")
        if b.keys is None:
            problems.append(f"{b.where}: parameters are not a dict literal with string keys; cannot be checked")
    assert not problems, "\n".join(problems)


# Self-tests: the helpers above must be able to fail.


def test_syntax_errors_reports_broken_script() -> None:
    errors = syntax_errors("param()\nfunction f {\n    if ($true) { 'x'\n}\n")
    assert errors and all(e[0].isdigit() for e in errors), errors
    assert syntax_errors("param([string]$A)\nWrite-Output $A\n") == []


def test_undeclared_reports_unknown_key_case_insensitively() -> None:
    text = "[CmdletBinding()]\nparam([Parameter(Mandatory)][string]$A, ${Other})\nfunction f { param($B) }\n$A\n"
    assert declared_params(text) == {"a", "other"}  # the function's own `$B` is not a script parameter
    assert undeclared(text, ("a", "OTHER", "B")) == ["B"]
    assert declared_params("Write-Output 1\n") is None


def test_script_bindings_finds_positional_and_keyword_params() -> None:
    source = (
        "from psbridge import command\n"
        "Command.script('a/X.ps1', {'One': 1})\n"
        "command.Command.script('a/Y.ps1', parameters={'Two': 2}, idempotent=False)\n"
        "Command.script('a/Z.ps1')\n"
        "Command.script(name, {**extra})\n"
        "Command.cmdlet('Get-Item', {'Path': 'x'})\n"
    )
    assert script_bindings(source, "m.py") == [
        Binding("m.py:2", "a/X.ps1", ("One",)),
        Binding("m.py:3", "a/Y.ps1", ("Two",)),
        Binding("m.py:4", "a/Z.ps1", ()),
        Binding("m.py:5", None, None),
    ]
