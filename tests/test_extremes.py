"""Storage holds whatever the domain accepts: a ledger written at the bounds'
extremes (quantities and licenses of 1,000,000, policy days of 3650, the
first and last dates, ids of 200 characters) answers every report, rebuilds
its projections, and passes `audit check` and `audit verify`, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import ACTOR

MILLION = "1000000"
LONG = "P" * 200  # the longest id
FIRST, LAST = "1900-01-01", "2199-12-31"
USER = "u@contoso.example"


@pytest.fixture
def extreme(run):
    run.json("init", "--admin", ACTOR, actor=None)
    for name in ("user_assignment_grace_days", "reassignment_days"):
        run.json("policy", "set", name, "3650", "--on", FIRST)
    run.json("policy", "set", "expiring_soon_days", "3650", "--on", FIRST)
    for partner, on in ((LONG, FIRST), ("LATE", LAST)):
        run.json("partner", "enroll", partner, "--on", on, "--name", "N" * 200)
        run.json("tenant", "add", partner, "T" * 200, "--on", on)
        run.json("user", "add", partner, USER, "--source", "aad", "--on", on)
        for kind in ("product-key", "user-subscription", "azure-bulk-credit"):
            grant(run, partner, kind, on)
        grant(run, partner, "technical", on)
        run.json(
            "key",
            "issue",
            partner,
            "product-key",
            "K" * 200,
            "--licenses",
            MILLION,
            "--on",
            on,
        )
        run.json(
            "key",
            "redeem",
            partner,
            "K" * 200,
            "--tenant",
            "T" * 200,
            "--subscription",
            "S" * 200,
            "--mode",
            "new",
            "--on",
            on,
        )
        run.json("seat", "assign", partner, "user-subscription", USER, "--on", on)
        run.json("user", "offer", partner, USER, "azure-pass", "--on", on)
        run.json("ticket", "open", partner, "technical", "--product", "X", "--on", on)
    return run


def grant(run, partner: str, kind: str, on: str) -> None:
    run.json(
        "benefit",
        "grant",
        partner,
        kind,
        "--kind",
        kind,
        "--product",
        "X" * 200,
        "--quantity",
        MILLION,
        "--on",
        on,
    )
    run.json("benefit", "activate", partner, kind, "--on", on)


@pytest.mark.parametrize("on", [FIRST, "2000-01-01", LAST])
def test_every_report_answers_at_the_extremes(extreme, on):
    rows = extreme.json("report", "entitlements", "--on", on)
    assert {r["quantity"] for r in rows} == {1_000_000}
    extreme.json("report", "expiring", "--on", on)
    extreme.json("report", "expiring", "--on", on, "--within", "3650")
    extreme.json("report", "reassignable", "--on", on)
    extreme.json("report", "conflicts")
    assert extreme("report", "calendar", "--on", on).exit_code == 0
    for partner in (LONG, "LATE"):
        extreme.json("audit", "replay", partner, "--as-of", LAST)
        extreme.json("partner", "show", partner, "--on", on)
    extreme.json("audit", "check", "--on", on)


def test_rebuild_check_and_verify_pass_at_the_extremes(extreme):
    before = extreme.json("report", "entitlements", "--on", LAST)
    rebuilt = extreme.json("projections", "rebuild")
    assert all(r["lag"] == 0 and r.get("stuck") is None for r in rebuilt)
    assert extreme.json("report", "entitlements", "--on", LAST) == before
    assert extreme.json("audit", "check", "--on", LAST)["ok"] is True
    assert extreme.json("audit", "verify")["ok"] is True
    digest = extreme.json("audit", "digest")
    verified = extreme.json(
        "audit",
        "verify",
        "--position",
        str(digest["position"]),
        "--sha256",
        digest["sha256"],
    )
    assert verified["ok"] is True


@pytest.mark.parametrize("position", ["99999999999999999999", "18446744073709551615"])
def test_a_position_beyond_what_the_log_can_hold_is_bad_input(run, position):
    result = run("audit", "verify", "--position", position, "--sha256", "0" * 64)
    assert result.exit_code == 2
    assert "is not a whole number from 0 to 9,223,372,036,854,775,807" in result.stderr


@pytest.mark.parametrize("name", ["\udcff.ics", "a\nb.ics"])
def test_an_out_file_name_that_is_not_printable_text_is_bad_input(run, tmp_path, name):
    result = run("report", "calendar", "--out", str(tmp_path / name))
    assert result.exit_code == 2
    assert not (tmp_path / name).exists()
