"""What the SQLAlchemy store's users share: its errors and the tables of a
generation (projections.storage exports these names, loading SQLAlchemy only
when one is used)."""

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
