"""Event state as JSON with orjson, dates and datetimes transcoded explicitly."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from eventsourcing.persistence import Transcoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _encode(obj: Any) -> dict[str, str]:
    if isinstance(obj, datetime):
        return {"_type_": "datetime", "_data_": obj.isoformat()}
    if isinstance(obj, date):
        return {"_type_": "date", "_data_": obj.isoformat()}
    raise TypeError(f"no transcoding for {type(obj).__name__}")


_DECODERS = {"date": date.fromisoformat, "datetime": datetime.fromisoformat}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value:
            return _DECODERS[value["_type_"]](value["_data_"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class OrjsonTranscoder(Transcoder):
    """Encodes event state with orjson, keeping the order of keys."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_encode, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        return _decode(orjson.loads(data))
