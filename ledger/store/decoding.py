"""Stored events decoded as eventsourcing's mapper decodes them, for readers
of the whole log: the rebuild (which folds the events) and the audit walk
(which only needs to know that a row decodes).

`Mapper.to_domain_event` takes one StoredEvent, resolves its topic, decodes
its state with the transcoder, sets the originator id and version, runs the
class's upcasts, then builds the event. Per row of a whole log, its
generality (a StoredEvent built, the topic and the id convertor looked up)
costs more than decoding the state. `EventStates` takes the same steps with
what it finds once per topic: `events` gives the same events (same class,
same fields: tests/test_fold_decoding.py), `state` the same __dict__ without
building an object, and `decodes` says True only when every step succeeds:
a False is "ask the mapper", which then raises exactly what it always
raised. A mapper that encrypts or compresses is left to decode every row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic

if TYPE_CHECKING:  # events.py loads SQLAlchemy: the audit walk's child needs none
    from ledger.store.events import Raw

# An event class, its class_version and its originator id convertor.
Found = tuple[Any, int, Callable[[Any], Any]]


class EventStates:
    def __init__(self, mapper: Any) -> None:
        self.mapper = mapper
        self.decode = mapper.transcoder.decode
        # A cipher or a compressor would stand between the bytes and the
        # transcoder: then every row is left to the mapper.
        self.plain = not mapper.cipher and not mapper.compressor
        # topic -> what is found once for it, or None: left to the mapper
        self.classes: dict[Any, Found | None] = {}

    def event_class(self, topic: Any) -> Found | None:
        """The event class of a topic, its class_version and id convertor,
        or None when the mapper might fail on it whatever the state (an
        unknown topic, an id type it can't convert, a class it can't build an
        object of)."""
        if topic in self.classes:
            return self.classes[topic]
        found: Found | None = None
        try:
            cls = resolve_topic(topic)
            convert = find_id_convertor(cls, UUID)
            object.__setattr__(object.__new__(cls), "__dict__", {})
            found = (cls, getattr(cls, "class_version", 1), convert)
        except Exception:
            pass
        self.classes[topic] = found = found if self.plain else None
        return found

    def events(self, originator_id: UUID, stored: list[Raw]) -> list[Any]:
        """One aggregate's events, in the order given, as the mapper builds
        them (a row of a topic left to the mapper is built by it)."""
        classes, new, set_dict = self.classes, object.__new__, object.__setattr__
        events: list[Any] = []
        for _, _, version, topic, data in stored:
            found = classes.get(topic) or self.event_class(topic)
            if found is None:
                stored_event = StoredEvent(originator_id, version, topic, data)
                events.append(self.mapper.to_domain_event(stored_event))
                continue
            cls, class_version, convert = found
            values = self.decode(data)
            values["originator_id"] = convert(originator_id)
            values["originator_version"] = version
            self._upcast(cls, class_version, values)
            event: Any = new(cls)
            set_dict(event, "__dict__", values)
            events.append(event)
        return events

    def state(self, topic: Any, version: int, data: bytes) -> dict[str, Any]:
        """The decoded, upcast state of a stored event, as the mapper gives
        the event's __dict__ (originator_id left as None: the caller has it).
        Raises as the mapper's steps raise; LookupError for a topic left to
        the mapper."""
        found = self.event_class(topic)
        if found is None:
            raise LookupError(topic)
        cls, class_version, _ = found
        state: dict[str, Any] = self.decode(data)
        state["originator_id"] = None
        state["originator_version"] = version
        return self._upcast(cls, class_version, state)

    def decodes(self, topic: Any, version: int, data: bytes) -> bool:
        """True: the mapper decodes this row. False: it may not (ask it).
        Runs for every row of the log: the common case (no upcast) only
        decodes and looks at the class version."""
        found = self.classes.get(topic) or self.event_class(topic)
        if found is None:
            return False
        try:
            state = self.decode(data)
            if type(state) is not dict:
                return False
            if state.get("class_version", 1) >= found[1]:
                return True
            self.state(topic, version, data)
        except Exception:
            return False
        return True

    @staticmethod
    def _upcast(cls: Any, class_version: int, state: dict[str, Any]) -> dict[str, Any]:
        """The state brought to the class's version, as the mapper does."""
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return state
