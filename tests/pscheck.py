"""A static check of psbridge's packaged PowerShell for the patterns that misbehave on a real host.

No PowerShell runs in the tests, so the tree-sitter PowerShell grammar (the one tests/unit/test_ps_scripts.py
parses every script with) is the only judge. Each finding reads `file:line: rule: snippet`. The rules:

- **bool-cast**: `[bool]` (or `[Boolean]`, `[System.Boolean]`) applied to a property read, `[bool]$x.Prop` or
  `[bool]($x.Prop)`, or a `[bool]$v = $x.Prop` typed assignment. PowerShell converts any non-empty string to
  `$true` (`[bool]'False'` is `$true`) and `$null` to `$false`, so a flag that arrives as text, or not at all,
  is misread. Parse it instead: `$x.Prop -eq $true` for a value that is a bool or its text, or
  `[System.Convert]::ToBoolean([string]$value)` after a `$null` check (Invoke-ExchangeCommand.ps1's Get-Flag).
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_booleans
- **array-of-property**: `@(...)` whose only content is a property read, `@($x.Prop)`: a `$null` property
  becomes an array of one `$null` element, so a loop over it runs once with nothing. `foreach ($p in $x.Prop)`
  runs zero times for `$null`; to test for a property, use `$x.PSObject.Properties['Name']`.
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_arrays
- **specify-kind**: any `SpecifyKind` call. `[datetime]::SpecifyKind` relabels a DateTime's Kind without
  converting its value, so a Local time (or text with an offset, parsed to Local) labelled Utc is off by the
  host's offset. Convert instead: `.ToUniversalTime()` on a DateTime, or `[DateTimeOffset]` for text.
  https://learn.microsoft.com/dotnet/api/system.datetime.specifykind
- **relative-path**: a path-valued parameter (`PATH_PARAMETERS`, written `-Name value` or `-Name:value`) of a
  command that is not one of PowerShell's own provider cmdlets (`PROVIDER_CMDLETS`, which resolve a relative
  path against the PowerShell location, `$PWD`) is given a relative literal, or a variable whose latest
  assignment before the call is not a resolution. A module cmdlet hands the text to .NET, which resolves it
  against the process's working directory, not `$PWD`
  (https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_locations). An
  assignment resolves when its right side calls `GetUnresolvedProviderPathFromPSPath` or
  `GetResolvedProviderPathFromPSPath` (`$ExecutionContext.SessionState.Path`, `$PSCmdlet`), `Resolve-Path`,
  `Convert-Path` or `GetFullPath` (`[System.IO.Path]`: the process directory, so only for paths already
  absolute), reads `.FullName` / `.ProviderPath` (of an item a provider cmdlet returned), calls
  `GetTempPath` / `GetFolderPath` (always absolute), or is a `Join-Path` whose `-Path` is itself resolved. A
  script parameter that is never reassigned is not resolved. Not seen: paths inside a splatted hashtable
  (`@Arguments`), paths inside an expandable string, and paths handed to .NET methods; resolve those where
  the hashtable or string is built.
- **global-scope**: scripts run in a local scope (the transport sends `UseLocalScope` true), so anything that
  outlives a call is global on purpose and listed in `GLOBAL_ALLOWED`, with why, and in `psbridge.ps`'s module
  docstring. Outside that list, the check flags every `$global:` variable (read or written), every
  `global:`/`script:` function definition and `function:`/`variable:`/`alias:` drive path with a `global:` or
  `script:` scope, every `-Scope` other than `Local`, `Private` or `0`, every `Import-Module -Global`, and
  every assignment to a `$script:` variable (which, in a script run in a local scope, may reach the global
  scope).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import tree_sitter_powershell as tsp
from tree_sitter import Language, Node, Parser

import psbridge
from psbridge import ps

PARSER = Parser(Language(tsp.language()))
PS_DIR = Path(psbridge.__file__).parent / "ps"

BOOL_TYPES = frozenset({"bool", "boolean", "system.boolean"})
# Parameter names that take a file-system path in PowerShell's and Microsoft's modules (compared lower-case).
PATH_PARAMETERS = frozenset(
    {
        "path",
        "literalpath",
        "pspath",
        "filepath",
        "outputpath",
        "destinationpath",
        "destination",
        "targetpath",
        "exportpath",
        "logpath",
        "folder",
        "folderpath",
        "outputfolder",
        "directory",
        "directorypath",
        "outputdirectory",
    }
)
# PowerShell's own cmdlets that resolve a relative path against the PowerShell location (about_Locations,
# about_Providers), plus Microsoft.PowerShell.Archive, which resolves through the provider API as well.
PROVIDER_CMDLETS = frozenset(
    {
        "add-content",
        "clear-content",
        "clear-item",
        "compress-archive",
        "convert-path",
        "copy-item",
        "expand-archive",
        "export-clixml",
        "export-csv",
        "get-childitem",
        "get-content",
        "get-filehash",
        "get-item",
        "get-itemproperty",
        "import-clixml",
        "import-csv",
        "join-path",
        "move-item",
        "new-item",
        "out-file",
        "push-location",
        "remove-item",
        "remove-itemproperty",
        "rename-item",
        "resolve-path",
        "set-content",
        "set-item",
        "set-itemproperty",
        "set-location",
        "split-path",
        "test-path",
    }
)
RESOLVING_METHODS = frozenset(
    {"getunresolvedproviderpathfrompspath", "getresolvedproviderpathfrompspath", "getfullpath"}
)
ABSOLUTE_METHODS = frozenset({"gettemppath", "getfolderpath"})  # [IO.Path]::GetTempPath(), [Environment]::...
RESOLVING_COMMANDS = frozenset({"resolve-path", "convert-path"})
RESOLVED_PROPERTIES = frozenset({"fullname", "providerpath"})
LOCAL_SCOPES = frozenset({"local", "private", "0"})

# What may outlive a script, by (script, kind, lower-case name). Every entry must be used by its script
# (test_ps_patterns checks) and named in psbridge/ps/__init__.py's docstring.
GLOBAL_ALLOWED: dict[tuple[str, str, str], str] = {
    ("exchange/Invoke-ExchangeCommand.ps1", "variable", "psbridgeexchangelistings"): (
        "paging state: the rows of an unfinished listing, read by the next call with -Cursor"
    ),
    ("exchange/Connect-ExchangeServer.ps1", "variable", "psbridgeexchangeserversession"): (
        "the session to the Exchange server, removed by the -Disconnect call"
    ),
    ("exchange/Connect-ExchangeServer.ps1", "module", "*"): (
        "the session's proxy module (Get-OnPremMailbox, ...), used by later Invoke-ExchangeCommand.ps1 calls"
    ),
    ("cloudsync/Invoke-AADCloudSyncTools.ps1", "module", "*"): (
        "AADCloudSyncTools, imported once per runspace: its sign-in state lives in the module"
    ),
    ("cloudsync/Invoke-AADCloudSyncTools.ps1", "function", "start-sleep"): (
        "MSAL.PS's module code resolves Start-Sleep in its module scope, then the global one; the override "
        "relays the device-code text between sleeps and is removed in the same call's finally block"
    ),
}

_WRAPPERS_WITH_PARENS = frozenset({"parenthesized_expression"})
_LEAVES = frozenset({"string_literal", "variable"})  # their one child is a detail of the same token


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    snippet: str
    allowed_by: tuple[str, str, str] | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.snippet}"


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _snippet(node: Node, limit: int = 80) -> str:
    text = " ".join(_text(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def core(node: Node) -> Node:
    """The expression a node stands for, through the grammar's one-child wrapper chain (pipeline, ...,
    unary_expression) and parentheses: `($x.Prop)` is the member_access `$x.Prop`."""
    while node.named_child_count == 1 and node.type not in _LEAVES:
        child = node.named_children[0]
        if _text(child) != _text(node) and node.type not in _WRAPPERS_WITH_PARENS:
            break
        node = child
    return node


def _variable_name(node: Node) -> tuple[str, str]:
    """(scope, name) of a `variable` node, lower-case: `$global:Foo` and `${global:Foo}` give ('global', 'foo')."""
    text = _text(node).removeprefix("$").removeprefix("@").lower()
    text = text.removeprefix("{").removesuffix("}")
    scope, _, name = text.rpartition(":")
    return scope, name


def _is_bool_cast(node: Node) -> Node | None:
    """The operand of a `[bool]` cast_expression, or None."""
    if node.type != "cast_expression":
        return None
    literal = next((c for c in node.named_children if c.type == "type_literal"), None)
    spec = next((c for c in literal.named_children if c.type == "type_spec"), None) if literal else None
    if spec is None or _text(spec).lower() not in BOOL_TYPES:
        return None
    return node.named_children[-1]


def _assignments(root: Node) -> list[tuple[int, str, Node]]:
    """(start byte, lower-case variable name, right side) of every assignment to a plain variable."""
    found = []
    for node in _walk(root):
        if node.type != "assignment_expression" or node.named_child_count < 3:
            continue
        left = core(node.named_children[0])
        if left.type == "cast_expression":  # a typed assignment, `[string]$v = ...`
            left = core(left.named_children[-1])
        if left.type == "variable":
            found.append((node.start_byte, _variable_name(left)[1], node.named_children[-1]))
    return found


def _command_arguments(command: Node) -> Iterator[tuple[str, Node | None]]:
    """(lower-case parameter name, its value node or None) for each `-Name value` / `-Name:value`."""
    elements = next((c for c in command.named_children if c.type == "command_elements"), None)
    if elements is None:
        return
    items = [c for c in elements.named_children if c.type != "command_argument_sep"]
    for index, item in enumerate(items):
        if item.type != "command_parameter":
            continue
        following = items[index + 1] if index + 1 < len(items) else None
        value = following if following is not None and following.type != "command_parameter" else None
        yield _text(item).removeprefix("-").rstrip(":").lower(), value


def _is_absolute_literal(text: str) -> bool:
    value = text.strip("'\"")
    return bool(re.match(r"^([A-Za-z]:[\\/]|\\\\|//|[A-Za-z][\w.]*::|[A-Za-z]+:)", value))


class _Checker:
    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.path = f"psbridge/ps/{name}"
        self.root = PARSER.parse(text.encode("utf-8")).root_node
        self.assignments = _assignments(self.root)
        self.findings: list[Finding] = []

    def add(self, node: Node, rule: str, allow: tuple[str, str] | None = None) -> None:
        key = (self.name, *allow) if allow else None
        allowed = key if key in GLOBAL_ALLOWED else None
        self.findings.append(Finding(self.path, node.start_point.row + 1, rule, _snippet(node), allowed))

    def run(self) -> list[Finding]:
        for node in _walk(self.root):
            handler = getattr(self, f"_on_{node.type}", None)
            if handler is not None:
                handler(node)
        unique = {(f.line, f.rule, f.snippet): f for f in self.findings}
        return sorted(unique.values(), key=lambda f: (f.line, f.rule, f.snippet))

    # -- bool-cast, array-of-property, specify-kind ----------------------------------------------------------

    def _on_cast_expression(self, node: Node) -> None:
        operand = _is_bool_cast(node)
        if operand is not None and core(operand).type == "member_access":
            self.add(node, "bool-cast")

    def _on_assignment_expression(self, node: Node) -> None:
        if node.named_child_count < 3:
            return
        left = core(node.named_children[0])
        if _is_bool_cast(left) is not None and core(node.named_children[-1]).type == "member_access":
            self.add(node, "bool-cast")
        elif left.type == "variable" and _variable_name(left)[0] == "script":
            self.add(node, "global-scope", ("script-variable", _variable_name(left)[1]))

    def _on_array_expression(self, node: Node) -> None:
        body = next((c for c in node.named_children if c.type == "statement_list"), None)
        if body is not None and body.named_child_count == 1 and core(body.named_children[0]).type == "member_access":
            self.add(node, "array-of-property")

    def _on_member_name(self, node: Node) -> None:
        if _text(node).lower() == "specifykind":
            self.add(node.parent or node, "specify-kind")

    # -- relative-path, and the global scope through commands ------------------------------------------------

    def _on_command(self, node: Node) -> None:
        name_node = next((c for c in node.named_children if c.type == "command_name"), None)
        command = _text(name_node).lower() if name_node is not None else ""
        arguments = list(_command_arguments(node))
        if command not in PROVIDER_CMDLETS:
            for parameter, value in arguments:
                if parameter in PATH_PARAMETERS and value is not None and self._relative(core(value)):
                    self.add(node, "relative-path")
        for parameter, value in arguments:
            kind = command.rpartition("-")[2] or "scope"  # Set-Variable: variable, Import-Module: module
            if command == "import-module" and parameter == "global":
                self.add(node, "global-scope", ("module", "*"))
            elif parameter == "scope" and value is not None and _text(value).strip("'\"").lower() not in LOCAL_SCOPES:
                target = dict(arguments).get("name")
                label = "*" if kind == "module" else _text(target).strip("'\"").lower() if target else "?"
                self.add(node, "global-scope", (kind, label))

    def _relative(self, value: Node) -> bool:
        if value.type == "variable":
            return not self._resolved(value, value.start_byte)
        if value.type == "string_literal" and not any(c.type == "variable" for c in _walk(value)):
            return not _is_absolute_literal(_text(value))
        if value.type == "generic_token":
            return not _is_absolute_literal(_text(value))
        return False

    def _resolved(self, variable: Node, before: int, depth: int = 0) -> bool:
        """Whether the variable's latest assignment before `before` gives a full path."""
        name = _variable_name(variable)[1]
        latest = [(start, rhs) for start, var, rhs in self.assignments if var == name and start < before]
        return bool(latest) and depth < 8 and self._gives_full_path(latest[-1][1], latest[-1][0], depth + 1)

    def _gives_full_path(self, rhs: Node, at: int, depth: int) -> bool:
        """A resolving call or property anywhere in the expression, or `Join-Path` onto a full path."""
        for node in _walk(rhs):
            text = _text(node).lower()
            if node.type == "member_name" and text in RESOLVING_METHODS | ABSOLUTE_METHODS | RESOLVED_PROPERTIES:
                return True
            if node.type == "command_name" and text in RESOLVING_COMMANDS:
                return True
        command = core(rhs)
        name = next((c for c in command.named_children if c.type == "command_name"), None)
        if command.type != "command" or name is None or _text(name).lower() != "join-path":
            return False
        base = dict(_command_arguments(command)).get("path")
        if base is None:
            return False
        base = core(base)
        return self._resolved(base, at, depth) if base.type == "variable" else self._gives_full_path(base, at, depth)

    def _on_variable(self, node: Node) -> None:
        scope, name = _variable_name(node)
        if scope == "global":
            self.add(node, "global-scope", ("variable", name))

    def _on_function_statement(self, node: Node) -> None:
        name = next((c for c in node.named_children if c.type == "function_name"), None)
        scope, _, bare = _text(name).lower().rpartition(":") if name is not None else ("", "", "")
        if scope in ("global", "script"):
            self.add(node, "global-scope", ("function", bare))

    def _on_generic_token(self, node: Node) -> None:
        self._drive_path(node)

    def _on_string_literal(self, node: Node) -> None:
        self._drive_path(node)

    def _drive_path(self, node: Node) -> None:
        match = re.search(r"\b(function|variable|alias):(global|script):([\w-]+)", _text(node), re.IGNORECASE)
        if match:
            self.add(node, "global-scope", (match.group(1).lower(), match.group(3).lower()))


def check(text: str, name: str = "sample.ps1") -> list[Finding]:
    """Every finding in one script's text, allowed ones included (their `allowed_by` says which entry)."""
    return _Checker(text, name).run()


def problems(text: str, name: str = "sample.ps1") -> list[Finding]:
    """The findings that fail the check: everything not on `GLOBAL_ALLOWED`."""
    return [f for f in check(text, name) if f.allowed_by is None]


def check_packaged() -> list[Finding]:
    """Every finding, allowed ones included, over every packaged script."""
    return [f for name in ps.names() for f in check(ps.load(name), name)]
