"""The projections' tables, in the ledger's own database.

Each projection keeps its rows in tables of one *generation* (`proj_<name>_g<N>`):
a rebuild fills generation N+1 while readers keep using N, then one
transaction points readers at N+1. Two control tables sit beside them:
`projection_tracking` (the position of each projection generation, written in
the same transaction as its rows) and `projection_live` (the generation
readers use). Only dates are stored: nothing that depends on "today".
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

CONTROL = sa.MetaData()

TRACKING = sa.Table(
    "projection_tracking",
    CONTROL,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

LIVE = sa.Table(
    "projection_live",
    CONTROL,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
)

# The event a projection generation is stuck on: a handler (or its write)
# failed there, so its position stays just before it. Kept for `projections
# status`; it no longer applies once the generation's position passed it.
FAILURES = sa.Table(
    "projection_failures",
    CONTROL,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("event_position", sa.BigInteger, nullable=False),
    sa.Column("partner", sa.String, nullable=True),
    sa.Column("event", sa.String, nullable=False),
    sa.Column("message", sa.String, nullable=False),
)


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.String, primary_key=True)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.String, nullable=False)


def _count(name: str) -> sa.Column:
    """Counts are BIGINT: the column holds whatever count the domain accepts."""
    return sa.Column(name, sa.BigInteger, nullable=False)


def _day(name: str, nullable: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(name, sa.Date, nullable=nullable, index=index)


def _number(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, primary_key=True, autoincrement=False)


def _maybe(name: str) -> sa.Column:
    return sa.Column(name, sa.String, nullable=True)


Columns = Callable[[], list[sa.Column]]

LAYOUTS: dict[str, dict[str, Columns]] = {
    "entitlements": {
        "entitlements": lambda: [
            _key("partner"),
            _key("benefit"),
            _text("kind"),
            _text("product"),
            _count("quantity"),
            _count("used"),
            _day("activated_on", nullable=True),
            _day("activate_by"),
        ],
    },
    "expiry": {
        "expiry": lambda: [
            _key("partner"),
            _key("what"),
            _key("id"),
            _day("ends_on", index=True),
        ],
        "benefits": lambda: [_key("partner"), _key("benefit"), _day("activate_by")],
    },
    "seats": {
        "seats": lambda: [
            _key("partner"),
            _key("seat"),
            _text("benefit"),
            _text("user"),
            _text("state"),
            _day("assigned_on"),
            _day("reassignable_on"),
        ],
    },
    "conflicts": {
        "offers": lambda: [_key("partner"), _key("user"), _key("offer")],
        "seats": lambda: [_key("partner"), _key("seat"), _text("user")],
        "bulk_benefits": lambda: [_key("partner"), _key("benefit")],
    },
    # The dates of issue 18's calendar and timeline, kept with the effective
    # date of each fact so that a report can answer as of any date.
    "deadlines": {
        "periods": lambda: [
            _key("partner"),
            sa.Column("start", sa.Date, primary_key=True),
            _day("renewal_start_date"),
            _day("renewal_date"),
            _day("since"),
            _day("next_start", nullable=True),
            _day("next_on", nullable=True),
        ],
        "memberships": lambda: [_key("partner"), _day("latest")],
        "benefits": lambda: [
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
        ],
        "keys": lambda: [
            _key("partner"),
            _key("key"),
            _text("benefit"),
            _count("licenses"),
            _day("redeemed_on", nullable=True),
            _day("usable_until", nullable=True),
            _maybe("subscription"),
            _maybe("mode"),
            sa.Column("number", sa.Integer, nullable=True),
            sa.Column("sub_licenses", sa.BigInteger, nullable=True),
            _day("sub_end", nullable=True),
            _day("next_redemption_on", nullable=True),
        ],
        "subscriptions": lambda: [
            _key("partner"),
            _key("subscription"),
            _text("tenant"),
            _day("created_on"),
            _count("redemptions"),
            _text("last_key"),
        ],
        "seats": lambda: [
            _key("partner"),
            _key("seat"),
            _text("benefit"),
            _count("assignments"),
        ],
        "assignments": lambda: [
            _key("partner"),
            _key("seat"),
            _number("number"),
            _day("assigned_on"),
            _day("reassignable_on"),
            _day("signed_in_on", nullable=True),
            _day("ended_on", nullable=True),
        ],
    },
    # what voided events (corrections) had drawn, struck through on the timeline
    "voided": {
        "voided": lambda: [
            _key("partner"),
            _number("version"),
            _text("kind"),
            _text("ident"),
            _text("event"),
            _day("start"),
            _day("end"),
            _text("reason"),
            _day("voided_on"),
        ],
    },
}


def _partners() -> list[sa.Column]:
    """Which partner each aggregate id is (learnt from its Enrolled event)."""
    return [
        sa.Column("originator_id", sa.String(36), primary_key=True),
        _text("partner"),
    ]


def table_name(projection: str, table: str, generation: int) -> str:
    middle = "" if table == projection else f"_{table}"
    return f"proj_{projection}{middle}_g{generation}"


def define(projection: str, generation: int) -> dict[str, sa.Table]:
    """The tables of one projection generation, by short name."""
    metadata = sa.MetaData()
    layout = {**LAYOUTS[projection], "partners": _partners}
    return {
        table: sa.Table(table_name(projection, table, generation), metadata, *columns())
        for table, columns in layout.items()
    }


def create_tables(
    conn: sa.Connection, tables: dict[str, sa.Table], keyed: bool = True
) -> None:
    """Create a generation's tables in the caller's transaction, one
    statement each (no per-table check first). Tables a killed rebuild
    created before its generation was tracked are kept: nothing was ever
    written to them (a generation is filled only once it is tracked).

    Unless `keyed`, without their keys and indexes: a rebuild fills them in
    bulk, then builds those at once (`index_tables`), which costs a fraction
    of keeping each B-tree up row by row (at 1M events on SQLite, its bulk
    insert took twice as long with them, past SQLite's page cache)."""
    for table in tables.values():
        conn.execute(CreateTable(table if keyed else _bare(table), if_not_exists=True))
        if keyed:
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))


def index_tables(conn: sa.Connection, tables: dict[str, sa.Table]) -> None:
    """Build the keys (a unique index on the primary key's columns: the same
    rows are refused) and the indexes of tables created without them."""
    quote = conn.dialect.identifier_preparer.quote
    for table in tables.values():
        columns = ", ".join(quote(c.name) for c in table.primary_key.columns)
        conn.execute(
            sa.text(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(table.name + '_key')} "
                f"ON {quote(table.name)} ({columns})"
            )
        )
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))


def _bare(table: sa.Table) -> sa.Table:
    """The same table without its primary key (its columns stay NOT NULL)."""
    return sa.Table(
        table.name,
        sa.MetaData(),
        *(sa.Column(c.name, c.type, nullable=c.nullable) for c in table.columns),
    )


def drop_tables(conn: sa.Connection, tables: dict[str, sa.Table]) -> None:
    """Drop a generation's tables (those that exist) in the caller's
    transaction."""
    for table in tables.values():
        conn.execute(DropTable(table, if_exists=True))


def is_read_model_table(name: str) -> bool:
    """Whether a table of the ledger's database belongs to the projections
    (a generation's table or a control table): `ledger db setup` hands
    these to the reader group."""
    return (
        name in CONTROL.tables or re.fullmatch(r"proj_[a-z_]+_g\d+", name) is not None
    )
