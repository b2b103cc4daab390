"""The projections' own storage: their tables (one set per generation), the
control tables (positions and live generations), the rows kept in memory
while a page of events is applied, and the report queries. The only part of
projections/ that knows SQL."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from projections.storage.tables import define

DatabaseError = sa.exc.DBAPIError


@lru_cache(maxsize=64)
def tables_of(name: str, generation: int) -> dict[str, sa.Table]:
    """The tables of one projection generation (defined once per process)."""
    return define(name, generation)
