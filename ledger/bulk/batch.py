"""Many writes in one transaction: what `Ledger.batch()` keeps between saves.

Under a batch, a write does not save at once: its Partner aggregate (with the
new event pending) and its Request record stay here, later writes load the
in-memory aggregate, and `Ledger.flush()` saves everything pending in ONE
`save(...)` call, which is one transaction. A write that a rule rejects raises
before its event is triggered (check, then trigger exactly one event), so it
leaves the cached aggregate as it was.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from ledger.domain.partner import Partner, Request, request_uuid

MAX_CACHED = 100

RequestEvent = Any  # RequestRecorded or RequestRejected, not yet an aggregate
UserKey = tuple[str, bytes | None, str]  # a user's reference, key, e-mail token


def _id_of(request: Request | RequestEvent) -> UUID:
    if isinstance(request, Request):
        return request.id
    uuid: UUID = request.originator_id
    return uuid


class Batch:
    """Aggregates and request records not yet saved, and a bounded cache of
    the partners this batch has loaded."""

    def __init__(
        self, max_cached: int = MAX_CACHED, remember_refusals: bool = False
    ) -> None:
        self.max_cached = max_cached
        self.remember_refusals = remember_refusals
        self.partners: OrderedDict[UUID, Partner] = OrderedDict()
        self.changed: dict[UUID, Partner] = {}
        # a request record pending is its one event until asked for (the
        # aggregate is made only when a write repeats its request id)
        self.requests: dict[UUID, Request | RequestEvent] = {}
        self.stored: dict[UUID, Request | RequestEvent] = {}
        self.absent: set[UUID] = set()
        self.has_policy = False
        self.policy_log: Any = None
        # Users' keys found by the prefetch (ledger/store/subjects.py): each
        # (partner, e-mail) asked, with its (reference, key, e-mail token) or
        # None (no key); and each found reference's (key, token).
        self.users: dict[tuple[str, str], UserKey | None] = {}
        # partners found enrolled (or not) by the prefetch
        self.enrolled: dict[UUID, bool] = {}
        self.keys: dict[str, tuple[bytes | None, str]] = {}

    def remember_policy(self, log: Any) -> None:
        """The policy log as read once for this batch (until the next save)."""
        self.has_policy = True
        self.policy_log = log

    def cached(self, partner_id: UUID) -> Partner | None:
        found = self.partners.get(partner_id)
        if found is not None:
            self.partners.move_to_end(partner_id)
        return found

    def keep(self, partner: Partner) -> None:
        self.partners[partner.id] = partner
        self.partners.move_to_end(partner.id)

    def add(self, partner: Partner, request: Request | RequestEvent | None) -> None:
        """A write's changes, saved at the next flush."""
        self.keep(partner)
        self.changed[partner.id] = partner
        if request is not None:
            self.requests[_id_of(request)] = request

    def add_request(self, request: Request | RequestEvent) -> None:
        """A request record with no partner change (a remembered refusal)."""
        self.requests[_id_of(request)] = request

    def remember_stored(self, request: Request) -> None:
        """A request record found in the store after the prefetch."""
        self.stored[request.id] = request
        self.absent.discard(request.id)

    def remember_users(
        self, asked: Iterable[tuple[str, str]], found: dict[tuple[str, str], UserKey]
    ) -> None:
        """The users' keys of the next writes, as stored now."""
        self.users = {pair: found.get(pair) for pair in asked}
        self.keys = {ref: (key, token) for ref, key, token in found.values()}

    def pending(self) -> list[Any]:
        return [*self.changed.values(), *self.requests.values()]

    def saved(self) -> None:
        """Everything pending was saved: keep the cache, within its bound."""
        self.changed.clear()
        self.has_policy = False
        self.stored.update(self.requests)
        self.absent -= self.requests.keys()
        self.requests.clear()
        self.users, self.keys, self.enrolled = {}, {}, {}
        while len(self.partners) > self.max_cached:
            self.partners.popitem(last=False)

    def drop(self) -> None:
        """Forget everything: nothing pending is saved (dry run, or a failed save)."""
        self.partners.clear()
        self.changed.clear()
        self.requests.clear()
        self.stored.clear()
        self.absent.clear()
        self.has_policy = False
        self.users, self.keys, self.enrolled = {}, {}, {}

    def known(self, request_id: str) -> bool:
        """Whether a request id was already recorded (stored or pending)."""
        uuid = request_uuid(request_id)
        return uuid in self.requests or uuid in self.stored

    def stored_before(self, request_id: str) -> bool:
        """Whether a request id's record was found stored (not written here)."""
        return request_uuid(request_id) in self.stored

    def pending_request(self, request_id: str) -> Request | None:
        """The record of a request id, pending or fetched by `prefetch`."""
        uuid = request_uuid(request_id)
        found = self.requests.get(uuid) or self.stored.get(uuid)
        if found is None or isinstance(found, Request):
            return found
        request: Request = found.mutate(None)
        return request

    def surely_absent(self, request_id: str) -> bool:
        return request_uuid(request_id) in self.absent

    def prefetch(
        self, app: Any, request_ids: Iterable[str], enrolling: Iterable[UUID] = ()
    ) -> None:
        """Fetch in one query the records of those request ids that are
        already stored, and which of the partners about to be enrolled are
        enrolled already, so each write of the batch need not ask the store."""
        wanted = {request_uuid(r) for r in request_ids} - self.requests.keys()
        partners = set(enrolling) - self.partners.keys()
        self.stored = {}
        self.absent = set(wanted)
        self.enrolled = dict.fromkeys(partners, False)
        for stored in app.first_versions(wanted | partners):
            if stored.originator_id in partners:
                self.enrolled[stored.originator_id] = True
                continue
            request = app.mapper.to_domain_event(stored).mutate(None)
            self.stored[request.id] = request
        self.absent = wanted - self.stored.keys()
