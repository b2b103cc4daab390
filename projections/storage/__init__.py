"""The projections' own storage: their tables (one set per generation), the
control tables (positions and live generations), the rows kept in memory
while a page of events is applied, and the report queries. The only part of
projections/ that knows SQL."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from projections.storage.tables import define

DatabaseError = sa.exc.DBAPIError
# A page's rows that the database refuses for what they hold (a number too
# large for its column, a value of the wrong type), as opposed to a lost
# connection or a lock: the runner then looks for the event they came from.
DATA_ERRORS = (
    sa.exc.DataError,
    sa.exc.IntegrityError,
    OverflowError,
    ValueError,
    TypeError,
)


@lru_cache(maxsize=64)
def tables_of(name: str, generation: int) -> dict[str, sa.Table]:
    """The tables of one projection generation (defined once per process)."""
    return define(name, generation)
