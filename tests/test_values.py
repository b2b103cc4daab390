"""The bounds themselves (ledger/domain/values.py), at their edges: no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ledger.domain.values import (
    BATCH_SIZE,
    DAY,
    EMAIL,
    INSTANT,
    NAME,
    OFFER,
    POLICY_DAYS,
    QUANTITY,
    RENEWAL_WINDOW_DAYS,
    WITHIN_DAYS,
    OutOfBounds,
)


@pytest.mark.parametrize(
    ("value", "good", "bad"),
    [
        (QUANTITY, [1, 1_000_000], [0, 1_000_001, 2**64, "5", True, 1.0, None]),
        (POLICY_DAYS, [0, 3650], [-1, 3651]),
        (RENEWAL_WINDOW_DAYS, [0, 364], [365]),
        (BATCH_SIZE, [1, 100_000], [0, 100_001, 2**64]),
        (WITHIN_DAYS, [0, 3650], [-1, 3651]),
        (NAME, ["P", "P" * 200, "Visual Studio Enterprise", "é"], ["", " ", "P" * 201]),
        (NAME, [], ["a\tb", "a\nb", "\x00", "P\udcff", 7, None]),
        (OFFER, ["azure-pass", "other:MSDN"], ["Azure Pass", "other:", "other:\n"]),
    ],
)
def test_values_within_their_bound_and_outside(value, good, bad):
    for raw in good:
        assert value.parse(raw, "f") == raw
    for raw in bad:
        with pytest.raises(OutOfBounds) as error:
            value.parse(raw, "f")
        assert error.value.message.startswith("f: ")
        assert error.value.code == "out-of-bounds"


def test_e_mails_are_checked_and_lower_cased():
    assert EMAIL.parse("Dev@X.example", "email") == "dev@x.example"
    for bad in ("dev", "dev@x", "@x.example", "a b@x.example", "a@@x.example", ""):
        with pytest.raises(OutOfBounds):
            EMAIL.parse(bad, "email")


def test_dates_are_strictly_iso_within_1900_to_2199():
    assert DAY.parse("1900-01-01", "on") == date(1900, 1, 1)
    assert DAY.parse(date(2199, 12, 31), "on") == date(2199, 12, 31)
    for bad in ("1899-12-31", "2200-01-01", "2021-W01-1", "20210101", "2021-02-30"):
        with pytest.raises(OutOfBounds) as error:
            DAY.parse(bad, "on")
        assert error.value.message == (
            f"on: {bad!r} is not a date of the form YYYY-MM-DD from 1900-01-01 "
            "to 2199-12-31"
        )
    with pytest.raises(OutOfBounds):
        DAY.parse(datetime(2021, 1, 1), "on")


def test_instants_are_iso_date_times_answered_in_utc():
    assert INSTANT.parse("2021-02-01T09:30:00Z", "t") == datetime(
        2021, 2, 1, 9, 30, tzinfo=timezone.utc
    )
    assert INSTANT.parse("2021-02-01T09:30", "t").tzinfo == timezone.utc
    five = timezone(timedelta(hours=5))
    assert INSTANT.parse(datetime(2021, 2, 1, 5, tzinfo=five), "t").hour == 0
    for bad in ("0001-01-01T00:00:00+05:00", "2200-01-01T00:00", "now", "2021-W01-1"):
        with pytest.raises(OutOfBounds):
            INSTANT.parse(bad, "t")
