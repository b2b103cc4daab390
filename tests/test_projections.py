"""Projections: the reports answer the FAQ's questions, stay equal to the
reference rows of ledger/reports.py, survive a failing handler, rebuild
behind the readers' backs, and follow new events."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.domain import reports as reference
from projections import ProjectionFailed, Reports, handlers
from projections.fold import Fold
from projections.storage import tables_of
from tests.conftest import ACTOR, d

P = "MPN-1"
A, B = "a@contoso.example", "b@contoso.example"


def faq_history(app, partner=P):
    """The FAQ's dates: enrolled 2020-01-31 (renewal and benefit expiry
    2021-01-31); a key redeemed 2020-12-01; a seat assigned 2021-01-01."""
    app.enroll(partner, d("2020-01-31"), ACTOR)
    app.grant_benefit(partner, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR)
    app.grant_benefit(
        partner, "VS", "user-subscription", "VS Enterprise", 5, d("2020-02-01"), ACTOR
    )
    app.grant_benefit(
        partner, "TECH", "technical", "Support", 2, d("2020-02-01"), ACTOR
    )
    app.activate_benefit(partner, "AZ", d("2020-02-01"), ACTOR)
    app.activate_benefit(partner, "VS", d("2020-02-01"), ACTOR)
    app.add_tenant(partner, "demo", d("2020-02-01"), ACTOR)
    app.issue_key(partner, "AZ", "K1", 10, d("2020-12-01"), ACTOR)
    app.redeem_key(partner, "K1", "demo", "S1", "new", d("2020-12-01"), ACTOR)
    app.add_user(partner, A, "aad", d("2020-12-01"), ACTOR)
    app.add_user(partner, B, "aad", d("2020-12-01"), ACTOR)
    app.assign_seat(partner, "VS", A, d("2021-01-01"), ACTOR)
    return app


@pytest.fixture
def faq(app):
    return faq_history(app)


def by(rows, key):
    return {row[key]: row for row in rows}


def test_entitlements_say_what_can_still_be_activated(faq):
    rows = by(Reports(faq).entitlements(P, d("2021-01-01")), "benefit")
    assert [rows[b]["status"] for b in ("AZ", "TECH", "VS")] == [
        "activated",
        "available",
        "activated",
    ]
    assert (rows["AZ"]["used"], rows["AZ"]["remaining"]) == (10, 10)
    assert (rows["VS"]["used"], rows["VS"]["remaining"]) == (1, 4)
    assert rows["TECH"]["activate_by"] == "2021-01-31"
    assert rows["VS"]["activate_by"] == "2021-03-02"
    after = by(Reports(faq).entitlements(P, d("2021-02-01")), "benefit")
    assert after["TECH"]["status"] == "expired"


def test_expiring_lists_what_ends_in_the_next_30_days_with_the_remedy(faq):
    rows = Reports(faq).expiring(P, d("2021-01-01"), 30)
    assert [(r["what"], r["id"], r["ends_on"], r["days_left"]) for r in rows] == [
        ("benefit", "AZ", "2021-01-31", 30),
        ("benefit", "TECH", "2021-01-31", 30),
        ("benefit", "VS", "2021-01-31", 30),
        ("membership", P, "2021-01-31", 30),
    ]
    assert rows[-1]["remedy"] == "renew the membership"


def test_a_held_seat_ends_on_the_renewal_date_plus_30_days(faq):
    (seat,) = [
        r for r in Reports(faq).expiring(P, d("2021-02-01"), 30) if r["what"] == "seat"
    ]
    assert (seat["id"], seat["ends_on"], seat["days_left"]) == (
        "VS#1",
        "2021-03-02",
        29,
    )
    assert seat["remedy"] == "renew the membership"


def test_a_key_redeemed_2020_12_01_expires_2021_12_01(faq):
    rows = Reports(faq).expiring(P, d("2021-11-15"), 30)
    assert [(r["what"], r["id"], r["ends_on"]) for r in rows] == [
        ("key", "K1", "2021-12-01"),
        ("subscription", "S1", "2021-12-01"),
    ]
    assert rows[0]["remedy"] == "add licenses, or extend for the next enrollment year"


def test_a_seat_assigned_2021_01_01_is_reassignable_from_2021_04_01(faq):
    reports = Reports(faq)
    (seat,) = reports.reassignable(P, d("2021-03-31"))
    assert (
        seat["seat"],
        seat["user"],
        seat["assigned_on"],
        seat["reassignable_on"],
    ) == ("VS#1", A, "2021-01-01", "2021-04-01")
    assert seat["eligible"] is False
    assert reports.reassignable(P, d("2021-04-01"))[0]["eligible"] is True


def test_a_reassignment_starts_a_new_window_and_a_release_frees_the_seat(app):
    """Enrolled 2020-06-01: seats are usable through 2021-07-01."""
    app.enroll(P, d("2020-06-01"), ACTOR)
    app.grant_benefit(P, "VS", "user-subscription", "VS", 2, d("2020-06-01"), ACTOR)
    app.activate_benefit(P, "VS", d("2020-06-01"), ACTOR)
    for email in (A, B):
        app.add_user(P, email, "aad", d("2020-06-01"), ACTOR)
    app.assign_seat(P, "VS", A, d("2021-01-01"), ACTOR)
    reports = Reports(app)
    assert reports.reassignable(P, d("2021-04-01"))[0]["eligible"] is True
    app.reassign_seat(P, "VS#1", B, d("2021-04-01"), ACTOR)
    (seat,) = reports.reassignable(P, d("2021-04-01"))
    assert (
        seat["user"],
        seat["assigned_on"],
        seat["reassignable_on"],
        seat["eligible"],
    ) == (B, "2021-04-01", "2021-06-30", False)
    app.release_seat(P, "VS#1", d("2021-04-02"), ACTOR)
    assert reports.reassignable(P, d("2021-04-02")) == []
    assert by(reports.entitlements(P, d("2021-04-02")), "benefit")["VS"]["used"] == 0


def test_a_bulk_credit_holder_with_other_offers_is_a_conflict(faq):
    faq.grant_benefit(P, "ABC", "azure-bulk-credit", "Bulk", 2, d("2020-12-01"), ACTOR)
    faq.activate_benefit(P, "ABC", d("2020-12-01"), ACTOR)
    faq.assign_seat(P, "ABC", B, d("2020-12-02"), ACTOR)
    faq.record_offer(P, B, "azure-pass", d("2020-12-03"), ACTOR)
    faq.record_offer(P, B, "action-pack", d("2020-12-04"), ACTOR)
    faq.record_offer(P, A, "azure-pass", d("2020-12-04"), ACTOR)
    assert Reports(faq).conflicts(P) == [
        {
            "partner": P,
            "user": B,
            "seats": ["ABC#1"],
            "offers": ["action-pack", "azure-pass"],
        }
    ]


def reference_rows(app, partners, on, within=30):
    """The rows of ledger/domain/reports.py, users shown as reports show them."""
    loaded = [app.load(p) for p in sorted(partners)]
    return app.reveal(
        {
            "entitlements": [
                r for p in loaded for r in reference.entitlement_rows(p, on)
            ],
            "expiring": reference.sort_expiry(
                [r for p in loaded for r in reference.expiring_rows(p, on, within)]
            ),
            "reassignable": [
                r for p in loaded for r in reference.reassignable_rows(p, on)
            ],
            "conflicts": [r for p in loaded for r in reference.conflict_rows(p)],
        }
    )


def projected_rows(reports, on, within=30, partner=None):
    return {
        "entitlements": reports.entitlements(partner, on),
        "expiring": reports.expiring(partner, on, within),
        "reassignable": reports.reassignable(partner, on),
        "conflicts": reports.conflicts(partner),
    }


def test_rows_equal_the_reference_rows_for_every_partner(faq):
    faq_history(faq, "MPN-0")
    reports = Reports(faq)
    for on in ("2020-12-01", "2021-01-15", "2021-04-01"):
        assert projected_rows(reports, d(on)) == reference_rows(
            faq, [P, "MPN-0"], d(on)
        )
        one = projected_rows(reports, d(on), partner=P)
        assert one == reference_rows(faq, [P], d(on))


def test_an_unknown_partner_is_not_found(faq):
    from ledger.domain.errors import NotFound

    with pytest.raises(NotFound):
        Reports(faq).entitlements("NOPE", d("2021-01-01"))


def test_catching_up_when_nothing_is_new_is_two_queries(faq):
    reports = Reports(faq)
    assert reports.catch_up() > 0
    statements: list[str] = []
    engine = faq.event_rows.engine

    def listener(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", listener)
    if reports.driver is not None:  # an SQLite file: through sqlite3 (storage/lite.py)
        assert reports.log is not None
        for conn in (reports.driver.connection(), reports.log.connection()):
            conn.set_trace_callback(statements.append)
    try:
        assert reports.catch_up() == 0
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_status_shows_position_head_and_lag(faq):
    reports = Reports(faq)
    head = faq.recorder.max_notification_id()
    assert {
        r["name"]: (r["position"], r["head"], r["lag"]) for r in reports.status()
    } == {
        name: (0, head, head)
        for name in (
            "entitlements",
            "expiry",
            "seats",
            "conflicts",
            "deadlines",
            "voided",
        )
    }
    reports.catch_up()
    assert all((r["position"], r["lag"]) == (head, 0) for r in reports.status())


def notification_of(app, event_class):
    """Notification ids of the stored events of one class, in order."""
    topic = f"{event_class.__module__}:{event_class.__qualname__}"
    return [
        n.id for n in app.recorder.select_notifications(0, 1000) if n.topic == topic
    ]


def test_a_failing_handler_stops_before_its_event_and_resuming_applies_each_event_once(
    faq, monkeypatch, db_url
):
    from ledger.domain.partner import KeyIssued

    (target,) = notification_of(faq, KeyIssued)
    before = max(
        n.id for n in faq.recorder.select_notifications(0, 1000) if n.id < target
    )
    armed = {"on": True}

    class Failing(handlers.Entitlements):
        def process_event(self, event, tracking):
            if armed["on"] and tracking.notification_id == target:
                raise RuntimeError("disk on fire")
            super().process_event(event, tracking)

    monkeypatch.setitem(handlers.PROJECTIONS, "entitlements", Failing)
    reports = Reports(faq)
    with pytest.raises(ProjectionFailed) as failure:
        reports.catch_up()
    assert (failure.value.notification_id, failure.value.position) == (target, before)
    assert "KeyIssued" in failure.value.message
    assert by(reports.status(), "name")["entitlements"]["position"] == before
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        used = conn.execute(
            sa.text("SELECT used FROM proj_entitlements_g1 WHERE benefit = 'AZ'")
        ).scalar_one()
    engine.dispose()
    assert used == 0  # the events before the failure are in, the key is not

    armed["on"] = False
    reports.catch_up()
    resumed = projected_rows(reports, d("2021-01-01"))
    assert by(resumed["entitlements"], "benefit")["AZ"]["used"] == 10
    reports.rebuild()
    assert projected_rows(reports, d("2021-01-01")) == resumed
    assert resumed == reference_rows(faq, [P], d("2021-01-01"))


def test_readers_see_the_old_tables_until_a_rebuild_is_complete(faq, db_url):
    reports = Reports(faq, page_size=3)
    on = d("2021-01-01")
    complete = reports.entitlements(P, on)
    engine = sa.create_engine(db_url)
    seen = []

    def progress(count):
        with engine.connect() as conn:
            building = conn.execute(
                sa.text("SELECT count(*) FROM proj_entitlements_g2")
            ).scalar_one()
        seen.append(
            (
                reports.store.live_generation("entitlements"),
                reports.entitlements(P, on),
                building,
            )
        )

    try:
        applied = reports.rebuild("entitlements", progress=progress)
    finally:
        engine.dispose()
    assert applied == len(faq.recorder.select_notifications(0, 1000))
    assert all(generation == 1 and rows == complete for generation, rows, _ in seen)
    assert seen[0][2] < len(complete)  # the new tables were incomplete then
    assert reports.store.live_generation("entitlements") == 2
    assert reports.entitlements(P, on) == complete


def test_a_rebuild_fills_new_tables_and_drops_the_old_ones(faq, db_url):
    reports = Reports(faq, page_size=4)
    reports.catch_up()
    reports.rebuild()
    engine = sa.create_engine(db_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"proj_entitlements_g2", "proj_seats_g2", "proj_expiry_g2"} <= tables
    assert not {t for t in tables if t.endswith("_g1")}
    assert projected_rows(reports, d("2021-01-01")) == reference_rows(
        faq, [P], d("2021-01-01")
    )


def test_runners_catching_up_at_once_apply_every_event_once(faq):
    """Each runner keeps rows in memory between pages; when another runner
    moved a projection meanwhile, it must read them again."""
    faq_history(faq, "MPN-0")
    runners = [Reports(faq, page_size=size) for size in (1, 2, 3)]
    errors = []

    def catch_up(reports):
        try:
            reports.catch_up()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=catch_up, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert projected_rows(runners[0], d("2021-01-01")) == reference_rows(
        faq, [P, "MPN-0"], d("2021-01-01")
    )


def test_a_runner_reads_rows_again_when_another_moved_the_projection_between_pages(faq):
    first, second = Reports(faq, page_size=2), Reports(faq)
    pages = []

    def progress(count):
        if not pages:  # after the first page of the first runner
            second.catch_up()
            faq.activate_benefit(P, "TECH", d("2021-01-02"), ACTOR)
            faq.issue_key(P, "AZ", "K2", 5, d("2021-01-02"), ACTOR)
        pages.append(count)

    first.runner.catch_up(progress)
    assert projected_rows(first, d("2021-01-02")) == reference_rows(
        faq, [P], d("2021-01-02")
    )
    assert by(first.entitlements(P, d("2021-01-02")), "benefit")["AZ"]["used"] == 15


def test_follow_applies_new_events_as_they_are_recorded(faq):
    reports = Reports(faq)
    head = faq.recorder.max_notification_id()
    messages, listening, done = [], threading.Event(), threading.Event()

    def announce(message):
        messages.append(message)
        listening.set()

    def follow():
        try:
            reports.follow(until=head + 2, timeout=60, interval=0.05, announce=announce)
        finally:
            done.set()

    follower = threading.Thread(target=follow)
    follower.start()
    assert listening.wait(timeout=60)
    faq.sign_in(P, "VS#1", d("2021-01-02"), ACTOR)
    faq.assign_seat(P, "VS", B, d("2021-01-03"), ACTOR)
    follower.join(timeout=90)
    assert done.is_set()
    assert all(r["position"] == head + 2 for r in reports.status())
    pushes = faq.event_rows.engine.dialect.name == "postgresql"
    assert ("notifications" if pushes else "polling") in messages[0]
    rows = by(reports.reassignable(P, d("2021-01-03")), "user")
    assert (rows[A]["state"], rows[B]["seat"]) == ("active", "VS#2")


def test_every_projection_has_tables_and_handlers():
    from projections import NAMES
    from projections.storage.tables import LAYOUTS

    assert tuple(LAYOUTS) == tuple(handlers.PROJECTIONS) == NAMES


def test_a_reader_finds_the_new_tables_after_another_process_rebuilt(faq):
    reader, rebuilder = Reports(faq), Reports(faq)
    on = d("2021-01-01")
    before = reader.reassignable(P, on)
    rebuilder.rebuild("seats")
    assert reader.reassignable(P, on) == before
    assert reader.store.live_generation("seats") == 2


def test_a_rebuild_holds_one_partners_rows_at_a_time(app, db_url):
    """A rebuild folds partner by partner: memory holds the rows of one
    partner (plus what waits for its bulk insert), not the whole log's."""
    partners = [f"MPN-{n}" for n in range(6)]
    for partner in partners:
        faq_history(app, partner)
    reports = Reports(app)
    reports.rebuild()
    fold = reports.runner.fold
    assert fold is not None
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            tables = [n for n in names if n.startswith("proj_")]
            per_partner = [
                sum(
                    conn.execute(
                        sa.text(f'SELECT count(*) FROM "{t}" WHERE partner = :p'),
                        {"p": partner},
                    ).scalar_one()
                    for t in tables
                )
                for partner in partners
            ]
    finally:
        engine.dispose()
    assert fold.peak_rows == max(per_partner)
    assert fold.peak_rows * len(partners) == sum(per_partner)
    assert fold.peak_pending <= sum(per_partner)  # below the flush size here

    # With a flush after every partner, nothing else waits in memory.
    fresh = [reports.store.next_generation("entitlements")]
    bounded = Fold(app, reports.store, reports.runner.history, flush_rows=1)
    bounded.run(fresh, reports.runner.head())
    assert bounded.peak_pending <= max(per_partner)


@pytest.mark.parametrize("path", ["folded", "paged"])
def test_a_rebuilt_generation_refuses_a_second_row_with_the_same_key(
    faq, monkeypatch, path
):
    """A rebuild makes its tables without keys and builds them once the rows
    are in; when the fold fails and pages take over, they are built first.
    Either way every table of the new generations refuses a duplicate key."""
    if path == "paged":

        def fail(*args):
            raise RuntimeError("fold failed")

        monkeypatch.setattr(Fold, "_fold", fail)
    reports = Reports(faq)
    reports.rebuild()
    assert (reports.runner.fold is None) == (path == "paged")
    refused = []
    with reports.store.engine.connect() as conn:
        for generation in reports.store.live():
            for table in tables_of(generation.name, generation.generation).values():
                row = conn.execute(sa.select(table).limit(1)).mappings().first()
                if row is None:
                    continue
                with pytest.raises(sa.exc.IntegrityError):
                    with conn.begin_nested():
                        conn.execute(sa.insert(table).values(**row))
                refused.append(table.name)
    assert len(refused) >= 15
