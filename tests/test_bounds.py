"""Every bound of RULES.md ("Bounds"), refused the same way at each door:
exit 2 on the command line, a line error (exit 2) in an import, InvalidInput
from the Python API; and nothing is written."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.errors import InvalidInput
from tests.conftest import ACTOR, Cli, count_events, d

LONG = "P" * 201


def message(result: Any) -> str:
    """The error's message, from the JSON error on stderr (`-o json`)."""
    return json.loads(result.stderr)["error"]["message"]


def ready(run: Cli) -> None:
    """Partner P1 with an activated product-key benefit and a user."""
    for args in (
        ("partner", "enroll", "P1", "--on", "2020-01-31"),
        (
            "benefit",
            "grant",
            "P1",
            "AZ",
            "--kind",
            "product-key",
            "--product",
            "Azure",
            "--quantity",
            "5",
            "--on",
            "2020-02-01",
        ),
        ("benefit", "activate", "P1", "AZ", "--on", "2020-02-01"),
        (
            "user",
            "add",
            "P1",
            "dev@contoso.example",
            "--source",
            "aad",
            "--on",
            "2020-02-01",
        ),
    ):
        run.json(*args)


def grant(quantity: str, on: str = "2020-03-01") -> tuple[str, ...]:
    return (
        "benefit",
        "grant",
        "P1",
        "B2",
        "--kind",
        "technical",
        "--product",
        "S",
        "--quantity",
        quantity,
        "--on",
        on,
    )


# (arguments, what the error must name: the value and the bound)
CLI_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "quantity 0": (grant("0"), ("0", "1 to 1,000,000")),
    "quantity above 1,000,000": (grant("1000001"), ("1000001", "1,000,000")),
    "quantity over 64 bits": (
        grant("18446744073709551615"),
        ("18446744073709551615", "1,000,000"),
    ),
    "licenses above 1,000,000": (
        (
            "key",
            "issue",
            "P1",
            "AZ",
            "K1",
            "--licenses",
            "1000001",
            "--on",
            "2020-03-01",
        ),
        ("1000001", "1,000,000"),
    ),
    "policy days above 3650": (
        ("policy", "set", "reassignment_days", "3000000", "--on", "2021-01-01"),
        ("3000000", "0 to 3,650"),
    ),
    "negative policy days": (
        ("policy", "set", "--on", "2021-01-01", "reassignment_days", "--", "-1"),
        ("-1", "0 to 3,650"),
    ),
    "a renewal window of a year": (
        ("policy", "set", "renewal_window_days", "365", "--on", "2021-01-01"),
        ("365", "0 to 364"),
    ),
    "a date before 1900": (grant("1", "1899-12-31"), ("1899-12-31", "1900-01-01")),
    "a date after 2199": (grant("1", "2200-01-01"), ("2200-01-01", "2199-12-31")),
    "year 9999": (
        ("partner", "renew", "P1", "--on", "9999-12-31"),
        ("9999-12-31", "2199-12-31"),
    ),
    "a week date": (grant("1", "2021-W01-1"), ("2021-W01-1", "YYYY-MM-DD")),
    "a date with spaces": (grant("1", "20210101  "), ("20210101  ", "YYYY-MM-DD")),
    "an empty partner id": (
        ("partner", "enroll", "", "--on", "2020-01-31"),
        ("''", "1 to 200 printable"),
    ),
    "a partner id of 201 characters": (
        ("partner", "enroll", LONG, "--on", "2020-01-31"),
        ("1 to 200 printable",),
    ),
    "a control character": (
        ("tenant", "add", "P1", "T\x07", "--on", "2020-03-01"),
        ("'T\\x07'", "printable"),
    ),
    "a byte that is not UTF-8": (
        # how Python hands over argv bytes it can't decode (surrogateescape)
        ("tenant", "add", "P1", "T\udcff", "--on", "2020-03-01"),
        ("'T\\udcff'", "printable"),
    ),
    "a bad e-mail": (
        ("admin", "grant", "P1", "not an email", "--on", "2020-03-01"),
        ("'not an email'", "e-mail address"),
    ),
    "an unknown offer": (
        (
            "user",
            "offer",
            "P1",
            "dev@contoso.example",
            "Azure Pass",
            "--on",
            "2020-03-01",
        ),
        ("'Azure Pass'", "other:NAME"),
    ),
    "a known-at before 1900": (
        (
            "audit",
            "replay",
            "P1",
            "--as-of",
            "2020-06-01",
            "--known-at",
            "0001-01-01T00:00:00+05:00",
        ),
        ("0001-01-01T00:00:00+05:00", "1900-01-01"),
    ),
    "a known-at that is not a date-time": (
        ("audit", "replay", "P1", "--as-of", "2020-06-01", "--known-at", "yesterday"),
        ("'yesterday'", "ISO 8601"),
    ),
    "within above 3650": (
        ("report", "expiring", "--on", "2020-06-01", "--within", "3651"),
        ("3651", "0 to 3,650"),
    ),
    "audit within above 3650": (
        ("audit", "check", "--on", "2020-06-01", "--within", "36500"),
        ("36500", "0 to 3,650"),
    ),
    "batch size 0": (
        ("import", "lines.jsonl", "--batch-size", "0"),
        ("0", "1 to 100,000"),
    ),
    "batch size over 64 bits": (
        ("import", "lines.jsonl", "--batch-size", "18446744073709551616"),
        ("18446744073709551616", "100,000"),
    ),
}


@pytest.mark.parametrize("case", CLI_CASES)
def test_a_value_out_of_bounds_exits_2_naming_it_and_writes_nothing(
    run: Cli, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready(run)
    monkeypatch.chdir(tmp_path)
    Path("lines.jsonl").write_text("")
    args, named = CLI_CASES[case]
    before = run.events()
    result = run(*args)
    assert result.exit_code == 2, result.output
    for text in named:
        assert text in message(result), result.stderr
    assert "Traceback" not in result.output
    assert run.events() == before


def test_e_mails_are_lower_cased_so_one_person_is_one_admin(run: Cli) -> None:
    ready(run)
    granted = run.json("admin", "grant", "P1", "Dev@X.example", "--on", "2020-03-01")
    assert granted["admins"] == [ACTOR, "dev@x.example"]
    again = run("admin", "grant", "P1", "dev@x.example", "--on", "2020-03-02")
    assert again.exit_code == 2
    assert "dev@x.example" in message(again)


def test_the_bounds_themselves_are_accepted(run: Cli) -> None:
    ready(run)
    run.json("init", "--admin", ACTOR)
    assert run.json(*grant("1000000"))["quantity"] == 1_000_000
    assert (
        run.json("policy", "set", "renewal_window_days", "364", "--on", "2021-01-01")[
            "renewal_window_days"
        ]
        == 364
    )
    run.json("policy", "set", "expiring_soon_days", "3650", "--on", "2021-01-01")
    run.json("report", "expiring", "--on", "2020-06-01", "--within", "3650")
    enrolled = run.json("partner", "enroll", "P" * 200, "--on", "1900-01-01")
    assert enrolled["renewal_date"] == "1901-01-01"


# -- the same bounds in an import file ---------------------------------------------


def line(command: str, **fields: Any) -> dict[str, Any]:
    return {"command": command, "partner": "P1", "on": "2020-03-01", **fields}


GRANT = {"benefit": "B2", "kind": "technical", "product": "S"}
IMPORT_CASES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "a string quantity": (
        line("benefit grant", **GRANT, quantity="5"),
        ("quantity", "'5'", "whole number"),
    ),
    "a quantity over 64 bits as a string": (
        line("benefit grant", **GRANT, quantity="18446744073709551615"),
        ("quantity", "18446744073709551615"),
    ),
    "a quantity above 1,000,000": (
        line("benefit grant", **GRANT, quantity=1_000_001),
        ("quantity", "1000001", "1,000,000"),
    ),
    "a boolean quantity": (
        line("benefit grant", **GRANT, quantity=True),
        ("quantity", "True"),
    ),
    "a date after 2199": (line("partner renew", on="2200-01-01"), ("on", "2200-01-01")),
    "a date as a number": (line("partner renew", on=20210101), ("on", "20210101")),
    "an empty partner": (line("partner renew", partner=""), ("partner", "''")),
    "a partner given as a number": (line("partner renew", partner=7), ("partner", "7")),
    "a control character": (line("tenant add", tenant="T\n"), ("tenant", "'T\\n'")),
    "a bad e-mail": (line("admin grant", email="nobody"), ("email", "'nobody'")),
    "a bad actor": (line("partner renew", actor="nobody"), ("actor", "'nobody'")),
    "an unknown offer": (
        line("user offer", email="dev@contoso.example", offer="Azure Pass"),
        ("offer", "'Azure Pass'"),
    ),
}


@pytest.mark.parametrize("case", IMPORT_CASES)
def test_an_import_line_out_of_bounds_is_a_line_error_and_imports_nothing(
    run: Cli, tmp_path: Path, case: str
) -> None:
    ready(run)
    bad, named = IMPORT_CASES[case]
    ok = line("tenant add", tenant="T1")
    path = tmp_path / "lines.jsonl"
    path.write_text(json.dumps(ok) + "\n" + json.dumps(bad) + "\n")
    before = run.events()
    for options in ((), ("--dry-run",), ("--batch-size", "1")):
        result = run("import", str(path), *options)
        assert result.exit_code == 2, result.output
        assert "line 2" in message(result)
        for text in named:
            assert text in message(result), result.stderr
        assert run.events() == before


def test_an_import_file_may_start_with_a_byte_order_mark(
    run: Cli, tmp_path: Path
) -> None:
    ready(run)
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(line("tenant add", tenant="T1")).encode()
    )
    assert run.json("import", str(jsonl))["accepted"] == 1
    csv = tmp_path / "bom.csv"
    csv.write_bytes(b"\xef\xbb\xbfpartner,benefit,email,on\r\n")
    assert run.json("import", str(csv))["lines"] == 0


# -- and from Python ------------------------------------------------------------------


def python_cases() -> dict[str, Any]:
    on = d("2020-03-01")
    return {
        "quantity 0": lambda app: app.grant_benefit(
            "P1", "B2", "technical", "S", 0, on, ACTOR
        ),
        "quantity above 1,000,000": lambda app: app.grant_benefit(
            "P1", "B2", "technical", "S", 1_000_001, on, ACTOR
        ),
        "a string quantity": lambda app: app.grant_benefit(
            "P1", "B2", "technical", "S", "5", on, ACTOR
        ),
        "an unknown kind": lambda app: app.grant_benefit(
            "P1", "B2", "gift", "S", 1, on, ACTOR
        ),
        "licenses above 1,000,000": lambda app: app.issue_key(
            "P1", "AZ", "K1", 1_000_001, on, ACTOR
        ),
        "policy days above 3650": lambda app: app.set_policy(
            "reassignment_days", 3651, on, ACTOR
        ),
        "a renewal window of a year": lambda app: app.set_policy(
            "renewal_window_days", 365, on, ACTOR
        ),
        "a date before 1900": lambda app: app.renew("P1", date(1899, 12, 31), ACTOR),
        "a date after 2199": lambda app: app.renew("P1", date(2200, 1, 1), ACTOR),
        "a week date": lambda app: app.renew("P1", "2020-W49-1", ACTOR),
        "a date-time for a date": lambda app: app.renew(
            "P1", datetime(2020, 12, 1, tzinfo=timezone.utc), ACTOR
        ),
        "an empty partner id": lambda app: app.enroll("", on, ACTOR),
        "a partner id of 201 characters": lambda app: app.enroll(LONG, on, ACTOR),
        "a control character": lambda app: app.add_tenant("P1", "T\x00", on, ACTOR),
        "an undecodable byte": lambda app: app.add_tenant("P1", "T\udcff", on, ACTOR),
        "a bad e-mail": lambda app: app.grant_admin("P1", "not an email", ACTOR, on),
        "a bad actor": lambda app: app.renew("P1", on, "root"),
        "an unknown offer": lambda app: app.record_offer(
            "P1", "dev@contoso.example", "Azure Pass", on, ACTOR
        ),
        "a blank request id": lambda app: app.renew("P1", on, ACTOR, request_id=" "),
    }


@pytest.mark.parametrize("case", python_cases())
def test_the_python_api_refuses_the_same_bounds(
    run: Cli, app: Ledger, case: str
) -> None:
    ready(run)
    before = count_events(run.url)
    with pytest.raises(InvalidInput) as refused:
        python_cases()[case](app)
    assert refused.value.code == "out-of-bounds"
    assert count_events(run.url) == before


def test_the_python_api_lower_cases_e_mails(run: Cli, app: Ledger) -> None:
    ready(run)
    added = app.add_user("P1", "QA@Contoso.Example", "aad", d("2020-03-01"), ACTOR)
    assert added["email"] == "qa@contoso.example"
    app.record_offer("P1", "Qa@contoso.example", "other:MSDN", d("2020-03-02"), ACTOR)
    shown = app.user_show("P1", "qa@contoso.example")
    assert shown["offers"] == ["other:MSDN"]
