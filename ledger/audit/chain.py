"""A tamper-evident hash chain over every stored event, in order of position.

    h_0 = sha256(LABEL)
    h_i = sha256(h_(i-1) || canonical(position, originator_id, version, topic, state))

`state` is the stored bytes, which hold the recorded time and all the data, so
a digest `(N, h_N)` kept outside the database proves the log up to position
N: any change, deletion, insertion or reordering at or before N changes h_N.

A head digest alone says *whether* the log changed, not *where*. To name the
first position that departs, `record` keeps every chain hash it computes in a
side table (`ledger_audit_chain`, 40 bytes per event), written only by
`audit digest` and `audit export`. That table is never trusted for the
verdict, only for the location: the verdict is the recomputed head against
the digest the user saved. Structural checks that need no saved state at all
(every event decodes; each aggregate's versions run 1, 2, 3, ... without a
hole) run on every walk too, and name their position the same way.

The log is read in pages of PAGE rows; memory holds one page and the last
version of each aggregate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ledger.store.chain_table import ChainTable
from ledger.store.damage import as_bytes, kind
from ledger.store.events import Row
from ledger.store.snapshots import forged_snapshots

LABEL = b"benefits-ledger audit chain v1"
GENESIS = hashlib.sha256(LABEL).digest()
PAGE = 1000
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


# -- reading -------------------------------------------------------------------


def rows(app: Any, after: int | None = None) -> Iterator[Row]:
    """Every stored event (with position > `after`), in order, page by page."""
    return app.event_rows.all(after, PAGE)


def chain_table(app: Any) -> ChainTable:
    """The chain table is maintained like the read models (ledger/team.py)."""
    return ChainTable(app.team.read_model_engine())


# -- walking -------------------------------------------------------------------


class Checker:
    """Structural checks that need nothing saved: each event decodes and each
    aggregate's versions follow 1, 2, 3, ... in order of position."""

    def __init__(self, app: Any) -> None:
        self.mapper = app.mapper
        self.versions: dict[bytes, int] = {}

    def check(self, row: Row) -> Problem | None:
        if as_bytes(row.state) is None:
            self._version(row)
            return Problem(
                row.position,
                "changed",
                f"position {row.position}: the stored event was changed (its "
                f"state is stored as {kind(row.state)}, not bytes)",
            )
        try:
            self.mapper.to_domain_event(row.stored())
        except Exception as error:
            return Problem(
                row.position,
                "undecodable",
                f"position {row.position}: the stored event does not "
                f"decode ({type(error).__name__})",
            )
        return self._version(row)

    def _version(self, row: Row) -> Problem | None:
        key = row.originator_id.bytes
        last = self.versions.get(key, 0)
        self.versions[key] = max(last, row.originator_version)
        if row.originator_version == last + 1:
            return None
        return Problem(
            row.position,
            "version-sequence",
            f"position {row.position}: aggregate {row.originator_id} has version "
            f"{row.originator_version} after version {last} (expected {last + 1}): "
            "an event of this aggregate is missing, added or moved",
        )


class Merge:
    """Walks the log beside the recorded chain, position by position."""

    def __init__(self, app: Any, upto: int | None) -> None:
        self.walk = Walk()
        self.checker = Checker(app)
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

    def step(self, row: Row) -> None:
        self._missing_before(row.position)
        problem = self.checker.check(row)
        if problem is not None:
            self.walk.add(problem)
        walk = self.walk
        walk.head = link(walk.head, row)
        walk.head_position = row.position
        walk.events += 1
        if self.upto is not None and row.position <= self.upto:
            walk.at_position, walk.at_hash = row.position, walk.head
        self._compare(row.position, walk.head)

    def _compare(self, position: int, head: bytes) -> None:
        if self.pending is not None and self.pending[0] == position:
            self._note_recorded(position, self.pending[1])
            if self.pending[1] != head:
                self._break(
                    Problem(
                        position,
                        "changed",
                        f"position {position} differs from the event digested there "
                        "(changed, replaced or moved)",
                    )
                )
            self.pending = next(self.recorded, None)
        elif self.pending is not None:
            self._break(
                Problem(
                    position,
                    "inserted",
                    f"position {position} was not in the log when it was "
                    "digested (inserted)",
                )
            )
        elif position > self.walk.recorded_through:
            self.new.append((position, head))

    def finish(self) -> Walk:
        self._missing_before(None)
        return self.walk


def walk_log(app: Any, upto: int | None = None, record: bool = False) -> Walk:
    """One pass over the whole log: the chain head, the chain at `upto`, and
    every problem found. With `record`, the hashes of positions not yet
    recorded are kept for later verifications (only while no problem is found)."""
    merge = Merge(app, upto)
    for row in rows(app):
        merge.step(row)
        if record and len(merge.new) >= PAGE and not merge.walk.problems:
            chain_table(app).record(merge.new)
            merge.new = []
    walk = merge.finish()
    if record and not walk.problems:
        chain_table(app).record(merge.new)
    return walk


# -- answers -------------------------------------------------------------------


def head_of(walk: Walk) -> dict[str, Any]:
    return {"position": walk.head_position, "sha256": walk.head.hex()}


def failure(walk: Walk, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    first = walk.first_problem()
    answer = {
        "ok": False,
        "broken_at": first.position if first else None,
        "problem": first.problem if first else "digest-mismatch",
        "message": first.message if first else "",
        "problems": [
            p.as_dict() for p in sorted(walk.problems, key=lambda p: p.position)
        ],
        "head": head_of(walk),
    }
    answer.update(extra or {})
    return answer


def digest(app: Any) -> tuple[bool, dict[str, Any]]:
    """(ok, answer): the chain head over every stored event, recording the
    chain so a later `verify` can name where a log departs from it. Refuses
    (ok False) when the log already departs from a chain recorded before."""
    walk = walk_log(app, record=True)
    if walk.problems:
        answer = failure(walk)
        if all(p.against_table for p in walk.problems):
            answer["message"] += (
                ": either the log or the chain table ledger_audit_chain was "
                "changed; `ledger audit verify --position N --sha256 H` with a "
                "digest you kept tells which, and rebuilds a damaged chain table"
            )
        return False, answer
    return True, head_of(walk)


def _digest_mismatch(walk: Walk, position: int, sha256: str) -> Problem:
    """Where a log that does not match the saved digest breaks, when neither
    the recorded chain nor a structural check has named a position."""
    at = walk.at_position or 0
    if at < position:
        return Problem(
            at + 1,
            "missing",
            f"the digest covers positions up to {position}, but the log has "
            f"nothing after {at} up to there: position {at + 1} onwards is "
            "missing (truncated)",
        )
    if walk.recorded_at is None:
        note = "no chain hash was recorded here for that position"
    else:
        note = "the chain hashes recorded in the database were rewritten as well"
    return Problem(
        position,
        "digest-mismatch",
        f"the log up to position {position} does not match the digest, "
        f"and {note}: it was changed at or before position {position}, "
        "but no single position can be named",
    )


def verify(
    app: Any, position: int | None = None, sha256: str | None = None
) -> tuple[bool, dict[str, Any]]:
    """(ok, answer): recompute the chain and check the log; with a saved
    digest (position, sha256), also prove the log up to that position is
    unchanged (`digest_matches`). Any problem anywhere makes ok False.

    When the saved digest matches but the recorded chain table disagrees at
    or before its position, the log is intact and the table is what was
    damaged: it is rebuilt from the events up to that position and reported
    as `chain_table`, and the log is checked again against the rebuilt table."""
    ok, answer = _verify_log(app, position, sha256)
    forged = _forged_snapshots(app)
    if not forged:
        return ok, answer
    first = forged[0]
    if ok:
        answer.update(
            ok=False,
            broken_at=None,
            problem="forged-snapshot",
            message=first["message"],
        )
    answer["forged_snapshots"] = forged
    return False, answer


def _forged_snapshots(app: Any) -> list[dict[str, Any]]:
    """Snapshots that don't match their seal, named by partner and version
    (the ledger passes them over when loading; they change no decision)."""
    from ledger.audit.trail import partners

    names = partners(app)
    found = []
    for originator, version, why in forged_snapshots(app):
        partner = names.get(originator, str(originator))
        found.append(
            {
                "partner": partner,
                "version": version,
                "message": f"the snapshot of {partner} at version {version} is "
                f"forged: {why}; loading ignores it and replays the events",
            }
        )
    return found


def _verify_log(
    app: Any, position: int | None, sha256: str | None
) -> tuple[bool, dict[str, Any]]:
    walk = walk_log(app, upto=position)
    if position is None:
        if walk.problems:
            return False, failure(walk)
        return True, {"ok": True, **head_of(walk), **_summary(walk)}
    kept = (sha256 or "").lower()
    given = {"position": position, "sha256": kept}
    extra: dict[str, Any] = {}
    if _matches(walk, position, kept) and _table_damaged(walk, position):
        extra["chain_table"] = _repair_table(app, walk, position)
        walk = walk_log(app, upto=position)
    matches = _matches(walk, position, kept)
    if not matches and not any(p.position <= position for p in walk.problems):
        walk.add(_digest_mismatch(walk, position, kept))
    if walk.problems or not matches:
        return False, failure(
            walk, {"digest": given, "digest_matches": matches, **extra}
        )
    return True, {
        "ok": True,
        **head_of(walk),
        **_summary(walk),
        "digest": given,
        "digest_matches": True,
        "verified_through": position,
        **extra,
    }


def _summary(walk: Walk) -> dict[str, Any]:
    return {"events": walk.events, "recorded_through": walk.recorded_through}


def _matches(walk: Walk, position: int, sha256: str) -> bool:
    """Whether the log up to `position` is the one the saved digest covers."""
    at = walk.at_position or 0
    return at == position and (walk.at_hash or GENESIS).hex() == sha256


def _table_damaged(walk: Walk, position: int) -> bool:
    """With the digest matching, a disagreement with the chain table at or
    before its position can only be the table's."""
    return any(p.against_table and p.position <= position for p in walk.problems)


def _repair_table(app: Any, walk: Walk, position: int) -> dict[str, Any]:
    """Rebuild the recorded chain hashes up to `position` from the events."""
    first = min(
        (p for p in walk.problems if p.against_table and p.position <= position),
        key=lambda p: p.position,
    )
    rebuild_table(app, position)
    return {
        "damaged_at": first.position,
        "problem": first.problem,
        "repaired_through": position,
        "message": f"the log up to position {position} matches the digest you kept, "
        f"so it is intact; the chain table ledger_audit_chain was damaged at "
        f"position {first.position} ({first.problem}) and was rebuilt from the "
        "events",
    }


def rebuild_table(app: Any, upto: int) -> None:
    """Replace the recorded chain hashes of positions up to `upto` with the
    chain recomputed from the events."""
    table = chain_table(app)
    table.forget_through(upto)
    head, hashes = GENESIS, []
    for row in rows(app):
        if row.position > upto:
            break
        head = link(head, row)
        hashes.append((row.position, head))
        if len(hashes) >= PAGE:
            table.record(hashes)
            hashes = []
    table.record(hashes)
