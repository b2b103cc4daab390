"""One pass over the whole log: the chain head, the chain at a position, and
every problem found (ledger/audit/chain.py gives the answers).

The walk reads plain tuples page by page (ledger/store/scan.py) and keeps in
memory one page, the recorded chain's next hash, the first problems found,
and the aggregates whose versions must be followed one by one (Versions):
memory stays flat however long the log is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from ledger.audit.ahead import checked_pages
from ledger.store.chain_table import ChainTable
from ledger.store.damage import as_bytes, kind
from ledger.store.events import Row
from ledger.store.scan import LogScan, originator_text

LABEL = b"benefits-ledger audit chain v1"
GENESIS = hashlib.sha256(LABEL).digest()
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    position: int
    problem: str
    message: str
    # Found by comparing with the recorded chain table (which may itself be the
    # damaged side), not by a check of the log alone.
    against_table: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "problem": self.problem,
            "message": self.message,
        }


@dataclass
class Walk:
    """What one pass over the log found."""

    head_position: int = 0
    head: bytes = GENESIS
    events: int = 0
    at_position: int | None = None
    at_hash: bytes | None = None
    recorded_through: int = 0
    recorded_at: bytes | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.position, default=None)


# -- the chain's bytes ---------------------------------------------------------------


def _field(value: bytes) -> bytes:
    return len(value).to_bytes(8, "big") + value


def canonical(row: Row) -> bytes:
    """Length-prefixed fields, so no two different rows share their bytes. A
    state stored as another type than bytes (an edit, e.g. to TEXT) adds a
    field naming that type, so its hash differs from the bytes the ledger wrote."""
    parts = [
        str(row.position).encode(),
        str(row.originator_id).encode(),
        str(row.originator_version).encode(),
        row.topic.encode(),
    ]
    found = as_bytes(row.state)
    if found is None:
        parts += [str(row.state).encode(), kind(row.state).encode()]
    else:
        parts.append(found)
    return b"".join(_field(part) for part in parts)


def link(previous: bytes, row: Row) -> bytes:
    return hashlib.sha256(previous + canonical(row)).digest()


_LENGTHS = [n.to_bytes(8, "big") for n in range(64)]


class Linker:
    """link(), for a row read as a tuple (ledger/store/scan.py): the same
    bytes, built without a Row (a topic's field is made once)."""

    def __init__(self) -> None:
        self.topics: dict[Any, bytes] = {}

    def __call__(
        self,
        previous: bytes,
        position: int,
        originator: str,
        version: int,
        topic: Any,
        state: Any,
    ) -> bytes:
        p = str(position).encode()
        o = originator.encode()
        v = str(version).encode()
        t = self.topics.get(topic)
        if t is None:
            t = self.topics[topic] = _field(topic.encode())
        if type(state) is not bytes or len(p) > 63 or len(o) > 63 or len(v) > 63:
            return link(
                previous, Row(position, UUID(originator), version, topic, state)
            )
        lengths = _LENGTHS
        return hashlib.sha256(
            b"".join(
                (
                    previous,
                    lengths[len(p)],
                    p,
                    lengths[len(o)],
                    o,
                    lengths[len(v)],
                    v,
                    t,
                    len(state).to_bytes(8, "big"),
                    state,
                )
            )
        ).digest()


# -- structural checks ---------------------------------------------------------------


def version_problem(position: int, originator: str, version: int, last: int) -> Problem:
    return Problem(
        position,
        "version-sequence",
        f"position {position}: aggregate {originator} has version "
        f"{version} after version {last} (expected {last + 1}): "
        "an event of this aggregate is missing, added or moved",
    )


class Versions:
    """Each aggregate's versions must follow 1, 2, 3, ... in order of
    position, counting every event but those that don't decode.

    Without holding every aggregate: a first pass along the (aggregate,
    version) index, up to the head the log has when the walk starts, finds the
    aggregates whose events there are not exactly versions 1..n in order of
    position. Only those, and an aggregate met with an event that does not
    decode or an event past that head, are followed version by version (in
    `last`); any other event at version v then follows version v - 1."""

    def __init__(self, scan: LogScan, head: int, page: int) -> None:
        self.scan = scan
        self.scanned = head
        found = scan.out_of_order(head)
        if found is None:
            found = irregular(scan, head, page)
        self.last: dict[str, int] = dict.fromkeys(found, 0)

    def _followed(self, originator: str, version: int, position: int) -> int:
        """The last version counted of an aggregate not yet followed."""
        if position <= self.scanned:
            return version - 1
        return self.scan.last_version(originator, self.scanned)

    def check(self, position: int, originator: str, version: int) -> Problem | None:
        """A counted event (the walk skips the call for an event at or before
        the head whose aggregate is not followed: it follows v - 1)."""
        last = self.last.get(originator)
        if last is None:
            last = self._followed(originator, version, position)
        self.last[originator] = max(last, version)
        if version == last + 1:
            return None
        return version_problem(position, originator, version, last)

    def skip(self, position: int, originator: str, version: int) -> None:
        """An event that does not decode: not counted."""
        if originator not in self.last:
            self.last[originator] = self._followed(originator, version, position)


def irregular(scan: LogScan, head: int, page: int) -> list[str]:
    """The aggregates whose events up to `head` are not versions 1, 2, ..., n
    in order of position."""
    found = []
    current: Any = None
    expected, after, bad = 1, 0, False
    for rows in scan.versions(head, page):
        for originator, version, position in rows:
            if originator != current:
                if bad:
                    found.append(current)
                current, expected, after, bad = originator, 1, 0, False
            if version != expected or position <= after:
                bad = True
            expected, after = version + 1, position
    if bad:
        found.append(current)
    return [text for text in map(_text, found) if text is not None]


def _text(originator: Any) -> str | None:
    """An aggregate id as the walk names it; None for one SQLite holds as
    anything but 16 bytes (the walk fails on it when it gets there, as it
    always did)."""
    if isinstance(originator, str):
        return originator
    try:
        return originator_text(originator)
    except (TypeError, ValueError):
        return None


class Checker:
    """Structural checks that need nothing saved: each event decodes and each
    aggregate's versions follow 1, 2, 3, ... in order of position."""

    def __init__(self, app: Any, versions: Versions) -> None:
        self.mapper = app.mapper
        self.versions = versions

    def decoded(self, position: int, originator: str, version: int) -> Problem | None:
        """A row EventStates vouched for (ledger/audit/ahead.py): it decodes."""
        versions = self.versions
        if position <= versions.scanned and originator not in versions.last:
            return None  # it follows version - 1 (Versions)
        return versions.check(position, originator, version)

    def check(
        self, position: int, originator: str, version: int, topic: Any, state: Any
    ) -> Problem | None:
        """The mapper's own verdict, for a row EventStates left to it."""
        row = Row(position, UUID(originator), version, topic, state)
        if as_bytes(row.state) is None:
            self.versions.check(row.position, originator, row.originator_version)
            return Problem(
                row.position,
                "changed",
                f"position {row.position}: the stored event was changed (its "
                f"state is stored as {kind(row.state)}, not bytes)",
            )
        try:
            self.mapper.to_domain_event(row.stored())
        except Exception as error:
            self.versions.skip(row.position, originator, row.originator_version)
            return Problem(
                row.position,
                "undecodable",
                f"position {row.position}: the stored event does not "
                f"decode ({type(error).__name__})",
            )
        return self.versions.check(row.position, originator, row.originator_version)


# -- the walk ------------------------------------------------------------------------


class Merge:
    """Walks the log beside the recorded chain, position by position."""

    def __init__(self, app: Any, upto: int | None, checker: Checker) -> None:
        self.walk = Walk()
        self.checker = checker
        self.upto = upto
        self.recorded = chain_table(app).recorded()
        self.pending = next(self.recorded, None)
        self.chain_broken = False
        self.new: list[tuple[int, bytes]] = []

    def _missing_before(self, position: int | None) -> None:
        """Recorded positions with no row left in the log."""
        while self.pending is not None and (
            position is None or self.pending[0] < position
        ):
            gone = self.pending[0]
            self._note_recorded(gone, self.pending[1])
            self._break(
                Problem(
                    gone,
                    "missing",
                    f"position {gone} was digested but is no longer in the log",
                )
            )
            self.pending = next(self.recorded, None)

    def _break(self, problem: Problem) -> None:
        if not self.chain_broken:
            self.chain_broken = True
            self.walk.add(replace(problem, against_table=True))

    def _note_recorded(self, position: int, digest: bytes) -> None:
        self.walk.recorded_through = position
        if position == self.upto:
            self.walk.recorded_at = digest

    def step(self, position: int, head: bytes, record: bool) -> None:
        """After the row at `position` is checked and `head` is the chain
        there: the chain at `upto`, and the comparison with the recorded chain."""
        walk = self.walk
        walk.head = head
        walk.head_position = position
        walk.events += 1
        if self.upto is not None and position <= self.upto:
            walk.at_position, walk.at_hash = position, head
        pending = self.pending
        if pending is not None and pending[0] == position:
            self._note_recorded(position, pending[1])
            if pending[1] != head:
                self._break(
                    Problem(
                        position,
                        "changed",
                        f"position {position} differs from the event digested there "
                        "(changed, replaced or moved)",
                    )
                )
            self.pending = next(self.recorded, None)
        elif pending is not None:
            self._break(
                Problem(
                    position,
                    "inserted",
                    f"position {position} was not in the log when it was "
                    "digested (inserted)",
                )
            )
        elif record and position > walk.recorded_through:
            self.new.append((position, head))

    def finish(self) -> Walk:
        self._missing_before(None)
        return self.walk


def chain_table(app: Any) -> ChainTable:
    """The chain table is maintained like the read models (ledger/team.py)."""
    return ChainTable(app.team.read_model_engine())


def walk_log(
    app: Any, page: int, upto: int | None = None, record: bool = False
) -> Walk:
    """One pass over the whole log, `page` rows at a time: the chain head,
    the chain at `upto`, and every problem found. With `record`, the hashes
    of positions not yet recorded are kept for later verifications (only
    while no problem is found)."""
    scan = LogScan(app.event_rows)
    head_at_start = app.event_rows.head()
    versions = Versions(scan, head_at_start, page)
    checker = Checker(app, versions)
    merge = Merge(app, upto, checker)
    linker = Linker()
    walk = merge.walk
    head = walk.head
    pages = checked_pages(app.mapper, scan.pages(-1, page), head_at_start)
    for rows, unvouched in pages:
        for i, (position, originator, version, topic, state) in enumerate(rows):
            if merge.pending is not None and merge.pending[0] < position:
                merge._missing_before(position)
            if i in unvouched:
                problem = checker.check(position, originator, version, topic, state)
            else:
                problem = checker.decoded(position, originator, version)
            if problem is not None:
                walk.add(problem)
            head = linker(head, position, originator, version, topic, state)
            merge.step(position, head, record)
            if record and len(merge.new) >= page and not walk.problems:
                chain_table(app).record(merge.new)
                merge.new = []
    walk = merge.finish()
    if record and not walk.problems:
        chain_table(app).record(merge.new)
    return walk


def chain_through(app: Any, page: int, upto: int) -> Any:
    """(position, chain hash) of every event up to `upto`, in order."""
    linker = Linker()
    head = GENESIS
    for rows in LogScan(app.event_rows).pages(-1, page):
        for position, originator, version, topic, state in rows:
            if position > upto:
                return
            head = linker(head, position, originator, version, topic, state)
            yield position, head
