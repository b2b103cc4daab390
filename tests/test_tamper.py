"""Tamper evidence: a digest saved before, then the database edited with SQL
behind the ledger's back; `audit verify` must exit 1 and name the position.

On SQLite the edits go straight to the file with the sqlite3 module; on
PostgreSQL the same SQL runs through a plain connection.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import ACTOR, d

P = "MPN-1"


@contextmanager
def database(url: str) -> Iterator[Any]:
    """A DB-API style `execute(sql, params)` on the ledger's database, outside
    the ledger (named parameters, :name, on both backends)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            yield lambda sql, params=None: conn.execute(sql, params or {}).fetchall()
            conn.commit()
        finally:
            conn.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:

            def execute(sql: str, params: dict | None = None) -> list:
                result = conn.execute(sa.text(sql), params or {})
                return result.fetchall() if result.returns_rows else []

            yield execute
    finally:
        engine.dispose()


def new_id(url: str) -> Any:
    return uuid.uuid4().bytes if url.startswith("sqlite") else uuid.uuid4()


@pytest.fixture
def ledger(app):
    """Two partners with a few events each: 14 stored events."""
    for partner in (P, "OTHER"):
        app.enroll(partner, d("2020-01-31"), ACTOR)
        app.grant_benefit(
            partner, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR
        )
        app.activate_benefit(partner, "AZ", d("2020-02-01"), ACTOR)
        app.add_tenant(partner, "demo", d("2020-02-01"), ACTOR)
        app.issue_key(partner, "AZ", "KEY-1", 10, d("2020-11-01"), ACTOR)
        app.redeem_key(partner, "KEY-1", "demo", "SUB-1", "new", d("2020-12-01"), ACTOR)
        app.add_user(partner, "dev@contoso.example", "aad", d("2021-01-01"), ACTOR)
    return app


@pytest.fixture
def saved(ledger, run) -> dict:
    """The digest a compliance user saved before anything was touched."""
    digest = run.json("audit", "digest")
    assert digest["position"] == 14
    return digest


def verify(run, digest: dict | None = None) -> tuple[int, dict]:
    import json

    args = ["audit", "verify"]
    if digest is not None:
        args += ["--position", str(digest["position"]), "--sha256", digest["sha256"]]
    result = run(*args)
    return result.exit_code, json.loads(result.stdout)


def test_an_untouched_log_verifies_against_its_digest(saved, run):
    code, answer = verify(run, saved)
    assert code == 0
    assert answer["ok"] is True and answer["verified_through"] == 14
    assert answer["sha256"] == saved["sha256"]


def test_events_written_after_the_digest_do_not_break_it(saved, ledger, run):
    ledger.add_user(P, "new@contoso.example", "aad", d("2021-02-01"), ACTOR)
    code, answer = verify(run, saved)
    assert code == 0
    assert answer["position"] == 15 and answer["verified_through"] == 14


def test_one_changed_byte_is_named_by_its_position(saved, db_url, run):
    with database(db_url) as execute:
        (state,) = execute("SELECT state FROM ledger_events WHERE id = 12")[0]
        state = bytes(state)
        assert b'"2020-11-01"' in state  # the issue date of a key
        changed = state.replace(b'"2020-11-01"', b'"2020-11-02"')
        execute("UPDATE ledger_events SET state = :s WHERE id = 12", {"s": changed})
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (12, "changed")


def test_a_byte_that_breaks_an_event_is_named_even_without_a_digest(saved, db_url, run):
    with database(db_url) as execute:
        (state,) = execute("SELECT state FROM ledger_events WHERE id = 4")[0]
        execute(
            "UPDATE ledger_events SET state = :s WHERE id = 4",
            {"s": b"#" + bytes(state)[1:]},
        )
        execute("DROP TABLE ledger_audit_chain")
    code, answer = verify(run)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (4, "undecodable")


def test_a_deleted_event_is_named_by_its_position(saved, db_url, run):
    with database(db_url) as execute:
        execute("DELETE FROM ledger_events WHERE id = 6")
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (6, "missing")


def test_a_deleted_event_is_caught_by_its_aggregates_versions_without_a_digest(
    saved, db_url, run
):
    with database(db_url) as execute:
        execute("DELETE FROM ledger_events WHERE id = 2")  # P's version 2
        execute("DROP TABLE ledger_audit_chain")
    code, answer = verify(run)
    assert code == 1
    assert answer["problem"] == "version-sequence"
    assert answer["broken_at"] == 3  # P's next event, whose version 3 follows 1


def test_an_inserted_event_is_named_by_its_position(saved, db_url, run):
    with database(db_url) as execute:
        # Make room at position 5 and put a forged enrollment there.
        execute("UPDATE ledger_events SET id = -id WHERE id >= 5")
        execute("UPDATE ledger_events SET id = 1 - id WHERE id < 0")
        topic, state = execute("SELECT topic, state FROM ledger_events WHERE id = 1")[0]
        execute(
            "INSERT INTO ledger_events (id, originator_id, originator_version, topic, "
            "state) VALUES (5, :o, 1, :t, :s)",
            {"o": new_id(db_url), "t": topic, "s": bytes(state)},
        )
    code, answer = verify(run, saved)
    assert code == 1
    assert answer["broken_at"] == 5


def test_an_event_inserted_in_a_gap_is_named_as_inserted(saved, db_url, run):
    with database(db_url) as execute:
        topic, state = execute("SELECT topic, state FROM ledger_events WHERE id = 1")[0]
        execute(
            "INSERT INTO ledger_events (id, originator_id, originator_version, topic, "
            "state) VALUES (0, :o, 1, :t, :s)",
            {"o": new_id(db_url), "t": topic, "s": bytes(state)},
        )
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (0, "inserted")


def test_two_swapped_events_are_named_by_the_first_position(saved, db_url, run):
    with database(db_url) as execute:
        a = execute("SELECT topic, state FROM ledger_events WHERE id = 7")[0]
        b = execute("SELECT topic, state FROM ledger_events WHERE id = 11")[0]
        for position, (topic, state) in ((7, b), (11, a)):
            execute(
                "UPDATE ledger_events SET topic = :t, state = :s WHERE id = :p",
                {"t": topic, "s": bytes(state), "p": position},
            )
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (7, "changed")


def test_a_truncated_tail_is_named_by_the_first_missing_position(saved, db_url, run):
    with database(db_url) as execute:
        execute("DELETE FROM ledger_events WHERE id > 10")
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (11, "missing")


def test_a_truncated_tail_is_named_even_when_the_recorded_chain_is_gone(
    saved, db_url, run
):
    with database(db_url) as execute:
        execute("DELETE FROM ledger_events WHERE id > 10")
        execute("DROP TABLE ledger_audit_chain")
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["problem"]) == (11, "missing")


def test_rewriting_the_recorded_chain_too_still_fails_against_the_saved_digest(
    saved, db_url, run
):
    with database(db_url) as execute:
        (state,) = execute("SELECT state FROM ledger_events WHERE id = 12")[0]
        changed = bytes(state).replace(b'"2020-11-01"', b'"2020-11-02"')
        execute("UPDATE ledger_events SET state = :s WHERE id = 12", {"s": changed})
        execute("DROP TABLE ledger_audit_chain")
    assert run("audit", "digest").exit_code == 0  # re-records the altered chain
    code, answer = verify(run, saved)
    assert code == 1
    assert answer["problem"] == "digest-mismatch"
    assert answer["broken_at"] == 14  # "at or before 14": all that can be said


def test_a_digest_is_refused_once_the_log_departs_from_the_recorded_chain(
    saved, db_url, run
):
    with database(db_url) as execute:
        execute("DELETE FROM ledger_events WHERE id = 6")
    result = run("audit", "digest")
    assert result.exit_code == 1
    assert '"broken_at": 6' in result.stdout


def test_verify_needs_both_parts_of_a_digest(saved, run):
    assert run("audit", "verify", "--position", "14").exit_code == 2


def test_pages_change_nothing(saved, db_url, run, monkeypatch):
    from ledger.audit import chain

    monkeypatch.setattr(chain, "PAGE", 3)
    assert run.json("audit", "digest") == saved
    with database(db_url) as execute:
        execute("DELETE FROM ledger_events WHERE id = 6")
    code, answer = verify(run, saved)
    assert (code, answer["broken_at"], answer["problem"]) == (1, 6, "missing")


def test_positions_skipped_before_the_digest_are_not_tampering(ledger, db_url, run):
    # PostgreSQL skips the ids of rolled-back writes: a gap is part of the log.
    with database(db_url) as execute:
        execute("UPDATE ledger_events SET id = -id - 5 WHERE id > 10")
        execute("UPDATE ledger_events SET id = -id WHERE id < 0")
    digest = run.json("audit", "digest")
    assert digest["position"] == 19
    code, answer = verify(run, digest)
    assert (code, answer["ok"]) == (0, True)


def test_a_change_after_the_digest_position_fails_but_the_digest_still_matches(
    saved, ledger, db_url, run
):
    ledger.add_user(P, "new@contoso.example", "aad", d("2021-02-01"), ACTOR)
    run.json("audit", "digest")  # records position 15 too
    with database(db_url) as execute:
        (state,) = execute("SELECT state FROM ledger_events WHERE id = 15")[0]
        changed = bytes(state).replace(b'"aad"', b'"AAD"')
        execute("UPDATE ledger_events SET state = :s WHERE id = 15", {"s": changed})
    code, answer = verify(run, saved)
    assert code == 1
    assert (answer["broken_at"], answer["digest_matches"]) == (15, True)
