"""Event and snapshot state as JSON with orjson: dates, datetimes and the state
records of ledger.domain.state are transcoded explicitly, everything else is JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any

import orjson
from eventsourcing.persistence import Transcoder

from ledger.domain import state

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
RECORDS = {
    cls.__name__: cls
    for cls in (
        state.Period,
        state.Benefit,
        state.Key,
        state.Subscription,
        state.User,
        state.Seat,
        state.Ticket,
        state.AdminTerm,
    )
}


def _encode(obj: Any) -> dict[str, Any]:
    if isinstance(obj, datetime):
        return {"_type_": "datetime", "_data_": obj.isoformat()}
    if isinstance(obj, date):
        return {"_type_": "date", "_data_": obj.isoformat()}
    if is_dataclass(obj) and type(obj).__name__ in RECORDS:
        values = {f.name: getattr(obj, f.name) for f in fields(obj)}
        return {"_type_": "record", "_data_": {"class": type(obj).__name__, **values}}
    raise TypeError(f"no transcoding for {type(obj).__name__}")


def _record(data: dict[str, Any]) -> Any:
    """A state record; fields an older version kept and this one dropped
    (e.g. Seat.released_on, never read) are left out of old snapshots."""
    cls = RECORDS[data["class"]]
    known = {f.name for f in fields(cls)}
    values = {k: _decode(v) for k, v in data.items() if k in known}
    return cls(**values)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
    "record": _record,
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value:
            return _DECODERS[value["_type_"]](value["_data_"])
        # Scalars (most values) are kept without a call: decoding a whole
        # log (a rebuild, an audit) spends its time here.
        return {k: _decode(v) if type(v) in _NESTED else v for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) if type(v) in _NESTED else v for v in value]
    return value


_NESTED = frozenset((dict, list))


def decode_state(data: bytes) -> Any:
    """What `_decode(orjson.loads(data))` gives, faster. An event's state is
    an object whose values are mostly scalars and single dates: those are
    decoded in place in the fresh object orjson returns. At its first nested
    value (a request record's answer), if the dates decoded so far are as many
    as the bytes hold `"_type_"` keys, the rest holds none, so it is already
    what _decode would copy (without a backslash in the bytes, every key is
    spelled out as written: none can hide)."""
    value = orjson.loads(data)
    if type(value) is not dict or (len(value) == 2 and "_type_" in value):
        return _decode(value)
    decoded = 0
    for key, item in value.items():  # only existing keys are set: allowed
        kind = type(item)
        if kind is dict and len(item) == 2 and "_type_" in item:
            value[key] = _DECODERS[item["_type_"]](item["_data_"])
            decoded += 1
        elif kind is dict or kind is list:
            if decoded >= 0 and _holds_no_more(data, decoded):
                return value
            value[key] = _decode(item)
            decoded = -1  # not counted past here: decode every value
    return value


def _holds_no_more(data: Any, decoded: int) -> bool:
    """Whether the bytes hold exactly `decoded` "_type_" keys, all spelled out."""
    return (
        type(data) is bytes and b"\\" not in data and data.count(b'"_type_"') == decoded
    )


class OrjsonTranscoder(Transcoder):
    """Encodes state with orjson, keeping the order of keys."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_encode, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        return decode_state(data)
