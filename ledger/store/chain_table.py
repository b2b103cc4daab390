"""The audit chain's own table: the chain hash recorded at each position by
`audit digest`, so `verify` can say where a break is. It is a derived index
of the event log (the verdict rests on the digest a user keeps)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

PAGE = 1000
CHAIN_TABLE = "ledger_audit_chain"

_metadata = sa.MetaData()
chain_table = sa.Table(
    CHAIN_TABLE,
    _metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("sha256", sa.LargeBinary(32), nullable=False),
)


class ChainTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def ensure(self) -> None:
        _metadata.create_all(self.engine, tables=[chain_table], checkfirst=True)

    def recorded(self) -> Iterator[tuple[int, bytes]]:
        """The chain hashes recorded by earlier digests, in order, page by
        page (read with the driver: a verify reads one per event)."""
        if not sa.inspect(self.engine).has_table(CHAIN_TABLE):
            return
        postgres = self.engine.dialect.name == "postgresql"
        mark = "%s" if postgres else "?"
        sql = (
            f"SELECT position, sha256 FROM {CHAIN_TABLE} WHERE position > {mark} "
            f"ORDER BY position LIMIT {mark}"
        )
        after = -(2**62)
        while True:
            with self.engine.connect() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                cursor = driver.cursor(binary=True) if postgres else driver.cursor()
                try:
                    cursor.execute(sql, (after, PAGE))
                    page = [(p, bytes(h)) for p, h in cursor.fetchall()]
                finally:
                    cursor.close()
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1][0]

    def forget_through(self, position: int) -> None:
        """Delete the recorded hashes of positions up to `position` (to
        record them again: a damaged table is rebuilt from the events)."""
        self.ensure()
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(chain_table).where(chain_table.c.position <= position)
            )

    def record(self, hashes: list[tuple[int, bytes]]) -> None:
        """Record chain hashes by position; positions another digest recorded
        at the same moment are left as they are."""
        if not hashes:
            return
        self.ensure()
        values = [{"position": p, "sha256": h} for p, h in hashes]
        try:
            with self.engine.begin() as conn:
                conn.execute(chain_table.insert(), values)
        except IntegrityError:
            pass  # another digest recorded these positions at the same moment
