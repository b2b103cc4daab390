"""Bulk import: every line of a file through the same Ledger methods as the CLI.

The file is checked first, whole (a malformed line imports nothing); then its
lines run in batches, many per transaction. Every line has a request id (its
own, or `import:<sha256 of the file>[:16]:<line>`), so running the same file
again after a crash or a ^C appends nothing twice and ends in the state of one
clean run. A dry run runs every line in a batch that is never saved, so later
lines see the effects of earlier ones and the errors are the real run's.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from ledger.application import Ledger
from ledger.bulk.batch import Batch
from ledger.bulk.lines import (
    DEFAULT_BATCH_SIZE,
    ImportFile,
    ImportFileError,
    Line,
)
from ledger.domain.errors import Conflict, InvalidInput, LedgerError, RuleViolation
from ledger.domain.partner import partner_uuid
from ledger.domain.values import BATCH_SIZE, EMAIL
from ledger.registry import ENROLLMENT, WRITE_COMMANDS
from ledger.store.errors import StoreFailed, store_errors

CONFLICT_RETRIES = 3
GC_THRESHOLD = 10_000


@dataclass
class Report:
    """What an import did: the summary, and one error per rejected line."""

    dry_run: bool
    lines: int = 0
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    already_applied: int = 0
    written: int = 0
    events_written: int = 0
    pending: int = 0
    resume_at_line: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "lines": self.lines,
            "lines_read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "already_applied": self.already_applied,
            "written": self.written,
            "events_written": self.events_written,
            "resume_at_line": self.resume_at_line,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "errors": self.errors}


@dataclass
class Options:
    actor: str | None = None
    dry_run: bool = False
    keep_going: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE


def check_file(source: ImportFile, actor: str | None) -> int:
    """Parse the whole file before anything runs; the number of commands.
    Raises ImportFileError at the first malformed line."""
    total = 0
    for line in source.lines():
        if line.actor is None and not actor:
            raise ImportFileError(
                line.number, "no actor: give an actor on the line or pass --actor"
            )
        total += 1
    return total


def run_line(app: Ledger, line: Line, actor: str | None, request_id: str) -> None:
    """Run the line's command as the CLI would, as the importing actor (its
    answer is not read: an import reports counts and errors)."""
    app.run_unshown(
        line.command,
        on=line.on,
        actor=line_actor(line, actor),
        request_id=request_id,
        **line.fields,
    )


def line_actor(line: Line, actor: str | None) -> str:
    """A line is written by the importing actor: it may name that actor, and
    no other (rule `admin`)."""
    if line.actor is None or _same_email(line.actor, actor):
        return actor or line.actor or ""
    raise RuleViolation(
        "admin",
        "actor-not-importer",
        f"line {line.number} names actor {line.actor}, but the import runs as "
        f"{actor or 'no actor'}: a line may only name the importing actor",
    )


def _same_email(one: str, other: str | None) -> bool:
    """Two spellings of one e-mail (e-mails are compared lower-cased)."""
    if other is None:
        return False
    try:
        return EMAIL.parse(one, "actor") == EMAIL.parse(other, "actor")
    except InvalidInput:
        return one == other


def request_id_of(line: Line, digest: str) -> str:
    return line.request_id or f"import:{digest[:16]}:{line.number}"


def import_file(
    app: Ledger,
    source: ImportFile,
    options: Options,
    progress: Callable[[int], None] | None = None,
    total: int | None = None,
) -> Report:
    """Check the file, then run its lines in batches of `batch_size` (one
    transaction each). Stops at the first rejected line (having written the
    lines before it) unless `keep_going`; a dry run writes nothing."""
    BATCH_SIZE.parse(options.batch_size, "batch_size")
    report = Report(options.dry_run)
    report.lines = check_file(source, options.actor) if total is None else total
    digest = source.digest()
    with fewer_collections(), app.batch(remember_refusals=options.keep_going) as batch:
        for chunk in chunks(source.lines(), options.batch_size):
            stop = _run_and_flush(app, batch, chunk, digest, options, report)
            if progress is not None:
                progress(len(chunk))
            if stop:
                break
        if options.dry_run:
            app.discard()
    return report


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A batch makes millions of small objects that live until it is saved:
    at the default threshold (700 allocations) the garbage collector runs
    every few lines over an ever larger heap, ~15% of an import's CPU. While
    importing it runs 14 times less often (the batch's memory stays bounded
    by the batch size)."""
    threshold = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _run_and_flush(
    app: Ledger,
    batch: Batch,
    chunk: list[Line],
    digest: str,
    options: Options,
    report: Report,
) -> bool:
    """Run one batch and save it; True if the import must stop. A batch that
    clashes with another writer (say a second import of the same file) saves
    nothing and runs again from the store's new state, where the lines the
    other writer wrote answer as already applied, up to CONFLICT_RETRIES times."""
    for attempt in range(CONFLICT_RETRIES + 1):
        before = replace(report, errors=list(report.errors))
        try:
            with store_errors():
                batch.prefetch(
                    app,
                    [request_id_of(line, digest) for line in chunk],
                    [
                        partner_uuid(line.fields["partner"])
                        for line in chunk
                        if WRITE_COMMANDS[line.command].scope == ENROLLMENT
                    ],
                )
                app.prefetch_users((line.command, line.fields) for line in chunk)
                stop = _run_chunk(app, batch, chunk, digest, options, report)
                report.written += _flush(app, options, report)
        except Conflict as error:
            if attempt < CONFLICT_RETRIES:
                report.__dict__.update(vars(before))
                continue
            report.errors.append(_not_written(chunk, error))
            return True
        except StoreFailed as error:
            app.discard()
            report.__dict__.update(vars(before))
            report.errors.append(_not_written(chunk, error))
            report.resume_at_line = chunk[0].number
            return True
        return stop
    return True


def _run_chunk(
    app: Ledger,
    batch: Batch,
    chunk: list[Line],
    digest: str,
    options: Options,
    report: Report,
) -> bool:
    """Run the lines of one batch; True if the import must stop."""
    for line in chunk:
        request_id = request_id_of(line, digest)
        already = batch.known(request_id)
        report.read += 1
        try:
            run_line(app, line, options.actor, request_id)
        except StoreFailed:
            raise  # the database failed, not the line: the batch is not written
        except LedgerError as error:
            report.rejected += 1
            report.errors.append(_error(line, error))
            if not options.keep_going:
                return True
            continue
        report.accepted += 1
        # answered from a record another writer saved since the prefetch
        already = already or batch.stored_before(request_id)
        report.already_applied += already
        report.pending += not already
    return False


def _flush(app: Ledger, options: Options, report: Report) -> int:
    """Save the batch's writes in one transaction; the number of lines written.
    Conflict (nothing saved) if another writer changed one of its partners."""
    pending, report.pending = report.pending, 0
    if options.dry_run:
        return 0
    report.events_written += app.flush()
    return pending


def _not_written(chunk: list[Line], error: LedgerError) -> dict[str, Any]:
    """The error of a batch that saved nothing (a clash, a database error)."""
    return {
        "line": chunk[0].number,
        "command": None,
        "rule": error.rule,
        "code": error.code,
        "message": f"lines {chunk[0].number}-{chunk[-1].number} were not "
        f"written: {error.message}",
    }


def _error(line: Line, error: LedgerError) -> dict[str, Any]:
    return {"line": line.number, "command": line.command, **error.as_dict()}


def chunks(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, size)):
        yield chunk
