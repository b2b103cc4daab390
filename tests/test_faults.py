"""Under faults nothing is lost and nothing is forged (issue 13).

Each test reproduces one fault found by trying the ledger as the most trusted
stores are tried: hands on the database (SQL edits behind the ledger's back),
real processes racing, database errors in the middle of a write. On SQLite the
edits go straight to the file; on PostgreSQL through a plain connection.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.application import Ledger
from tests.conftest import ACTOR, Cli, d
from tests.test_tamper import database

P = "MPN-1"


def small_ledger(app: Ledger) -> None:
    """One partner, 8 events (positions 1-8), no request ids."""
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR)
    app.activate_benefit(P, "AZ", d("2020-02-01"), ACTOR)
    app.add_tenant(P, "demo", d("2020-02-01"), ACTOR)
    app.issue_key(P, "AZ", "KEY-1", 10, d("2020-11-01"), ACTOR)
    app.redeem_key(P, "KEY-1", "demo", "SUB-1", "new", d("2020-12-01"), ACTOR)
    app.add_user(P, "dev@contoso.example", "aad", d("2021-01-01"), ACTOR)
    app.add_user(P, "qa@contoso.example", "aad", d("2021-01-01"), ACTOR)


def answer(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout or result.stderr)


def sqlite_only(url: str) -> None:
    if not url.startswith("sqlite"):
        pytest.skip("PostgreSQL's bytea column can't hold text: the edit is SQLite's")


# -- 5. an event stored as TEXT -----------------------------------------------------


def test_an_event_stored_as_text_is_named_as_changed_by_verify_digest_and_check(
    app: Ledger, db_url: str, run: Cli
) -> None:
    sqlite_only(db_url)
    small_ledger(app)
    saved = run.json("audit", "digest")
    with database(db_url) as execute:
        execute("UPDATE ledger_events SET state = CAST(state AS TEXT) WHERE id = 6")
    verified = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert verified.exit_code == 1
    found = answer(verified)
    assert (found["broken_at"], found["problem"]) == (6, "changed")
    assert found["digest_matches"] is False
    assert "stored as text" in found["message"]
    digest = run("audit", "digest")
    assert digest.exit_code == 1
    assert (answer(digest)["broken_at"], answer(digest)["problem"]) == (6, "changed")
    check = run("audit", "check", "--on", "2021-06-01")
    assert check.exit_code == 1
    error = answer(check)["error"]
    assert error["code"] == "changed"
    assert error["message"].startswith("position 6: the stored event was changed")


# -- 6. a damaged chain table with the kept digest matching ------------------------


def zero_chain_hash(url: str, position: int) -> None:
    zeros = (
        "zeroblob(32)"
        if url.startswith("sqlite")
        else "decode(repeat('00', 32), 'hex')"
    )
    with database(url) as execute:
        execute(
            f"UPDATE ledger_audit_chain SET sha256 = {zeros} WHERE position = :p",
            {"p": position},
        )


def test_a_damaged_chain_table_with_a_matching_digest_is_repaired_not_blamed_on_the_log(
    app: Ledger, db_url: str, run: Cli
) -> None:
    small_ledger(app)
    saved = run.json("audit", "digest")
    zero_chain_hash(db_url, 5)
    refused = run("audit", "digest")
    assert refused.exit_code == 1
    assert "audit verify --position N --sha256 H" in answer(refused)["message"]

    verified = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert verified.exit_code == 0, verified.stdout
    found = answer(verified)
    assert found["ok"] is True and found["digest_matches"] is True
    assert found["chain_table"]["damaged_at"] == 5
    assert found["chain_table"]["repaired_through"] == 8
    assert "so it is intact" in found["chain_table"]["message"]

    assert run.json("audit", "digest") == saved
    again = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert again.exit_code == 0 and "chain_table" not in answer(again)


def test_a_changed_event_is_still_blamed_on_the_log_when_the_digest_does_not_match(
    app: Ledger, db_url: str, run: Cli
) -> None:
    small_ledger(app)
    saved = run.json("audit", "digest")
    with database(db_url) as execute:
        (state,) = execute("SELECT state FROM ledger_events WHERE id = 5")[0]
        changed = bytes(state).replace(b'"2020-11-01"', b'"2020-11-02"')
        execute("UPDATE ledger_events SET state = :s WHERE id = 5", {"s": changed})
    verified = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert verified.exit_code == 1
    found = answer(verified)
    assert (found["broken_at"], found["problem"]) == (5, "changed")
    assert "chain_table" not in found
