"""Stored events decoded for a rebuild: the mapper's events, for less.

eventsourcing's mapper (`to_domain_event`) takes one StoredEvent, resolves
its topic, decodes its state, converts its originator id, upcasts and builds
the event. A rebuild decodes some 40% of the log, and per event the mapper's
generality (a StoredEvent built, the topic and id convertor looked up) costs
more than decoding the state. `Decoder` takes the same steps with what is
found once per topic and once per aggregate, and gives the same events (same
class, same fields: test_projections checks it), so the handlers that
catch-up runs take them unchanged. A mapper that encrypts or compresses is
left to decode alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic

from ledger.store.events import Raw

# The transcoder's tags of the values an event's fields hold (transcoder.py).
_TAGS: dict[Any, Callable[[str], Any]] = {
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
}
# An event class, its class_version and its originator id convertor.
Found = tuple[type, int, Callable[[Any], Any]]


class Decoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.plain = mapper.cipher is None and mapper.compressor is None
        self.decode = mapper.transcoder.decode
        self.found: dict[str, Found] = {}

    def events(self, originator_id: UUID, stored: list[Raw]) -> list[Any]:
        """One aggregate's events, decoded, in the order given."""
        if not self.plain:
            return [
                self.mapper.to_domain_event(
                    StoredEvent(originator_id, version, topic, state)
                )
                for _, _, version, topic, state in stored
            ]
        found, new, set_dict = self.found, object.__new__, object.__setattr__
        events: list[Any] = []
        for _, _, version, topic, state in stored:
            cls, class_version, convert = found.get(topic) or self._find(topic)
            values = self._values(state)
            values["originator_id"] = convert(originator_id)
            values["originator_version"] = version
            from_version = values.pop("class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(values)
                from_version += 1
            event: Any = new(cls)
            set_dict(event, "__dict__", values)
            events.append(event)
        return events

    def _values(self, state: bytes) -> dict[str, Any]:
        """The event's fields, as the transcoder decodes them: dates and
        datetimes (all an event's fields hold besides JSON scalars) in
        place; anything else nested is left to the transcoder."""
        values = orjson.loads(state)
        for name, value in values.items():
            if type(value) is dict:
                decode = _TAGS.get(value.get("_type_")) if len(value) == 2 else None
                if decode is None:
                    return self.decode(state)
                values[name] = decode(value["_data_"])
            elif type(value) is list:
                return self.decode(state)
        return values

    def _find(self, topic: str) -> Found:
        cls = resolve_topic(topic)
        found = (
            cls,
            getattr(cls, "class_version", 1),
            find_id_convertor(cls, UUID),
        )
        self.found[topic] = found
        return found
