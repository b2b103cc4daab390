"""Aggregate ids derived from natural keys (uuid5): two enrollments of one
partner, or two uses of one request id, collide on the event store's unique
(aggregate, version). Kept apart from the events (partner.py), so that a
reader can name an aggregate without loading them."""

from __future__ import annotations

from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

NAMESPACE = uuid5(NAMESPACE_URL, "https://benefits-ledger/")

# An import derives each id several times per line (uuid5 costs ~10 µs).
IDS_CACHED = 16384


@lru_cache(maxsize=IDS_CACHED)
def partner_uuid(partner: str) -> UUID:
    """Deterministic aggregate id: two enrollments of one partner collide."""
    return uuid5(NAMESPACE, f"partner:{partner}")


@lru_cache(maxsize=IDS_CACHED)
def request_uuid(request_id: str) -> UUID:
    return uuid5(NAMESPACE, f"request:{request_id}")
