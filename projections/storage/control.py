"""Generations and positions: the control tables of the projections.

`projection_live` names the generation readers use; `projection_tracking` holds
the position (the last notification id applied) of every generation. A rebuild
fills a new generation and `flip` points readers at it in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from projections import NAMES
from projections.storage.alchemy import DATA_ERRORS, DatabaseError, tables_of
from projections.storage.generations import Generation, Moved
from projections.storage.lock import projections_lock
from projections.storage.queries import Partners, of_partners
from projections.storage.rows import Rows
from projections.storage.tables import (
    CONTROL,
    FAILURES,
    LIVE,
    TRACKING,
    create_tables,
    drop_tables,
    index_tables,
)

__all__ = ["Generation", "Moved", "Store"]


class Store:
    # What a page's rows can fail on for what they hold, and any database
    # error (runner.py), as this store raises them.
    data_errors = DATA_ERRORS
    database_error = DatabaseError

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def transaction(self) -> Any:
        """A connection in a transaction, committed when the block ends."""
        return self.engine.begin()

    def read_live(self, name: str, generation: int, query: Any) -> Any:
        """`query(conn, tables)` on a generation's tables; None if they are
        gone (a rebuild replaced that generation meanwhile)."""
        try:
            with self.engine.connect() as conn:
                return query(conn, tables_of(name, generation))
        except sa.exc.DBAPIError:
            if self.live_generation(name) == generation:
                raise
            return None

    def report(self, name: str, generation: int, query: Callable[..., Any]) -> Any:
        """`query(fetch)` on a generation's tables (queries.py says what
        fetch answers); None if they are gone (a rebuild replaced that
        generation meanwhile)."""

        def read(conn: sa.Connection, tables: dict[str, sa.Table]) -> Any:
            def fetch(
                table: str, partner: Partners, between: Any = None
            ) -> list[dict[str, Any]]:
                found = tables[table]
                where = []
                if between is not None:
                    column, low, high = between
                    where += [found.c[column] >= low, found.c[column] <= high]
                where += of_partners(found.c.partner, partner)
                query = sa.select(found).where(*where)
                return [dict(row) for row in conn.execute(query).mappings()]

            return query(fetch)

        return self.read_live(name, generation, read)

    def rows(
        self,
        name: str,
        generation: int,
        position: int | None = None,
        complete: bool = False,
    ) -> Rows:
        """A generation's rows in memory (see rows.py)."""
        return Rows(tables_of(name, generation), position, complete)

    def ensure(self) -> None:
        """Create the control tables, and a first generation of any projection
        that has no live generation yet (empty, at position 0). Creating them
        holds the projections' lock, so processes starting together on a fresh
        ledger create them once, one after the other."""
        if not self._missing():
            return
        with projections_lock(self.engine, wait=True):
            CONTROL.create_all(self.engine, checkfirst=True)
            for name in self._missing():
                generation = self.next_generation(name)
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.insert(LIVE).values(
                            name=name, generation=generation.generation
                        )
                    )

    def _missing(self) -> set[str]:
        """The projections with no live generation (all of them before the
        control tables exist)."""
        try:
            with self.engine.connect() as conn:
                return set(NAMES) - set(conn.scalars(sa.select(LIVE.c.name)))
        except sa.exc.DBAPIError:
            return set(NAMES)

    def exclusive(self) -> Any:
        """The projections' lock if no one holds it: `with store.exclusive()
        as taken:` (taken is False while another rebuild runs)."""
        return projections_lock(self.engine, wait=False)

    def drop_orphans(self) -> list[tuple[str, int]]:
        """Drop every generation that is not live: what a killed rebuild left
        behind. Only under the projections' lock (no rebuild is filling one)."""
        query = (
            sa.select(TRACKING.c.name, TRACKING.c.generation)
            .join(LIVE, LIVE.c.name == TRACKING.c.name)
            .where(LIVE.c.generation != TRACKING.c.generation)
        )
        with self.engine.connect() as conn:
            orphans = [(row.name, row.generation) for row in conn.execute(query)]
        self._drop(orphans)
        return orphans

    def live(self, names: tuple[str, ...] = NAMES) -> list[Generation]:
        """The generations readers use, with their positions, in NAMES order."""
        query = sa.select(TRACKING).join(
            LIVE,
            (LIVE.c.name == TRACKING.c.name)
            & (LIVE.c.generation == TRACKING.c.generation),
        )
        with self.engine.connect() as conn:
            rows = {
                row.name: Generation(row.name, row.generation, row.position)
                for row in conn.execute(query)
            }
        return [rows[name] for name in names]

    def live_generation(self, name: str) -> int:
        with self.engine.connect() as conn:
            query = sa.select(LIVE.c.generation).where(LIVE.c.name == name)
            return conn.execute(query).scalar_one()

    def positions(self, generations: list[Generation]) -> list[Generation]:
        """The current positions of these generations."""
        with self.engine.connect() as conn:
            return [
                Generation(
                    g.name,
                    g.generation,
                    conn.execute(
                        sa.select(TRACKING.c.position).where(*self._key(g))
                    ).scalar_one(),
                )
                for g in generations
            ]

    def create(self, name: str, generation: int) -> Generation:
        """Empty tables for a new generation, tracked from position 0."""
        with self.engine.begin() as conn:
            return self._create(conn, name, generation)

    def _create(
        self, conn: sa.Connection, name: str, generation: int, keyed: bool = True
    ) -> Generation:
        # The tracking row first: on SQLite the driver opens its transaction
        # at the first INSERT, so the tables are created in it too (one
        # commit, not one per table).
        conn.execute(
            sa.insert(TRACKING).values(name=name, generation=generation, position=0)
        )
        create_tables(conn, tables_of(name, generation), keyed)
        return Generation(name, generation, 0)

    def next_generation(self, name: str) -> Generation:
        return self.next_generations((name,))[0]

    def next_generations(
        self, names: tuple[str, ...], keyed: bool = True
    ) -> list[Generation]:
        """A new generation of each of these projections, in one transaction;
        unless `keyed`, its tables wait for `index` to build their keys."""
        with self.engine.begin() as conn:
            return [
                self._create(conn, name, self._latest(conn, name) + 1, keyed)
                for name in names
            ]

    def index(self, generations: list[Generation], conn: Any = None) -> None:
        """Build the keys and indexes of generations created without them
        (in `conn`'s transaction if given)."""
        if conn is None:
            with self.engine.begin() as own:
                return self.index(generations, own)
        for g in generations:
            index_tables(conn, tables_of(g.name, g.generation))
        return None

    @staticmethod
    def _latest(conn: sa.Connection, name: str) -> int:
        query = sa.select(sa.func.max(TRACKING.c.generation)).where(
            TRACKING.c.name == name
        )
        return conn.execute(query).scalar_one() or 0

    def claim(self, conn: sa.Connection, generation: Generation, position: int) -> None:
        """Move a generation's position, in the transaction that writes its
        rows; raise Moved if another runner moved it first. This runs first
        in the transaction, so concurrent runners queue on the row lock."""
        query = (
            sa.update(TRACKING)
            .where(*self._key(generation), TRACKING.c.position == generation.position)
            .values(position=position)
        )
        if conn.execute(query).rowcount != 1:
            raise Moved(generation.name)

    def record_failure(self, generation: Generation, failure: dict[str, Any]) -> None:
        """Remember the event a generation is stuck on (one per projection)."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(FAILURES).where(FAILURES.c.name == generation.name))
            conn.execute(
                sa.insert(FAILURES).values(
                    name=generation.name, generation=generation.generation, **failure
                )
            )

    def failures(self) -> dict[str, dict[str, Any]]:
        """The recorded failure of each projection, with the generation it
        happened in and the event's position."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(FAILURES)).mappings().all()
        return {row["name"]: dict(row) for row in rows}

    def flip(self, generations: list[Generation]) -> None:
        """Point readers at these generations, all in one transaction, then
        drop every other generation of those projections (in another)."""
        with self.engine.begin() as conn:
            for g in generations:
                conn.execute(
                    sa.update(LIVE)
                    .where(LIVE.c.name == g.name)
                    .values(generation=g.generation)
                )
        with self.engine.connect() as conn:
            old = [
                (g.name, generation)
                for g in generations
                for generation in conn.scalars(
                    sa.select(TRACKING.c.generation).where(
                        TRACKING.c.name == g.name,
                        TRACKING.c.generation != g.generation,
                    )
                )
            ]
        self._drop(old)

    def _drop(self, generations: list[tuple[str, int]]) -> None:
        """Drop these generations (name, number) in one transaction."""
        if not generations:
            return
        with self.engine.begin() as conn:
            # The tracking rows first: on SQLite that DELETE opens the
            # transaction the tables are dropped in (one commit).
            for name, generation in generations:
                conn.execute(
                    sa.delete(TRACKING).where(
                        TRACKING.c.name == name, TRACKING.c.generation == generation
                    )
                )
            for name, generation in generations:
                drop_tables(conn, tables_of(name, generation))

    @staticmethod
    def _key(generation: Generation) -> list[sa.ColumnElement[bool]]:
        return [
            TRACKING.c.name == generation.name,
            TRACKING.c.generation == generation.generation,
        ]
