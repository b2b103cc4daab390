"""Stored event state decoded as eventsourcing's mapper decodes it, without
building an event object per row: for readers of the whole log (the audit
walk) that only need the state, or only need to know that it decodes.

`Mapper.to_domain_event` resolves the topic, decodes the state with the
transcoder, sets the originator id and version, runs the class's upcasts,
then builds the object. `EventStates.state` does the same steps but the last
(the id convertor and the object are tried once per class), and `decodes`
says True only when every step succeeds: a False is "ask the mapper", which
then raises exactly what it always raised.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import find_id_convertor
from eventsourcing.utils import resolve_topic


class EventStates:
    def __init__(self, mapper: Any) -> None:
        self.decode = mapper.transcoder.decode
        # A cipher or a compressor would stand between the bytes and the
        # transcoder: then every row is left to the mapper.
        self.plain = not mapper.cipher and not mapper.compressor
        # topic -> (event class, its class_version), or None: left to the mapper
        self.classes: dict[Any, tuple[Any, int] | None] = {}

    def event_class(self, topic: Any) -> tuple[Any, int] | None:
        """The event class of a topic and its class_version, or None when the
        mapper might fail on it whatever the state (an unknown topic, an id
        type it can't convert, a class it can't build an object of)."""
        if topic in self.classes:
            return self.classes[topic]
        found: tuple[Any, int] | None = None
        try:
            cls = resolve_topic(topic)
            find_id_convertor(cls, UUID)
            object.__setattr__(object.__new__(cls), "__dict__", {})
            found = (cls, getattr(cls, "class_version", 1))
        except Exception:
            pass
        self.classes[topic] = found = found if self.plain else None
        return found

    def state(self, topic: Any, version: int, data: bytes) -> dict[str, Any]:
        """The decoded, upcast state of a stored event, as the mapper gives
        the event's __dict__ (originator_id left as None: the caller has it).
        Raises as the mapper's steps raise; LookupError for a topic left to
        the mapper."""
        found = self.event_class(topic)
        if found is None:
            raise LookupError(topic)
        cls, class_version = found
        state: dict[str, Any] = self.decode(data)
        state["originator_id"] = None
        state["originator_version"] = version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return state

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
