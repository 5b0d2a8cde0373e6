"""Printing results: one JSON document on stdout, or readable text that fits the terminal.

Text is plain and fits the width `terminal_width()` gives (COLUMNS, else the terminal's when stdout is
one): the widest columns are narrowed and their cells wrap onto continuation lines under the column, at
spaces and after `.`, `-`, `_`, `/`, `\\`, `,` or `;` where they can; nothing is cut. Off a terminal
without COLUMNS, rows are not wrapped (one line per row, for grep). A nested object in a model's
`label  value` view is shown as `label.sub  value` rows (`label[0].sub` for a list of objects); a list of
plain values as `a, b`. A list table leaves out the fields that hold objects and says so in a last line
that points to `-o json`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pydantic import BaseModel


def emit(
    ctx: click.Context,
    data: BaseModel | Sequence[BaseModel],
    table: list[tuple[str, Any]] | None = None,
    *,
    columns: Sequence[str] | None = None,
) -> None:
    """Print a model or a list of models.

    `--output json`: the snake_case fields as one JSON document (an object, or an array for a list).
    Otherwise a model prints as `label  value` rows (`table`, or every field), and a list as aligned
    columns (`columns`, or every field that does not hold objects); a list whose named `columns` hold
    objects prints as one `label  value` view per item.
    """
    from pydantic import BaseModel  # only once there is something to print: keeps --help light

    if ctx.obj.output == "json":
        dumped = (
            data.model_dump(mode="json") if isinstance(data, BaseModel) else [m.model_dump(mode="json") for m in data]
        )
        click.echo(json.dumps(dumped, indent=2, ensure_ascii=False))
        return
    width = terminal_width()
    if isinstance(data, BaseModel):
        _echo(_details(table if table is not None else list(data.model_dump(mode="json").items()), width))
        return
    rows = [m.model_dump(mode="json") for m in data]
    if not rows:
        click.echo("(none)")
        return
    nested = [name for name in rows[0] if any(_holds_objects(row.get(name)) for row in rows)]
    if columns is not None and set(columns) & set(nested):
        _echo(_blocks([[(name, row.get(name)) for name in columns] for row in rows], width))
        return
    names = list(columns or [name for name in rows[0] if name not in nested])
    cells = [[_text(row.get(name)) for name in names] for row in rows]
    lines = fit(cells, width, header=names, squeeze=False)
    if lines is None:  # too narrow for a table: one `label  value` view per item
        lines = _blocks([[(name, row.get(name)) for name in names] for row in rows], width)
    _echo(lines)
    if left_out := [name for name in nested if name not in names]:
        click.echo(f"(not shown: {', '.join(left_out)}; see -o json)")


def terminal_width() -> int | None:
    """The width text fits: COLUMNS when set, else the terminal's when stdout is one; None off a terminal."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    isatty = getattr(sys.stdout, "isatty", None)
    return shutil.get_terminal_size().columns if isatty is not None and isatty() else None


# A column is narrowed to its longest word (up to _WORD), or its header's longest piece, before any word is
# broken; if the table still does not fit, a list prints as one `label  value` view per item instead.
_WORD = 20
# When words must be broken (a `label  value` view too wide), narrowing stops here (or at the column's width).
_MIN_WIDTH = 8
_GAP = "  "


def fit(
    cells: Sequence[Sequence[str]],
    width: int | None,
    *,
    header: Sequence[str] | None = None,
    squeeze: bool = True,
    labels: bool = False,
) -> list[str] | None:
    """The lines of a table of text cells (a header first, if any), its columns aligned: within `width`
    columns, the widest narrowed first and their cells wrapped under them; one line per row if `width` is
    None. None (with `squeeze` False) when that would break words shorter than _WORD. `labels`: the first
    column holds labels, narrowed only once the others can narrow no more."""
    rows = [list(header), *cells] if header is not None else [list(row) for row in cells]
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    widths = [max(len(line) for cell in column for line in cell.splitlines() or [""]) for column in columns]
    if width is not None:
        room = width - len(_GAP) * (len(widths) - 1)
        floors = [min(w, _floor(column, header is not None)) for w, column in zip(widths, columns, strict=True)]
        if sum(floors) > room and not squeeze:
            return None
        if sum(floors) > room:
            floors = [min(w, _MIN_WIDTH) for w in widths]
        while sum(widths) > room and (wider := [i for i, w in enumerate(widths) if w > floors[i]]):
            wider = [i for i in wider if i] if labels and len(wider) > 1 else wider
            widths[max(wider, key=lambda i: widths[i])] -= 1
    lines = []
    for row in rows:
        wrapped = [
            wrap(c, w) if width is not None else c.splitlines() or [""] for c, w in zip(row, widths, strict=True)
        ]
        for k in range(max(len(cell) for cell in wrapped)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w) for cell, w in zip(wrapped, widths, strict=True)]
            lines.append(_GAP.join(parts).rstrip())
    return lines


def _floor(column: Sequence[str], header: bool) -> int:
    """How narrow a column gets before its words break: its longest word (at most _WORD), and its header's
    longest piece (`recipient_type_details` wraps after each `_`)."""
    head = [len(p) for p in _PIECES.findall(column[0]) if not p.isspace()] if header else []
    words = [min(len(word), _WORD) for cell in column[1 if header else 0 :] for word in cell.split()]
    return max([*head, *words, 1])


# What a line breaks between: runs of spaces, and words cut after `.`, `-`, `_`, `/`, `\\`, `,` or `;` that follow a
# letter or digit (`--identity` stays whole).
_PIECES = re.compile(r"\s+|\S*?[^\s_./\\,;-][-_./\\,;]+(?=\S)|\S+")


def wrap(text: str, width: int, first: int | None = None) -> list[str]:
    """`text` in lines of at most `width` characters (the first of `first`, if given): broken at spaces or
    after punctuation where it can, else inside a word; only the spaces at a break are dropped."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, started = "", False
        for piece in _PIECES.findall(paragraph):
            limit = max(1, first if first is not None and not lines else width)
            if piece.isspace():
                line += piece if line or not started else ""
                continue
            if len(line) + len(piece) > limit and line.strip():
                lines.append(line.rstrip())
                line, limit = "", max(1, width)
            while len(piece) > limit:  # longer than a line: cut inside it
                lines.append(piece[:limit])
                piece, limit = piece[limit:], max(1, width)
            line, started = line + piece, True
        lines.append(line.rstrip())
    return lines


def hanging(text: str, indent: int, width: int | None, more: int = 2) -> str:
    """`text` as printed after a prefix `indent` columns wide: wrapped to `width`, each continuation line
    indented `indent + more` (as it is, off a terminal)."""
    if width is None:
        return text
    return ("\n" + " " * (indent + more)).join(wrap(text, width - indent - more, first=width - indent))


def _details(rows: Sequence[tuple[str, Any]], width: int | None) -> list[str]:
    """A model's `label  value` view: nested objects as `label.sub` rows, every value as `_text` shows it."""
    return fit([[label, _text(value)] for label, value in _flat(rows)], width, labels=True) or []


def _blocks(items: Sequence[Sequence[tuple[str, Any]]], width: int | None) -> list[str]:
    """One `label  value` view per item, a blank line between them."""
    return [line for i, item in enumerate(items) for line in ([""] if i else []) + _details(item, width)]


def _flat(rows: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """`rows` with each value that holds objects replaced by a row per plain value in it (`label.sub`, `label[0]`)."""
    flat: list[tuple[str, Any]] = []
    for label, value in rows:
        value = _plain(value)
        if isinstance(value, dict) and value:
            flat.extend(_flat([(f"{label}.{key}", v) for key, v in value.items()]))
        elif _holds_objects(value) and value:  # an empty object stays one row, `-`
            flat.extend(_flat([(f"{label}[{i}]", v) for i, v in enumerate(value)]))
        else:
            flat.append((label, value))
    return flat


def _plain(value: Any) -> Any:
    """A model as its JSON fields; anything else as it is."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _holds_objects(value: Any) -> bool:
    """An object, or a list with an object or a list in it: what a table cell cannot show on one line."""
    value = _plain(value)
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value))


def _echo(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(line)


# A row of a change: a field of the state by name, or a label and how to read it from a state.
ChangeField = str | tuple[str, Callable[[Any], Any]]
Rows = Sequence[tuple[str, Any]]


def emit_change(
    ctx: click.Context,
    change: BaseModel,
    fields: Sequence[ChangeField] | None = None,
    *,
    about: Rows = (),
    then: Rows = (),
) -> None:
    """Print what a function that changes something did: a `Change`, or any model with `changed`,
    `dry_run`, `before` and `after`.

    `--output json`: the change as it is. Otherwise `about` rows (what was changed), `changed` (in a
    dry run `would_change`: a dry run changes nothing) and `dry_run`, a row per field of the state,
    `before -> after` when it differs and the value alone when not, then `then` rows. `fields` None:
    every field of the state that differs. A state that is None (nothing there) shows each field as `-`.
    """
    told = dict(change)  # the model's fields, unconverted
    before, after = told["before"], told["after"]
    if fields is None:
        state = after if after is not None else before
        names = list(type(state).model_fields) if state is not None else []
        fields = [n for n in names if _read(before, n) != _read(after, n)]
    done = ("would_change", told.get("would_change")) if told["dry_run"] else ("changed", told["changed"])
    rows = [*about, done, ("dry_run", told["dry_run"])]
    for field in fields:
        label = field if isinstance(field, str) else field[0]
        old, new = _shown(_read(before, field)), _shown(_read(after, field))
        rows.append((label, old if old == new else f"{old} -> {new}"))
    emit(ctx, change, [(label, _shown(value)) for label, value in [*rows, *then]])


def _read(state: Any, field: ChangeField) -> Any:
    if state is None:
        return None
    return getattr(state, field) if isinstance(field, str) else field[1](state)


def _shown(value: Any) -> str:
    """One value of a change's row: a list of plain values as `a, b` (`-` when empty), else as `emit` shows it."""
    if isinstance(value, tuple | list) and not any(isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "-"
    return _text(value)


def _text(value: Any) -> str:
    """One value as a cell shows it: yes/no, `-` for none, times in UTC with Z, TimeSpans as .NET text, a
    list of plain values as `a, b`; an object (only where no detail view can show it) as JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, dt.datetime | dt.timedelta):  # a change's state, unconverted: as the tables show them
        from psbridge.types import format_time, format_timespan

        return format_time(value) if isinstance(value, dt.datetime) else format_timespan(value)
    if isinstance(value, tuple | list) and not _holds_objects(value):
        return ", ".join(_text(v) for v in value) or "-"
    if value == {}:
        return "-"
    if isinstance(value, dict | list | tuple):
        return json.dumps(_plain(value), ensure_ascii=False)
    return str(value)
