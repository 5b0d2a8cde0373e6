"""Printing results: one JSON document, or readable lines."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import BaseModel


def emit(ctx: click.Context, model: BaseModel, table: list[tuple[str, Any]] | None = None) -> None:
    """`--output json`: the model's snake_case fields as one JSON document. Otherwise `table`, or every field."""
    if ctx.obj.output == "json":
        click.echo(json.dumps(model.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    rows = table if table is not None else [(k, v) for k, v in model.model_dump(mode="json").items()]
    width = max((len(label) for label, _ in rows), default=0)
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {_text(value)}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return str(value)
