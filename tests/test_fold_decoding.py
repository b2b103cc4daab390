"""A rebuild reads the log aggregate by aggregate with the driver and decodes
events without the mapper (ledger/store/decoding.py): the events it folds are
the mapper's, class for class and field for field, on both backends, for
every event type, and for a ledger written by version 0.1 (old topics, events
that need upcasting)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ledger.application import Ledger
from ledger.audit.replays import partner_events
from ledger.store.decoding import EventStates
from tests.conftest import ACTOR, d
from tests.test_projections import A, P, faq_history

DATA = Path(__file__).parent / "data"


def as_the_mapper_and_the_fold_decode(app: Ledger) -> tuple[list, list]:
    """Every stored event, decoded by the mapper and by the fold, each as
    (class, fields), in the order the fold reads them."""
    head = app.event_rows.head()
    topics = sorted({row.topic for row in app.event_rows.all()})
    decoder = EventStates(app.mapper)
    by_mapper, by_fold = [], []
    with app.event_rows.engine.connect() as conn:
        for originator_id, stored in app.event_rows.aggregates(topics, head, conn):
            for row in app.event_rows.of_aggregate(originator_id):
                event = app.decode(row)
                by_mapper.append((type(event), vars(event)))
            by_fold += [
                (type(event), vars(event))
                for event in decoder.events(originator_id, stored)
            ]
    return by_mapper, by_fold


def test_the_fold_decodes_every_event_as_the_mapper_does(app):
    faq_history(app)
    faq_history(app, "MPN-2")
    app.record_offer(P, A, "azure-pass", d("2021-01-02"), ACTOR)
    app.sign_in(P, "VS#1", d("2021-01-02"), ACTOR)
    app.activate_benefit(P, "TECH", d("2021-01-03"), ACTOR)
    app.open_ticket(P, "TECH", "VS", d("2021-01-03"), ACTOR)
    app.release_seat("MPN-2", "VS#1", d("2021-01-04"), ACTOR)
    app.renew(P, d("2021-01-05"), ACTOR)
    renewal = partner_events(app, P)[-1].position
    app.void(P, renewal, "a mistake", d("2021-01-06"), ACTOR)
    by_mapper, by_fold = as_the_mapper_and_the_fold_decode(app)
    assert len(by_fold) == app.event_rows.count_upto(app.event_rows.head())
    assert by_fold == by_mapper


def test_the_fold_decodes_an_old_ledger_as_the_mapper_does(tmp_path):
    copy = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-0.1.db", copy)
    app = Ledger(f"sqlite:///{copy}")
    try:
        by_mapper, by_fold = as_the_mapper_and_the_fold_decode(app)
        topics = {row.topic for row in app.event_rows.all()}
    finally:
        app.close()
    assert any(topic.startswith("ledger.partner:") for topic in topics)
    assert by_fold == by_mapper
