"""Lazy re-exports for package `__init__` modules, so importing a package loads only what is used.

A package lists its public names once, as the imports of its `if TYPE_CHECKING:` block, each written
`from module import Name as Name` (the explicit re-export type checkers recognise):

    if TYPE_CHECKING:
        from psbridge.session import Session as Session

    __getattr__, __dir__ = _lazy.exporter(__name__, globals())

At run time nothing is imported until a name is first used; `__all__` is those names. The block is read
from the package's own source (with `ast`) the first time a name is looked up.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def exporter(
    package: str, namespace: dict[str, Any], *, also: tuple[str, ...] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module `__getattr__` that imports each TYPE_CHECKING name from its module on first access, and
    the module's `__dir__`. `also` are public names the module defines itself (in `__all__` too)."""
    table: dict[str, str] = {}

    def names() -> dict[str, str]:
        if not table:
            table.update(type_checking_imports(Path(namespace["__file__"])))
        return table

    def __getattr__(name: str) -> Any:
        if name == "__all__":
            value: Any = sorted({*names(), *also})
        elif name in names():
            value = getattr(importlib.import_module(names()[name]), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names()})

    return __getattr__, __dir__


def type_checking_imports(source: Path) -> dict[str, str]:
    """Each name a module imports under `if TYPE_CHECKING:`, to the module it comes from."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                    found.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return found
