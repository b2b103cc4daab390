"""ledger import FILE: many writes from a JSON Lines or CSV file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands.context import pass_context
from commands.output import emit, render_record
from commands.params import WholeType
from ledger.bulk.lines import DEFAULT_BATCH_SIZE, FORMATS, ImportFile, file_format
from ledger.domain.identity import default_actor
from ledger.domain.values import BATCH_SIZE


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="jsonl or csv; default from the extension (.jsonl/.ndjson/.json, .csv).",
)
@click.option(
    "--dry-run", is_flag=True, help="Check every line against the rules; write nothing."
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Skip rejected lines instead of stopping at the first one.",
)
@click.option(
    "--batch-size",
    type=WholeType(BATCH_SIZE),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Lines written per transaction.",
)
@pass_context
def import_command(
    obj, file: Path, fmt: str | None, dry_run: bool, keep_going: bool, batch_size: int
) -> None:
    """Run every write of FILE through the same rules as the CLI.

    JSON Lines: one write per line, with the CLI's command and field names
    (`on` required; `actor` and `request_id` optional, `actor` defaults to
    --actor). CSV: seat assignments, header exactly `partner,benefit,email,on`.

    The whole file is checked first: a malformed line imports nothing (exit 2).
    Rejected lines are reported with their line number and rule; the import
    stops at the first one, having written the lines before it, unless
    --keep-going. Exit 0 when every line was accepted, 1 otherwise.

    Output: with -o json one object, the summary and its `errors`; with -o
    csv one row per rejected line (line, rule, code, message), the summary on
    stderr.

    Each line has a request id (its own, or one derived from the file's
    content and the line number), so running the same file again after a
    crash or ^C writes nothing twice.

    \b
    Example:
      ledger --actor ops@contoso.com import seats.csv --dry-run
      ledger --actor ops@contoso.com -o json import year-2021.jsonl --keep-going
      {"command": "seat assign", "partner": "MPN-1", "benefit": "VS-2021",
       "user": "dev@contoso.com", "on": "2021-02-01"}
    """
    from ledger.bulk.importer import Options, check_file, import_file

    source = ImportFile(file, file_format(file, fmt))
    actor = default_actor(obj.app.identity(), obj.actor)
    options = Options(actor, dry_run, keep_going, batch_size)
    total = check_file(source, actor)
    if sys.stderr.isatty():
        with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
            report = import_file(obj.app, source, options, bar.update, total)
    else:
        report = import_file(obj.app, source, options, total=total)
    _print(obj.output, report)
    if not report.ok:
        click.get_current_context().exit(1)


ERROR_COLUMNS = ("line", "rule", "code", "message")


def _print(fmt: str, report) -> None:
    """One document per format: JSON, one object (the summary and its
    `errors`); CSV, one row per rejected line (line, rule, code, message)
    with the summary on stderr; a table, the rejected lines then the summary."""
    if fmt == "json":
        emit("json", report.as_dict())
        return
    rows = [{c: error.get(c) for c in ERROR_COLUMNS} for error in report.errors]
    if fmt == "csv":
        emit("csv", rows, ERROR_COLUMNS)
        click.echo(render_record(report.summary()), err=True)
        return
    if rows:
        emit(fmt, rows, ERROR_COLUMNS)
        click.echo()
    emit(fmt, report.summary())


COMMANDS = [import_command]
