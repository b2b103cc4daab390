"""Report rows read from the projections' tables.

The rows are shaped by ledger/reports.py's helpers, so they equal the
reference rows for the same events and date. Everything that depends on the
date asked (status, days left, eligibility) is computed here, never stored.
Rows are ordered in Python (the database's collation may differ).

Each query reads through `fetch(table, partner, between)` (the store's: SQL
through SQLAlchemy in control.py, through sqlite3 in lite.py), which answers
a table's rows as dicts, of `partner` (one, several, or all if None), and
with `between` = (column, low, high) only those whose column lies in [low,
high].
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from operator import itemgetter
from typing import Any

from ledger.domain.reports import (
    entitlement_row,
    expiry_row,
    reassignable_row,
    sort_expiry,
)
from ledger.domain.rules import bulk_credit_conflicts, is_expiring_soon

Rows = list[dict[str, Any]]
Fetch = Callable[..., Rows]
# One partner, several (`audit check` reads them a chunk at a time), or all.
Partners = str | Sequence[str] | None


def of_partners(column: Any, partner: Partners) -> tuple[Any, ...]:
    """The SQLAlchemy WHERE clause that picks the rows of `partner`."""
    if partner is None:
        return ()
    if isinstance(partner, str):
        return (column == partner,)
    return (column.in_(list(partner)),)


def partners_in(conn: Any, tables: dict[str, Any]) -> list[str]:
    """Every partner a generation's tables hold rows of (SQLAlchemy tables,
    on its connection)."""
    import sqlalchemy as sa  # `audit check` only: a report never asks

    found: set[str] = set()
    for table in tables.values():
        if "partner" in table.c:
            query = sa.select(table.c.partner).distinct()
            found.update(p for (p,) in conn.execute(query) if p is not None)
    return sorted(found)


def entitlement_rows(fetch: Fetch, partner: Partners, on: date) -> Rows:
    """What was granted, what is used, what can still be activated on `on`."""
    found = fetch("entitlements", partner)
    return [
        entitlement_row(row, on)
        for row in sorted(found, key=itemgetter("partner", "benefit"))
    ]


def _last_day(on: date, within: int) -> date:
    try:
        return on + timedelta(days=within)
    except OverflowError:
        return date.max


def expiring_rows(fetch: Fetch, partner: Partners, on: date, within: int) -> Rows:
    """R11: what ends within `within` days of `on`, with the FAQ's remedy."""
    found = fetch("expiry", partner, ("ends_on", on, _last_day(on, within)))
    return sort_expiry(
        [
            expiry_row(
                row["partner"], row["what"], row["id"], row["ends_on"].isoformat(), on
            )
            for row in found
            if is_expiring_soon(row["ends_on"], on, within)
        ]
    )


def reassignable_rows(fetch: Fetch, partner: Partners, on: date) -> Rows:
    """R14: every held seat, its dates, and whether it can move on `on`."""
    found = fetch("seats", partner)
    return [
        reassignable_row(row, on)
        for row in sorted(found, key=itemgetter("partner", "seat"))
    ]


def conflict_rows(fetch: Fetch, partner: Partners) -> Rows:
    """R15: users holding a Bulk Credit seat together with other offers."""
    seats: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in fetch("seats", partner):
        seats[(row["partner"], row["user"])].append(row["seat"])
    offers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in fetch("offers", partner):
        offers[(row["partner"], row["user"])].append(row["offer"])
    rows = []
    for key in sorted(seats.keys() & offers.keys()):
        conflicts = bulk_credit_conflicts(offers[key])
        if conflicts:
            rows.append(
                {
                    "partner": key[0],
                    "user": key[1],
                    "seats": sorted(seats[key]),
                    "offers": conflicts,
                }
            )
    return rows
