"""One projections job at a time: the database lock that serialises rebuilds
and the first creation of the projections' tables.

PostgreSQL: a session advisory lock, keyed by the schema the ledger lives in
(two ledgers in two schemas of one database don't wait for each other), held
on a connection of its own for the whole job and released when it ends, or
when the process dies. SQLite: an exclusive lock (flock) on a file beside the
database (`<file>.projections.lock`); SQLite's own write lock can't be held
for a whole rebuild, since the rebuild writes through other connections. The
kernel releases it when the process dies, so a killed rebuild never leaves it
held.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

LOCK_NAME = "ledger-projections"


@contextmanager
def projections_lock(engine: sa.Engine, wait: bool) -> Iterator[bool]:
    """Hold the projections' lock for the block; yields whether it was taken
    (always True when `wait`: it waits for the holder to finish)."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, wait) as taken:
            yield taken
    elif engine.dialect.name == "sqlite" and engine.url.database not in (
        None,
        "",
        ":memory:",
    ):
        with _flock(f"{engine.url.database}.projections.lock", wait) as taken:
            yield taken
    else:
        yield True


@contextmanager
def _advisory(engine: sa.Engine, wait: bool) -> Iterator[bool]:
    key = sa.text("hashtext(current_schema() || :name)").bindparams(
        name=":" + LOCK_NAME
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if wait:
            conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
            taken = True
        else:
            taken = bool(
                conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar()
            )
        try:
            yield taken
        finally:
            if taken:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))


@contextmanager
def _flock(path: str, wait: bool) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
