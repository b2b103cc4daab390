"""Fixtures: every ledger test runs on SQLite and on PostgreSQL, each test in
its own database file or schema, so runs never see each other's events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from eventsourcing.utils import get_topic

from commands.main import cli
from ledger.application import Ledger
from ledger.store.snapshots import SnapshotSeal

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACTOR = "admin@contoso.example"


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_SERVER)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as error:
        return f"no PostgreSQL server at 127.0.0.1:5432 ({type(error).__name__})"


_PG_SKIP = _pg_available()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty ledger URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    with pg_schema_url() as url:
        yield url


@contextmanager
def pg_schema_url(prefix: str = "t") -> Iterator[str]:
    """A URL whose search path is a new, empty PostgreSQL schema, dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


class Clock:
    """A recorded-time clock the tests control: one second per reading."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2020, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db_url: str, clock: Clock) -> Iterator[Ledger]:
    ledger = Ledger(db_url, clock=clock)
    yield ledger
    ledger.close()


def count_events(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM ledger_events")
            ).scalar_one()
    finally:
        engine.dispose()


SEAL_TOPIC = get_topic(SnapshotSeal.Sealed)


def recorded_writes(url: str) -> int:
    """The events of the writes (partners' events and request records), not
    the snapshot seals: a process killed, or a lock taken, between a save and
    its snapshot leaves that snapshot out (ledger/store/app.py), so an
    interrupted import resumed may hold a seal fewer than a clean one."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM ledger_events WHERE topic != :seal"),
                {"seal": SEAL_TOPIC},
            ).scalar_one()
    finally:
        engine.dispose()


class Cli:
    """Runs `ledger` in-process against one database, as a user would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(
        self, *args: str, actor: str | None = ACTOR, output: str = "json"
    ) -> Any:
        base = ["--db", self.url, "-o", output]
        if actor:
            base += ["--actor", actor]
        return self.runner.invoke(cli, [*base, *args], catch_exceptions=False)

    def json(self, *args: str, **kwargs: Any) -> Any:
        import json

        result = self(*args, **kwargs)
        assert result.exit_code == 0, result.stderr or result.output
        return json.loads(result.stdout)

    def events(self) -> int:
        return count_events(self.url)


@pytest.fixture
def run(db_url: str) -> Cli:
    return Cli(db_url)


def d(text: str) -> date:
    return date.fromisoformat(text)
