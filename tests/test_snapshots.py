"""Snapshots keep writes fast for long histories and change no answer."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import sqlalchemy as sa

from ledger.application import Ledger
from ledger.domain import reports
from tests.conftest import ACTOR, d


class FromEventsOnly(Ledger):
    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type, int]] = {}


def _history(app: Ledger) -> None:
    app.enroll("P1", d("2020-06-01"), ACTOR)
    app.grant_benefit("P1", "VS", "user-subscription", "VS", 3, d("2020-06-01"), ACTOR)
    app.activate_benefit("P1", "VS", d("2020-06-01"), ACTOR)
    app.add_tenant("P1", "demo", d("2020-06-01"), ACTOR)
    for n in range(450):
        app.add_user(
            "P1",
            f"u{n}@contoso.example",
            "aad",
            d("2020-06-02") + timedelta(n % 7),
            ACTOR,
        )
    app.assign_seat("P1", "VS", "u1@contoso.example", d("2020-07-01"), ACTOR)


def test_a_partner_loaded_from_a_snapshot_equals_one_replayed_from_events(
    db_url, clock
):
    app = Ledger(db_url, clock=clock)
    _history(app)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        snapshots = conn.execute(
            sa.text("SELECT count(*) FROM ledger_snapshots")
        ).scalar_one()
    engine.dispose()
    assert snapshots == 2  # versions 200 and 400
    from_snapshot = app.load("P1")
    plain = FromEventsOnly(db_url)
    assert plain.repository.snapshot_store is None
    from_events = plain.load("P1")
    assert vars(from_snapshot) == vars(from_events)
    on = d("2020-08-01")
    assert reports.entitlement_rows(from_snapshot, on) == reports.entitlement_rows(
        from_events, on
    )
    assert from_snapshot.version == from_events.version == 455
    app.close()
    plain.close()


def test_verify_reads_every_snapshot_page_by_page_and_names_the_forged_one(
    db_url, clock
):
    """forged_snapshots reads the snapshots a page at a time, each page after
    the last one's (aggregate, version), with the page's seals in one query:
    pages of one give the snapshots of one page of 500, and a snapshot
    edited on the second page is the one found."""
    from ledger.store.snapshots import forged_snapshots, stored_snapshots

    app = Ledger(db_url, clock=clock)
    _history(app)
    engine = sa.create_engine(db_url)
    try:

        def keys(page: int) -> list[list[int]]:
            return [
                [s.originator_version for s in found]
                for found in stored_snapshots(engine, page)
            ]

        assert keys(1) == [[200], [400]] and keys(500) == [[200, 400]]
        assert forged_snapshots(app) == []
        with engine.begin() as conn:  # the second one's bytes edited
            at_400 = " WHERE originator_version = 400"
            state = conn.execute(
                sa.text("SELECT state FROM ledger_snapshots" + at_400)
            ).scalar_one()
            conn.execute(
                sa.text("UPDATE ledger_snapshots SET state = :s" + at_400),
                {"s": bytes(state) + b" "},
            )
    finally:
        engine.dispose()
    ((_, version, why),) = forged_snapshots(app)
    assert version == 400 and "differ from the seal" in why
    app.close()
