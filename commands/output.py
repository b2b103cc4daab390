"""Printing answers as a table, JSON or CSV, and listings a page at a time.

JSON and CSV carry every value whole. A table is for a terminal: it fits
its width (`COLUMNS`, else the terminal's; not cut when printed to a file or
a pipe with no `COLUMNS`), cutting long cells with an ellipsis, and nested
values are summarised."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
import orjson

FORMATS = ("table", "json", "csv")
ELLIPSIS = "…"
GAP = "  "
NARROWEST = 6  # a cut column keeps at least this many characters

Rows = list[dict[str, Any]]


def _csv_cell(value: Any) -> str:
    """A CSV cell: the whole value (nested values as JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        return "; ".join(_csv_cell(v) for v in value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def summary(value: Any) -> str:
    """A table cell: scalars as they are, a list of scalars joined, a list
    of records by their first fields (a seat list by its seat ids), a mapping
    as key=value pairs, anything nested deeper as its size."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return " ".join(f"{k}={_nested(v)}" for k, v in value.items())
    if isinstance(value, list):
        if all(_is_scalar(v) for v in value):
            return ", ".join(summary(v) for v in value)
        if all(
            isinstance(v, dict) and v and _is_scalar(next(iter(v.values())))
            for v in value
        ):
            return ", ".join(summary(next(iter(v.values()))) for v in value)
        return _count(len(value))
    return str(value)


def _nested(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + _count(len(value), "field") + "}"
    if isinstance(value, list) and not all(_is_scalar(v) for v in value):
        return "[" + _count(len(value)) + "]"
    if isinstance(value, list):
        return "[" + ",".join(summary(v) for v in value) + "]"
    return "-" if value is None else summary(value)


def _count(n: int, noun: str = "item") -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def columns_of(rows: Rows, declared: Sequence[str] = ()) -> list[str]:
    """The declared columns, then any other key the rows have."""
    columns = list(declared)
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return columns


def terminal_width() -> int | None:
    """COLUMNS, else the width of the terminal stdout writes to; None when
    there is neither (a file or a pipe): tables are then not cut."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    stream = sys.stdout
    try:
        if stream.isatty():
            import shutil  # a terminal only: piped output never pays for it

            return shutil.get_terminal_size().columns
    except (AttributeError, ValueError, OSError):
        return None
    return None


def cut(text: str, width: int) -> str:
    """TEXT on one line, at most WIDTH characters, an ellipsis where cut."""
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def fit(widths: list[int], total: int) -> list[int]:
    """Column widths that fit TOTAL characters with GAP between them: the
    widest columns give way first, none below NARROWEST (or its own width)."""
    room = total - len(GAP) * (len(widths) - 1)
    if sum(widths) <= room:
        return widths
    cap = max(widths)
    while cap > NARROWEST and sum(min(w, cap) for w in widths) > room:
        cap -= 1
    return [min(w, cap) for w in widths]


def render_json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def render_csv(rows: Rows, columns: Sequence[str] = ()) -> str:
    out = io.StringIO()
    header = columns_of(rows, columns)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in header])
    return out.getvalue()


def render_table(
    rows: Rows, columns: Sequence[str] = (), width: int | None = None
) -> str:
    """Rows as aligned columns. Columns empty in every row are left out; to
    fit WIDTH, long cells are cut and, if even that is not enough, the last
    columns are left out (said on stderr)."""
    header = [c for c in columns_of(rows, columns) if any(_filled(r, c) for r in rows)]
    cells = [[summary(row.get(c)) for c in header] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(header)]
    if width is not None:
        shown = len(header)
        while (
            shown > 1
            and sum(min(w, NARROWEST) for w in widths[:shown]) + len(GAP) * (shown - 1)
            > width
        ):
            shown -= 1
        if shown < len(header):
            click.echo(
                f"({len(header) - shown} columns left out to fit {width} characters: "
                f"{', '.join(header[shown:])}; -o json or -o csv has them all)",
                err=True,
            )
            header, widths = header[:shown], widths[:shown]
            cells = [r[:shown] for r in cells]
        widths = fit(widths, width)

    def line(values: list[str]) -> str:
        return GAP.join(cut(v, w).ljust(w) for v, w in zip(values, widths)).rstrip()

    return "\n".join(
        [line(header), GAP.join("-" * w for w in widths)] + [line(r) for r in cells]
    )


def _filled(row: dict[str, Any], column: str) -> bool:
    return row.get(column) not in (None, "", [], {})


def render_record(record: dict[str, Any], width: int | None = None) -> str:
    keys = max((len(k) for k in record), default=0)
    room = None if width is None else max(width - keys - len(GAP), NARROWEST)

    def value(v: Any) -> str:
        return summary(v) if room is None else cut(summary(v), room)

    return "\n".join(
        f"{k.ljust(keys)}{GAP}{value(v)}".rstrip() for k, v in record.items()
    )


def emit(fmt: str, data: dict[str, Any] | Rows, columns: Sequence[str] = ()) -> None:
    """Print one record (a dict) or a list of rows in the chosen format. A
    listing passes its COLUMNS so that CSV has its header even with no rows."""
    if fmt == "json":
        click.echo(render_json(data))
    elif fmt == "csv":
        rows = [data] if isinstance(data, dict) else data
        click.echo(render_csv(rows, columns), nl=False)
    elif isinstance(data, dict):
        click.echo(render_record(data, terminal_width()))
    elif data:
        click.echo(render_table(data, columns, terminal_width()))
    else:
        click.echo("(no rows)")


@dataclass(frozen=True)
class Page:
    """Which rows of a listing to print: --offset N (or --after POSITION),
    then at most --limit N; the same in every format."""

    columns: tuple[str, ...]
    limit: int | None = None
    offset: int = 0
    after: int | None = None
    after_key: str = "position"

    def of(self, rows: Rows) -> tuple[Rows, bool]:
        """(the rows of this page, whether more rows follow it)."""
        if self.after is not None:
            rows = [r for r in rows if r[self.after_key] > self.after]
        rows = rows[self.offset :]
        if self.limit is None or len(rows) <= self.limit:
            return rows, False
        return rows[: self.limit], True

    def emit(self, fmt: str, rows: Rows) -> None:
        """Print this page of ROWS; in a table, say on stderr when more follow."""
        shown, more = self.of(rows)
        emit(fmt, shown, self.columns)
        if fmt == "table" and more:
            next_page = (
                f"--after {shown[-1][self.after_key]}"
                if self.after is not None
                else f"--offset {self.offset + len(shown)}"
            )
            click.echo(f"(more rows: {next_page})", err=True)
