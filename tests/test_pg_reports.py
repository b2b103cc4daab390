"""On PostgreSQL, a report on caught-up projections reads through psycopg
alone (projections/storage/pg.py): the same rows as through SQLAlchemy, the
same answer for an unknown partner, no SQLAlchemy nor application loaded at
the CLI; once the projections are behind, the usual way catches them up.
(A ledger set up for a team: tests/test_team.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from random import Random

import pytest

from ledger.application import Ledger
from ledger.domain.errors import NotFound
from projections import Reports
from projections.storage.pg import PgStore
from tests.conftest import _PG_SKIP, ACTOR, Clock, pg_schema_url
from tests.test_projection_properties import run_history
from tests.test_projections import A, faq_history, projected_rows
from tests.test_startup import imported, ledger

pytestmark = pytest.mark.skipif(bool(_PG_SKIP), reason=_PG_SKIP or "")

DATES = [date(2020, 6, 1), date(2021, 1, 15), date(2021, 4, 1), date(2023, 1, 1)]


def refuse() -> None:
    raise AssertionError("the application was opened")


def through_psycopg(url: str) -> Reports:
    """Reports as the CLI opens them, which must not open the application."""
    reports = Reports.opening(url, 5.0, refuse)
    assert isinstance(reports.driver, PgStore)
    return reports


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url() as url:
        yield url


def assert_same_reports(url: str, app: Ledger, partners: list[str]) -> None:
    """Every report, for every partner and for all, on several dates and
    windows: through psycopg as through SQLAlchemy (the application's)."""
    usual, native = Reports(app), through_psycopg(url)
    seen = 0
    for on in DATES:
        for partner in [None, *partners]:
            for within in (30, 400):
                expected = projected_rows(usual, on, within, partner)
                assert projected_rows(native, on, within, partner) == expected
                seen += sum(map(len, expected.values()))
    assert seen and "app" not in native.__dict__


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_histories_read_the_same_through_psycopg(pg_url, seed):
    app = Ledger(pg_url, clock=Clock())
    try:
        rnd = Random(seed)
        reports = Reports(app, page_size=rnd.randint(1, 6))
        run_history(rnd, app, reports)
        reports.catch_up()
        assert_same_reports(pg_url, app, ["P0", "P1"])
    finally:
        app.close()


def test_the_faqs_history_reads_the_same_with_users_shown_by_email(pg_url):
    app = faq_history(Ledger(pg_url, clock=Clock()))
    try:
        Reports(app).catch_up()
        assert_same_reports(pg_url, app, ["MPN-1"])
        seats = through_psycopg(pg_url).reassignable("MPN-1", date(2021, 4, 1))
        assert [row["user"] for row in seats] == [A]
    finally:
        app.close()


def test_an_unknown_partner_is_not_found_and_new_events_are_caught_up(pg_url):
    app = faq_history(Ledger(pg_url, clock=Clock()))
    try:
        Reports(app).catch_up()
        reports = through_psycopg(pg_url)
        with pytest.raises(NotFound, match="MPN-404"):
            reports.entitlements("MPN-404", date(2021, 1, 1))
        app.grant_benefit(
            "MPN-1", "NEW", "technical", "Support", 1, date(2021, 1, 2), ACTOR
        )
        reports._open_app = lambda: app  # behind: the usual way, from here on
        found = reports.entitlements("MPN-1", date(2021, 1, 3))
        assert "NEW" in {row["benefit"] for row in found}
        assert reports.driver is None
        assert_same_reports(pg_url, app, ["MPN-1"])
    finally:
        app.close()


def test_projections_behind_or_missing_open_the_application(pg_url):
    app = faq_history(Ledger(pg_url, clock=Clock()))
    try:
        with pytest.raises(AssertionError, match="opened"):
            Reports.opening(pg_url, 5.0, refuse)  # no read models yet
        Reports(app).catch_up()
        app.add_tenant("MPN-1", "other", date(2021, 1, 2), ACTOR)
        with pytest.raises(AssertionError, match="opened"):
            Reports.opening(pg_url, 5.0, refuse)  # one event behind
    finally:
        app.close()


def test_a_caught_up_report_through_the_cli_loads_no_sqlalchemy(pg_url):
    enroll = ("partner", "enroll", "P1", "--on", "2020-01-31")
    assert ledger("--db", pg_url, "--actor", ACTOR, *enroll).returncode == 0
    args = ("--db", pg_url, "-o", "json", "report", "entitlements", "--on")
    first = ledger(*args, "2020-06-01", "--partner", "P1")
    assert first.returncode == 0, first.stderr  # the read models made
    for partner in ("P1", "MPN-404"):
        modules = imported(*args, "2020-06-01", "--partner", partner)
        assert "projections.storage.pg" in modules
        assert not {
            m for m in modules if m.split(".")[0] in ("sqlalchemy", "eventsourcing")
        }
        assert not {"ledger.application", "ledger.domain.partner"} & modules
    unknown = ledger(*args, "2020-06-01", "--partner", "MPN-404")
    assert unknown.returncode == 2 and "MPN-404" in unknown.stderr
    grant = ("benefit", "grant", "P1", "AZ", "--kind", "product-key")
    grant += ("--product", "Azure", "--quantity", "5", "--on", "2020-02-01")
    assert ledger("--db", pg_url, "--actor", ACTOR, *grant).returncode == 0
    after = ledger(*args, "2020-06-01", "--partner", "P1")
    assert after.returncode == 0 and '"AZ"' in after.stdout


def test_a_database_error_through_psycopg_reads_as_through_sqlalchemy(pg_url):
    import psycopg
    import sqlalchemy as sa

    from ledger.store.errors import translated

    app = faq_history(Ledger(pg_url, clock=Clock()))
    try:
        Reports(app).catch_up()
    finally:
        app.close()
    query = "SELECT * FROM no_such_table"
    with pytest.raises(psycopg.Error) as native:
        through_psycopg(pg_url).driver._rows(query)  # type: ignore[union-attr]
    engine = sa.create_engine(pg_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as usual, engine.connect() as conn:
            conn.execute(sa.text(query))
    finally:
        engine.dispose()
    assert str(translated(native.value)) == str(translated(usual.value))
    assert "psycopg.errors.UndefinedTable" in str(translated(native.value))
