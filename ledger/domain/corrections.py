"""Corrections: a void names an earlier event of the partner and a reason;
from then on the partner is as if that event had never happened.

The log is never edited. A partner's state is the fold of its events in
order, skipping every voided one (`fold`), so the voided write's own effect
is undone at every effective date, and the effective dates that count for
"dates never go backwards" are those of the remaining events. A void is
refused while a later event that is not voided acts on an entity the voided
one created or changed (`later_dependent`): void the later ones first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.domain.errors import RuleViolation
from ledger.domain.partner import Enrolled, Partner, PartnerEvent, Voided
from ledger.domain.write import Write

RULE = "correction"


class Logged(Protocol):
    """One of the partner's events and its position in the log (None while
    it is not saved yet)."""

    @property
    def position(self) -> int | None: ...

    @property
    def event(self) -> Any: ...


@dataclass(frozen=True)
class Entry:
    """An event with its position in the log, or None while not yet saved."""

    position: int | None
    event: Any


class NeedsFullHistory(Exception):
    """A void names an event older than the snapshot or cached state being
    folded on: fold the partner again from its first event."""


def voided_versions(events: Iterable[Any]) -> set[int]:
    """The versions of the partner's events that the voids among `events` name."""
    return {e.voided_version for e in events if isinstance(e, Voided)}


def fold(events: Iterable[Any], aggregate: Any = None) -> Any:
    """Fold events (after `aggregate`, or from a snapshot or the first event)
    in order, skipping the voided ones. Raises NeedsFullHistory when a void
    names an event older than where the fold starts. Works for any aggregate:
    without voids it is the library's plain fold."""
    events = list(events)
    voided = voided_versions(events)
    if voided:
        start = aggregate.version if aggregate is not None else 0
        if events and aggregate is None:
            start = events[0].originator_version
        if min(voided) <= start:
            raise NeedsFullHistory(min(voided))
    for event in events:
        if event.originator_version in voided:
            # Kept in sequence, so the next event's version check holds.
            aggregate.version = event.originator_version
            continue
        aggregate = event.mutate(aggregate)
    return aggregate


def voids_by_position(history: Sequence[Logged]) -> dict[int, int | None]:
    """Voided position -> position of the void that voided it."""
    return {
        h.event.voided_position: h.position
        for h in history
        if isinstance(h.event, Voided)
    }


def later_dependent(history: Sequence[Logged], target: Logged) -> Logged | None:
    """The latest event after `target`, not voided and not itself a void, that
    acts on an entity `target` created or changed."""
    voided = voided_versions(h.event for h in history)
    changed = target.event.changes()
    version = target.event.originator_version
    found = None
    for later in history:
        event = later.event
        if (
            event.originator_version > version
            and event.originator_version not in voided
            and event.acts_on() & changed
        ):
            found = later
    return found


def _refuse(code: str, message: str) -> RuleViolation:
    return RuleViolation(RULE, code, message)


def find_voidable(partner: Partner, history: Sequence[Logged], position: int) -> Any:
    """The event at `position` if it may be voided, else the refusal."""
    name = partner.partner
    target = next((h for h in history if h.position == position), None)
    if target is None or not isinstance(target.event, PartnerEvent):
        raise _refuse(
            "not-an-event-of-partner",
            f"position {position} is not an event of partner {name}",
        )
    kind = type(target.event).__name__
    if isinstance(target.event, Voided):
        raise _refuse(
            "is-a-void",
            f"position {position} is itself a void (of position "
            f"{target.event.voided_position}): a void can't be voided",
        )
    if isinstance(target.event, Enrolled):
        raise _refuse(
            "enrollment",
            f"position {position} is partner {name}'s enrollment: it can't be voided",
        )
    voided_by = voids_by_position(history).get(position, 0)
    if voided_by != 0:
        raise _refuse(
            "already-voided",
            f"position {position} ({kind}) was already voided by position {voided_by}",
        )
    later = later_dependent(history, target)
    if later is not None:
        where = "not yet saved" if later.position is None else str(later.position)
        raise _refuse(
            "later-event-depends",
            f"position {where} ({type(later.event).__name__}, effective "
            f"{later.event.on}) depends on position {position} ({kind}): void "
            "the later ones first, latest first",
        )
    return target


def void(
    partner: Partner,
    history: Sequence[Logged],
    position: int,
    reason: str,
    write: Write,
) -> Voided:
    """Record that the event at `position` is void, after the checks of
    `find_voidable`. The caller folds the partner again (`fold`) to drop it."""
    target = find_voidable(partner, history, position)
    partner.record(
        Voided,
        write,
        voided_position=position,
        voided_version=target.event.originator_version,
        voided_event=type(target.event).__name__,
        reason=reason,
    )
    recorded = partner.pending_events[-1]
    if not isinstance(recorded, Voided):
        raise TypeError(f"expected the void just recorded, not {recorded!r}")
    return recorded
