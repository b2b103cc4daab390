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

The log is read in pages of PAGE rows (ledger/audit/walk.py); memory holds
one page, the first problems, and only the aggregates whose versions are out
of order: it stays flat however long the log is.
"""

from __future__ import annotations

from typing import Any

from ledger.audit import walk as walking
from ledger.audit.walk import (
    GENESIS,
    LABEL,
    MAX_PROBLEMS,
    Problem,
    Walk,
    canonical,
    chain_table,
    chain_through,
    link,
)
from ledger.store.snapshots import forged_snapshots

__all__ = [
    "GENESIS",
    "LABEL",
    "MAX_PROBLEMS",
    "PAGE",
    "Problem",
    "Walk",
    "canonical",
    "digest",
    "link",
    "verify",
]

PAGE = 1000


def walk_log(app: Any, upto: int | None = None, record: bool = False) -> Walk:
    """One pass over the whole log (ledger/audit/walk.py), PAGE rows at a time."""
    return walking.walk_log(app, PAGE, upto, record)


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

    forged = forged_snapshots(app)
    # every partner's name is read from the log only when one is needed
    names = partners(app) if forged else {}
    found = []
    for originator, version, why in forged:
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
    hashes = []
    for position, head in chain_through(app, PAGE, upto):
        hashes.append((position, head))
        if len(hashes) >= PAGE:
            table.record(hashes)
            hashes = []
    table.record(hashes)
