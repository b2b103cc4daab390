"""The projections' tables as plain data: each projection's tables and their
columns, and how a generation's tables are named. No database library is
imported here: tables.py makes SQLAlchemy tables of it (they create the
tables, and serve rebuilds and PostgreSQL), lite.py reads and writes the very
same tables of an SQLite ledger through the standard library's sqlite3.

Each projection keeps its rows in tables of one *generation*
(`proj_<name>_g<N>`, see tables.py). Only dates are stored: nothing that
depends on "today".
"""

from __future__ import annotations

from typing import NamedTuple

# The control tables (tables.py): positions, live generations, failures.
TRACKING_TABLE = "projection_tracking"
LIVE_TABLE = "projection_live"
FAILURES_TABLE = "projection_failures"


class Column(NamedTuple):
    name: str
    type: str  # "string", "date", "integer" or "bigint"
    key: bool = False  # part of the primary key (in the order of the columns)
    nullable: bool = False
    indexed: bool = False
    length: int | None = None  # of a string


def _key(name: str) -> Column:
    return Column(name, "string", key=True)


def _text(name: str) -> Column:
    return Column(name, "string")


def _count(name: str) -> Column:
    """Counts are BIGINT: the column holds whatever count the domain accepts."""
    return Column(name, "bigint")


def _day(name: str, nullable: bool = False, index: bool = False) -> Column:
    return Column(name, "date", nullable=nullable, indexed=index)


def _number(name: str) -> Column:
    return Column(name, "integer", key=True)


def _maybe(name: str) -> Column:
    return Column(name, "string", nullable=True)


Layout = dict[str, tuple[Column, ...]]

LAYOUTS: dict[str, Layout] = {
    "entitlements": {
        "entitlements": (
            _key("partner"),
            _key("benefit"),
            _text("kind"),
            _text("product"),
            _count("quantity"),
            _count("used"),
            _day("activated_on", nullable=True),
            _day("activate_by"),
        ),
    },
    "expiry": {
        "expiry": (
            _key("partner"),
            _key("what"),
            _key("id"),
            _day("ends_on", index=True),
        ),
        "benefits": (_key("partner"), _key("benefit"), _day("activate_by")),
    },
    "seats": {
        "seats": (
            _key("partner"),
            _key("seat"),
            _text("benefit"),
            _text("user"),
            _text("state"),
            _day("assigned_on"),
            _day("reassignable_on"),
        ),
    },
    "conflicts": {
        "offers": (_key("partner"), _key("user"), _key("offer")),
        "seats": (_key("partner"), _key("seat"), _text("user")),
        "bulk_benefits": (_key("partner"), _key("benefit")),
    },
    # The dates of issue 18's calendar and timeline, kept with the effective
    # date of each fact so that a report can answer as of any date.
    "deadlines": {
        "periods": (
            _key("partner"),
            Column("start", "date", key=True),
            _day("renewal_start_date"),
            _day("renewal_date"),
            _day("since"),
            _day("next_start", nullable=True),
            _day("next_on", nullable=True),
        ),
        "memberships": (_key("partner"), _day("latest")),
        "benefits": (
            _key("partner"),
            _key("benefit"),
            _text("kind"),
            _text("product"),
            _count("quantity"),
            _day("granted_on"),
            _day("period_start"),
            _day("benefit_expiry_date"),
            _day("activate_by"),
            _day("activated_on", nullable=True),
        ),
        "keys": (
            _key("partner"),
            _key("key"),
            _text("benefit"),
            _count("licenses"),
            _day("redeemed_on", nullable=True),
            _day("usable_until", nullable=True),
            _maybe("subscription"),
            _maybe("mode"),
            Column("number", "integer", nullable=True),
            Column("sub_licenses", "bigint", nullable=True),
            _day("sub_end", nullable=True),
            _day("next_redemption_on", nullable=True),
        ),
        "subscriptions": (
            _key("partner"),
            _key("subscription"),
            _text("tenant"),
            _day("created_on"),
            _count("redemptions"),
            _text("last_key"),
        ),
        "seats": (
            _key("partner"),
            _key("seat"),
            _text("benefit"),
            _count("assignments"),
        ),
        "assignments": (
            _key("partner"),
            _key("seat"),
            _number("number"),
            _day("assigned_on"),
            _day("reassignable_on"),
            _day("signed_in_on", nullable=True),
            _day("ended_on", nullable=True),
        ),
    },
    # what voided events (corrections) had drawn, struck through on the timeline
    "voided": {
        "voided": (
            _key("partner"),
            _number("version"),
            _text("kind"),
            _text("ident"),
            _text("event"),
            _day("start"),
            _day("end"),
            _text("reason"),
            _day("voided_on"),
        ),
    },
}

# Which partner each aggregate id is (learnt from its Enrolled event): a
# table of every projection.
PARTNERS = (
    Column("originator_id", "string", key=True, length=36),
    _text("partner"),
)


def layout(projection: str) -> Layout:
    """The tables of a projection by short name, with their columns."""
    return {**LAYOUTS[projection], "partners": PARTNERS}


def table_name(projection: str, table: str, generation: int) -> str:
    middle = "" if table == projection else f"_{table}"
    return f"proj_{projection}{middle}_g{generation}"
