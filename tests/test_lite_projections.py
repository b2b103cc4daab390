"""On an SQLite file the projections catch up and answer reports through
sqlite3 (projections/storage/lite.py), not SQLAlchemy: both paths must leave
the very same rows in the very same tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from random import Random

import pytest

from ledger.application import Ledger
from ledger.store.sqlite_log import EVENTS_TABLE
from projections import NAMES, Reports
from projections.storage.layout import layout, table_name
from projections.storage.lite import LiteStore
from tests.conftest import Clock
from tests.test_projection_properties import run_history
from tests.test_projections import faq_history, projected_rows


class BothWays:
    """Catches the projections up twice at each moment: the reports' live
    generations through sqlite3, and fresh generations of the same
    projections through SQLAlchemy (the runner every other database uses)."""

    def __init__(self, reports: Reports) -> None:
        self.reports = reports
        self.fresh = [reports.store.next_generation(name) for name in NAMES]

    def catch_up(self) -> None:
        self.reports.catch_up()
        runner = self.reports.runner
        runner.run(lambda: self.reports.store.positions(self.fresh), runner.apply)


def table_rows(path: Path, name: str, generation: int) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: sorted(
                conn.execute(f'SELECT * FROM "{table_name(name, table, generation)}"')
            )
            for table in layout(name)
        }
    finally:
        conn.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_a_catch_up_through_sqlite3_leaves_the_rows_sqlalchemy_leaves(tmp_path, seed):
    path = tmp_path / "ledger.db"
    app = Ledger(f"sqlite:///{path}", clock=Clock())
    try:
        rnd = Random(seed)
        reports = Reports(app, page_size=rnd.randint(1, 6))
        assert isinstance(reports.driver, LiteStore)
        both = BothWays(reports)
        run_history(rnd, app, both)
        both.catch_up()
        live = {g.name: g for g in reports.driver.live()}
        assert all(g.position == reports.runner.head() for g in live.values())
        assert reports.store.positions(both.fresh) == [
            g.__class__(g.name, g.generation, live[g.name].position) for g in both.fresh
        ]
        for fresh in both.fresh:
            lite = table_rows(path, fresh.name, live[fresh.name].generation)
            assert lite == table_rows(path, fresh.name, fresh.generation)
    finally:
        app.close()


def test_a_report_reads_the_same_through_either_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    app = faq_history(Ledger(url, clock=Clock()))
    try:
        reports = Reports(app)
        assert reports.driver is not None
        on = Clock().now.date().replace(year=2021)
        through_sqlite3 = projected_rows(reports, on)
        reports.driver = None  # every query through SQLAlchemy from here on
        assert projected_rows(reports, on) == through_sqlite3
        assert through_sqlite3["entitlements"] and through_sqlite3["reassignable"]
    finally:
        app.close()


def test_a_caught_up_report_opens_no_application(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    app = faq_history(Ledger(url, clock=Clock()))
    on = Clock().now.date().replace(year=2021)
    try:
        expected = Reports(app).entitlements("MPN-1", on)
    finally:
        app.close()

    def refuse() -> None:
        raise AssertionError("the application was opened")

    reports = Reports.opening(url, 5.0, refuse)
    assert reports.entitlements("MPN-1", on) == expected
    with pytest.raises(Exception, match="partner"):
        reports.entitlements("MPN-404", on)


def test_the_log_read_through_sqlite3_is_the_applications(tmp_path):
    app = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        assert app.recorder.table == EVENTS_TABLE
    finally:
        app.close()


@pytest.mark.parametrize(
    "kind", [sqlite3.OperationalError, sqlite3.IntegrityError, sqlite3.DataError]
)
def test_a_database_error_through_sqlite3_reads_as_through_sqlalchemy(kind):
    import sqlalchemy as sa

    from ledger.store.errors import worded_as_sqlalchemy

    raw = kind("database is locked")
    through_sqlalchemy = getattr(sa.exc, kind.__name__)("SELECT 1", {}, raw)
    with pytest.raises(kind) as caught, worded_as_sqlalchemy():
        raise raw
    assert type(caught.value).__name__ == type(through_sqlalchemy).__name__
    assert str(caught.value) == str(through_sqlalchemy).splitlines()[0]
