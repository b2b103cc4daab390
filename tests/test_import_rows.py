"""An import stores exactly the rows its lines would store run one at a time
through `Ledger.run` (the CLI's path): the same events, request records,
snapshots and users' keys, byte for byte, with a fixed clock and fixed keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import sqlalchemy as sa

from ledger.application import Ledger
from ledger.bulk import sample
from ledger.bulk.importer import Options, import_file, request_id_of
from ledger.bulk.lines import ImportFile
from ledger.domain.erasure import REF_DIGITS, REF_PREFIX
from ledger.store import subjects
from ledger.store.subjects import NewSubject, Subjects
from tests.conftest import Clock, pg_schema_url

ACTOR = sample.ACTOR
SEAL_TOPIC = "ledger.store.snapshots:SnapshotSeal.Sealed"
SNAPSHOT_TOPIC = "eventsourcing.domain:Snapshot"


def fixed_new(self: Subjects, partner: str, email: str) -> NewSubject:
    """A user's key derived from the user (Subjects.new draws it at random),
    so two ledgers given the same writes hold the same bytes."""
    key = hashlib.sha256(f"{partner}\0{email}".encode()).digest()
    digest = hmac.new(key, b"user reference", hashlib.sha256).hexdigest()
    ref = REF_PREFIX + digest[:REF_DIGITS]
    with mock.patch.object(subjects.os, "urandom", lambda n: key[:n]):
        token = subjects.encrypt(key, ref, email)
    return NewSubject(partner, email, ref, key, token)


def history(path: Path) -> Path:
    """Two partners' years of history (the first one long enough for a
    snapshot at version 200) and a line repeating an earlier request id."""
    records = list(sample.generate(320, years=7))
    records[5] = {**records[5], "request_id": "r-1"}
    records.insert(9, records[5])
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@contextmanager
def other_ledger(db_url: str, tmp_path: Path) -> Iterator[str]:
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'one-at-a-time.db'}"
        return
    with pg_schema_url("rows") as url:
        yield url


def stored_rows(url: str) -> dict[str, Any]:
    """Every event (by aggregate and version, the position left out: a batch
    orders its inserts by aggregate), every snapshot, every user's key."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            events = conn.execute(
                sa.text(
                    "SELECT originator_id, originator_version, topic, state "
                    "FROM ledger_events ORDER BY originator_id, originator_version"
                )
            ).all()
            snapshots = conn.execute(
                sa.text(
                    "SELECT originator_id, originator_version, topic, state "
                    "FROM ledger_snapshots ORDER BY originator_id, originator_version"
                )
            ).all()
            keys = conn.execute(
                sa.text(
                    "SELECT subject, partner, key, email FROM ledger_subject_keys "
                    "ORDER BY subject"
                )
            ).all()
    finally:
        engine.dispose()
    return {
        "events": [_untimed(tuple(r)) for r in events],
        "snapshots": [_untimed(tuple(r)) for r in snapshots],
        "keys": [(r[0], r[1], bytes(r[2]), r[3]) for r in keys],
    }


def _untimed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A snapshot is timed by the wall clock, not the ledger's clock: its
    time, and the hash its seal keeps of it, are left out."""
    state = bytes(row[3])
    if row[2] not in (SNAPSHOT_TOPIC, SEAL_TOPIC):
        return (*row[:3], state)
    decoded = orjson.loads(state)
    del decoded["timestamp"]
    decoded.pop("sha256", None)
    return (*row[:3], decoded)


def test_an_import_stores_the_rows_of_its_lines_run_one_at_a_time(
    db_url: str, tmp_path: Path
) -> None:
    source = ImportFile(history(tmp_path / "history.jsonl"), "jsonl")
    digest = source.digest()
    with (
        mock.patch.object(Subjects, "new", fixed_new),
        other_ledger(db_url, tmp_path) as single_url,
    ):
        imported = Ledger(db_url, clock=Clock())
        try:
            report = import_file(imported, source, Options(actor=ACTOR, batch_size=100))
        finally:
            imported.close()
        assert report.ok and report.already_applied == 1, report.as_dict()

        single = Ledger(single_url, clock=Clock())
        try:
            for line in source.lines():
                single.run(
                    line.command,
                    line.on,
                    ACTOR,
                    request_id_of(line, digest),
                    **line.fields,
                )
        finally:
            single.close()

        rows = stored_rows(db_url)
        assert len(rows["events"]) == 2 * 320 + 1  # the seal of the snapshot
        assert len(rows["snapshots"]) == 1
        assert rows == stored_rows(single_url)
