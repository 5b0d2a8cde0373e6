"""Printing results: one JSON document on stdout, or readable text."""

from __future__ import annotations

import json
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
    columns (`columns`, or every field that is not itself a list or an object).
    """
    from pydantic import BaseModel  # only once there is something to print: keeps --help light

    if ctx.obj.output == "json":
        dumped = (
            data.model_dump(mode="json") if isinstance(data, BaseModel) else [m.model_dump(mode="json") for m in data]
        )
        click.echo(json.dumps(dumped, indent=2, ensure_ascii=False))
        return
    if isinstance(data, BaseModel):
        rows = table if table is not None else list(data.model_dump(mode="json").items())
        width = max((len(label) for label, _ in rows), default=0)
        for label, value in rows:
            click.echo(f"{label.ljust(width)}  {_text(value)}")
        return
    dumped_rows = [m.model_dump(mode="json") for m in data]
    if not dumped_rows:
        click.echo("(none)")
        return
    names = list(columns or [k for k, v in dumped_rows[0].items() if not isinstance(v, dict | list)])
    cells = [[_text(row.get(name)) for name in names] for row in dumped_rows]
    widths = [max(len(name), *(len(c[i]) for c in cells)) for i, name in enumerate(names)]
    click.echo("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


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
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
