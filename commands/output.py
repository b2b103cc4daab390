"""Printing answers as a table, JSON or CSV, and errors to stderr."""

from __future__ import annotations

import csv
import io
from typing import Any

import click
import orjson

FORMATS = ("table", "json", "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(
            _cell(v) if not isinstance(v, dict) else _compact(v) for v in value
        )
    if isinstance(value, dict):
        return _compact(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _compact(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return columns


def render_json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def render_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns = _columns(rows)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def render_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    columns = columns or _columns(rows)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def render_record(record: dict[str, Any]) -> str:
    width = max((len(k) for k in record), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in record.items())


def emit(fmt: str, data: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Print one record (a dict) or a list of rows in the chosen format."""
    if fmt == "json":
        click.echo(render_json(data))
    elif fmt == "csv":
        click.echo(render_csv([data] if isinstance(data, dict) else data), nl=False)
    elif isinstance(data, dict):
        click.echo(render_record(data))
    elif data:
        click.echo(render_table(data))
    else:
        click.echo("(no rows)")


def emit_error(fmt: str, error: dict[str, Any]) -> None:
    if fmt == "json":
        click.echo(orjson.dumps({"error": error}).decode(), err=True)
    else:
        click.echo(f"Error: {error['message']}", err=True)
