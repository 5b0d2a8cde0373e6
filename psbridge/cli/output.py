"""Printing results: one JSON document on stdout, or readable text."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
