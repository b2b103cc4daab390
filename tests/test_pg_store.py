"""The native PostgreSQL store (ledger/store/postgres.py) keeps the event
store's promises and eventsourcing-sqlalchemy's tables: a version clash
writes nothing of its batch, positions are returned as stored, the tables
are the same ones, and a ledger written by either store opens with the
other, snapshots included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.application import Ledger
from ledger.domain.partner import Partner, partner_uuid
from ledger.store import app as store_app
from ledger.store.pg_database import connect_args
from ledger.store.postgres import EventRecorder
from tests.conftest import _PG_SKIP, ACTOR, PG_SERVER, Clock, d, pg_schema_url

ROOT = Path(__file__).resolve().parents[1]
P = "MPN-PG"
LOADED_BY_SQLALCHEMY = ("sqlalchemy", "sqlalchemy_utils", "eventsourcing_sqlalchemy")


@pytest.fixture
def pg_url() -> Iterator[str]:
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    with pg_schema_url("native") as url:
        yield url


class Snapshotting(Ledger):
    """Snapshots every few events, so both stores write and read them."""

    name = "Ledger"  # the same tables (else named after the class)
    snapshotting_intervals: ClassVar[dict[type, int]] = {Partner: 3}


def through_sqlalchemy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open ledgers as before the native store: eventsourcing-sqlalchemy."""
    monkeypatch.setattr(
        store_app,
        "store_env",
        lambda url, lock_timeout=10.0: {
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "SQLALCHEMY_URL": url,
        },
    )


def write_some(app: Ledger, users: range, on: str) -> None:
    for n in users:
        app.add_user(P, f"u{n}@contoso.example", "aad", d(on), ACTOR)


def answers(app: Ledger, users: int) -> dict[str, Any]:
    """What the ledger answers about the partner and its first USERS users,
    and the positions of its events."""
    on = d("2020-06-01")
    return {
        "partner": app.partner_show(P, on),
        "users": [app.user_show(P, f"u{n}@contoso.example", on) for n in range(users)],
        "positions": [r.position for r in app.event_rows.all()],
    }


def snapshots(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM ledger_snapshots")
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_a_ledger_written_through_sqlalchemy_opens_natively_and_back(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    with monkeypatch.context() as patched:
        through_sqlalchemy(patched)
        old = Snapshotting(pg_url, clock=clock)
        assert not isinstance(old.recorder, EventRecorder)
        old.enroll(P, d("2020-01-31"), ACTOR)
        write_some(old, range(4), "2020-02-01")
        before = answers(old, 4)
        old.close()
    taken = snapshots(pg_url)
    assert taken > 0

    native = Snapshotting(pg_url, clock=clock)
    assert isinstance(native.recorder, EventRecorder)
    assert answers(native, 4) == before
    write_some(native, range(4, 8), "2020-03-01")
    after = answers(native, 8)
    native.close()
    assert snapshots(pg_url) > taken
    assert after["positions"] == list(range(1, len(after["positions"]) + 1))

    with monkeypatch.context() as patched:
        through_sqlalchemy(patched)
        again = Snapshotting(pg_url, clock=clock)
        assert answers(again, 8) == after
        again.close()


def catalogue(url: str) -> dict[str, list[Any]]:
    """The event tables' columns, indexes and constraints, schema left out."""
    engine = sa.create_engine(url)
    tables = "('ledger_events', 'ledger_snapshots')"
    try:
        with engine.connect() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()

            def rows(sql: str) -> list[Any]:
                return [
                    tuple(str(v).replace(schema, "S") for v in row)
                    for row in conn.execute(sa.text(sql))
                ]

            return {
                "columns": rows(
                    "SELECT table_name, column_name, data_type, is_nullable, "
                    "column_default, ordinal_position FROM information_schema.columns "
                    f"WHERE table_schema = current_schema() AND table_name IN {tables} "
                    "ORDER BY 1, 6"
                ),
                "indexes": rows(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    f"WHERE schemaname = current_schema() AND tablename IN {tables} "
                    "ORDER BY 1"
                ),
                "constraints": rows(
                    "SELECT conrelid::regclass::text, conname, contype, "
                    "pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE connamespace = current_schema()::regnamespace ORDER BY 2"
                ),
            }
    finally:
        engine.dispose()


def test_both_stores_create_the_same_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    with pg_schema_url("native") as native_url, pg_schema_url("native") as sa_url:
        Ledger(native_url).close()
        with monkeypatch.context() as patched:
            through_sqlalchemy(patched)
            Ledger(sa_url).close()
        made = catalogue(native_url)
        assert made["columns"] and made["indexes"] and made["constraints"]
        assert made == catalogue(sa_url)


def test_a_version_clash_writes_nothing_of_its_batch(pg_url: str) -> None:
    app = Ledger(pg_url)
    try:
        app.enroll(P, d("2020-01-31"), ACTOR)
        recorder = app.recorder
        assert isinstance(recorder, EventRecorder)
        (enrolled,) = app.event_rows.of_aggregate(partner_uuid(P))
        fresh = StoredEvent(uuid.uuid4(), 1, "tests:Fresh", b"{}")
        clash = enrolled.stored()
        with pytest.raises(IntegrityError):
            recorder.insert_events([fresh, clash])
        assert recorder.select_events(fresh.originator_id) == []
        assert [r.position for r in app.event_rows.all()] == [enrolled.position]

        second = StoredEvent(fresh.originator_id, 2, "tests:Fresh", b"{}")
        positions = recorder.insert_events([fresh, second])
        stored = app.event_rows.of_aggregate(fresh.originator_id)
        assert positions == [r.position for r in stored]
        assert positions[1] == positions[0] + 1 > enrolled.position
    finally:
        app.close()


def test_the_url_is_read_as_sqlalchemy_reads_it() -> None:
    assert connect_args(
        "postgresql+psycopg://u%40x:p%2Fw@db.example:6543/ledger"
        "?options=-csearch_path%3Dt_1&sslmode=disable"
    ) == {
        "user": "u@x",
        "password": "p/w",
        "host": "db.example",
        "port": 6543,
        "dbname": "ledger",
        "options": "-csearch_path=t_1",
        "sslmode": "disable",
    }
    assert connect_args(PG_SERVER) == {
        "user": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "dbname": "test",
    }
    # left to SQLAlchemy: another driver, several hosts, a repeated parameter
    for url in (
        "postgresql://postgres@127.0.0.1/test",
        "postgresql+psycopg2://postgres@127.0.0.1/test",
        "postgresql+psycopg://postgres@h1,h2/test",
        "postgresql+psycopg://postgres@h/test?options=a&options=b",
        "sqlite:///ledger.db",
    ):
        assert connect_args(url) is None, url


def loaded_by_a_write(url: str, *args: str) -> tuple[int, list[str]]:
    """Run one CLI write in a fresh interpreter: its exit code and the
    SQLAlchemy modules it loaded (told at exit, however the CLI ends)."""
    probe = (
        "import atexit, json, sys\n"
        f"names = {LOADED_BY_SQLALCHEMY!r}\n"
        "def tell():\n"
        "    loaded = [m for m in sys.modules if m.split('.')[0] in names]\n"
        "    print(json.dumps(sorted(loaded)), file=sys.stderr)\n"
        "atexit.register(tell)\n"
        "from commands.main import main\n"
        "sys.argv = ['ledger', *sys.argv[1:]]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--db", url, "-o", "json", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, json.loads(done.stderr.strip().splitlines()[-1])


def test_a_write_on_postgresql_loads_no_sqlalchemy(pg_url: str) -> None:
    Ledger(pg_url).close()
    enroll = ("--actor", ACTOR, "partner", "enroll", P, "--on", "2020-01-31")
    add = ("--actor", ACTOR, "user", "add", P, "a@contoso.example", "--source", "aad")
    assert loaded_by_a_write(pg_url, *enroll) == (0, [])
    assert loaded_by_a_write(pg_url, *add, "--on", "2020-02-01") == (0, [])
