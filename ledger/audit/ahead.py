"""The walk's pages with each row's decode check done beforehand, on the
machine's second core when the log is long.

Deciding that a row decodes costs the walk more than reading and hashing it.
For a log of PARALLEL_FROM events or more, a forked process runs
EventStates.decodes over each page the walk has read while the walk hashes
the page before; it sends back the rows it could not vouch for, and the walk
asks the mapper about those itself, as for any row (ledger/audit/walk.py):
the verdicts are the same ones, whichever process computed them. The child
only decodes bytes it is sent: it never touches a database connection.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from ledger.store.decoding import EventStates
from ledger.store.scan import Page

# Events below which a second process costs more than it saves.
PARALLEL_FROM = 20_000
# Pages sent ahead of the one being hashed.
DEPTH = 2


def unvouched(states: EventStates, rows: Page) -> set[int]:
    """Indexes of the rows whose state EventStates can't vouch for."""
    decodes = states.decodes
    return {
        i
        for i, (_, _, version, topic, state) in enumerate(rows)
        if type(state) is not bytes or not decodes(topic, version, state)
    }


def _serve(conn: Any, mapper: Any) -> None:
    states = EventStates(mapper)
    while (rows := conn.recv()) is not None:
        conn.send(unvouched(states, rows))


def checked_pages(
    mapper: Any, pages: Iterable[Page], events: int
) -> Iterator[tuple[Page, set[int]]]:
    """Each page with the indexes of its rows left to the mapper."""
    states = EventStates(mapper)
    if events < PARALLEL_FROM or not hasattr(os, "fork"):
        for rows in pages:
            yield rows, unvouched(states, rows)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    conn, child_end = context.Pipe()
    child = context.Process(target=_serve, args=(child_end, mapper), daemon=True)
    child.start()
    child_end.close()
    ahead = Ahead(conn, states)
    try:
        for rows in pages:
            ahead.send(rows)
            if len(ahead.sent) > DEPTH:
                yield ahead.answer()
        while ahead.sent:
            yield ahead.answer()
        ahead.send(None)
    finally:
        conn.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()


class Ahead:
    """The pages sent to the child, answered in order; if the child is gone,
    the rest is checked here."""

    def __init__(self, conn: Any, states: EventStates) -> None:
        self.conn, self.states = conn, states
        self.sent: deque[Page] = deque()
        self.alive = True

    def send(self, rows: Page | None) -> None:
        if rows is not None:
            self.sent.append(rows)
        if self.alive:
            try:
                self.conn.send(rows)
            except OSError:
                self.alive = False

    def answer(self) -> tuple[Page, set[int]]:
        rows = self.sent[0]
        found = None
        if self.alive:
            try:
                found = self.conn.recv()
            except (EOFError, OSError):
                self.alive = False
        if found is None:
            found = unvouched(self.states, rows)
        self.sent.popleft()
        return rows, found
