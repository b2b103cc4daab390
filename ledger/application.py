"""The ledger application: one method per use case (load, decide, save once).

Python code uses this class directly; the CLI is a thin layer over it.
Every write method takes an `actor`, an effective date `on` and an optional
`request_id`, and returns the answer as a JSON-ready dict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, cast

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from ledger.domain import (
    benefits,
    corrections,
    erasure,
    keys,
    membership,
    seats,
    views,
)
from ledger.domain.errors import (
    Conflict,
    InvalidInput,
    LedgerError,
    NotFound,
    RefusedBefore,
    RuleViolation,
)
from ledger.domain.identity import Identity, actor_of_write, default_actor
from ledger.domain.ledger_admins import (
    LEDGER_ADMINS_ID,
    LedgerAdmins,
    check_ledger_admin,
)
from ledger.domain.partner import (
    Partner,
    Request,
    RequestRecorded,
    RequestRejected,
    Voided,
    partner_uuid,
    request_uuid,
)
from ledger.domain.policy import (
    DEFAULT_POLICY,
    POLICY_ID,
    Policy,
    PolicyLog,
    policy_on,
)
from ledger.domain.values import DAY, EMAIL, NAME, WITHIN_DAYS
from ledger.domain.write import Write
from ledger.registry import (
    ENROLLMENT,
    LEDGER_ADMINS,
    POLICY,
    WRITE_COMMANDS,
    WriteCommand,
)
from ledger.store.app import StoredApplication
from ledger.store.errors import DEFAULT_LOCK_TIMEOUT, StoreFailed
from ledger.store.repository import VoidingRepository
from ledger.store.subjects import NewSubject, SubjectConflict, Subjects
from ledger.store.topics import topics_of

if TYPE_CHECKING:
    from ledger.bulk.batch import Batch
    from ledger.team import Team

SELF_DECLARED_IDENTITY = Identity()  # the actor is whoever --actor names

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(tz=timezone.utc)


class Ledger(StoredApplication):
    name = "Ledger"
    # A write loads its partner from the latest snapshot plus at most this many
    # events, so write latency does not grow with a partner's history.
    snapshotting_intervals: ClassVar[dict[type, int]] = {Partner: 200}

    def __init__(
        self,
        url: str = "sqlite:///ledger.db",
        clock: Clock = utc_now,
        policy: Policy = DEFAULT_POLICY,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.clock = clock
        self.policy = policy
        self.pending: Batch | None = None
        # Keys of users added by the write being decided, then (under a batch)
        # by the batch's writes not saved yet: stored just before their events.
        self._new_subjects: list[NewSubject] = []
        self._batch_subjects: dict[tuple[str, str], NewSubject] = {}
        # The partner `user add` loaded to look for its user named in clear,
        # taken again by the decision (one read of the store per write).
        self._preloaded: Partner | None = None
        super().__init__(url, lock_timeout)

    @cached_property
    def team(self) -> Team:
        """Who writes: --actor, or the database's login (PostgreSQL)."""
        from ledger.team import Team

        return Team.of(self)

    def identity(self) -> Identity:
        """Who this connection is. A store without logins (an SQLite file)
        is not asked: its actors are self-declared, and a write never loads
        the team's database machinery."""
        return self.team.identity() if self.has_logins else SELF_DECLARED_IDENTITY

    @cached_property
    def subjects(self) -> Subjects:
        """The users' keys (ledger/store/subjects.py), on first use."""
        return Subjects(self.url, lambda: self.event_rows.engine, self.pg_database)

    def construct_repository(self) -> VoidingRepository:
        """The library's repository, folding with voided events skipped
        (no aggregate cache: each load reads the store)."""
        return VoidingRepository(event_store=self.events, snapshot_store=self.snapshots)

    # -- reading ---------------------------------------------------------------

    def load(self, partner: str) -> Partner:
        if self.pending is not None:
            cached = self.pending.cached(partner_uuid(partner))
            if cached is not None:
                return cached
        try:
            loaded: Partner = self.repository.get(partner_uuid(partner))
        except AggregateNotFoundError:
            raise NotFound("partner", partner) from None
        if self.pending is not None:
            self.pending.keep(loaded)
        return loaded

    def _enrolled(self, partner: str) -> bool:
        if self.pending is not None:
            if self.pending.cached(partner_uuid(partner)):
                return True
            prefetched = self.pending.enrolled.get(partner_uuid(partner))
            if prefetched is not None:
                return prefetched
        return partner_uuid(partner) in self.repository

    def partner_show(self, partner: str, on: date) -> dict[str, Any]:
        return views.partner_view(self.load(partner), on)

    def benefit_show(self, partner: str, benefit: str) -> dict[str, Any]:
        found = benefits.granted_benefit(self.load(partner), benefit)
        return views.benefit_view(found)

    def subscription_show(self, partner: str, sub: str, on: date) -> dict[str, Any]:
        found = keys.find_subscription(self.load(partner), sub)
        return views.subscription_view(found, on)

    def user_show(
        self, partner: str, email: str, on: date | None = None
    ) -> dict[str, Any]:
        """EMAIL: an e-mail, or the pseudonym of a forgotten user."""
        ref = self.user_ref(partner, email)
        loaded = self.load(partner)
        if ref not in loaded.users:
            raise NotFound("user", email)
        return self.reveal(views.user_view(loaded, ref, on))

    def seat_show(self, partner: str, seat: str) -> dict[str, Any]:
        return self.reveal(views.seat_view(seats.find_seat(self.load(partner), seat)))

    # -- users' personal data (ledger/domain/erasure.py) ------------------------

    def reveal(self, data: Any) -> Any:
        """DATA with every user reference and encrypted e-mail shown as the
        e-mail, or as the pseudonym of a forgotten user."""
        extra: dict[str, tuple[bytes | None, str]] = {
            s.ref: (s.key, s.token)
            for s in [*self._batch_subjects.values(), *self._new_subjects]
        }
        return self.subjects.reveal(data, extra)

    def user_ref(self, partner: str, name: str) -> str:
        """The reference events use for PARTNER's user NAME (an e-mail, or
        the pseudonym of a forgotten user). An e-mail with no key is returned
        as it is: a user of a ledger written before references (named in
        clear), or no user at all, which the domain then says."""
        by_pseudonym = erasure.ref_of_pseudonym(name)
        if by_pseudonym is not None:
            return by_pseudonym
        email = name.strip().lower()
        for subject in self._new_subjects:
            if (subject.partner, subject.email) == (partner, email):
                return subject.ref
        made = self._batch_subjects.get((partner, email))
        if made is not None:
            return made.ref
        if self.pending is not None and (partner, email) in self.pending.users:
            held = self.pending.users[partner, email]
            return email if held is None else held[0]
        return self.subjects.find(partner, email) or email

    def prefetch_users(self, writes: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Under a batch: find the keys of every user these writes (command,
        fields) name with one query, so that no write of the batch asks the
        key tables one user at a time."""
        if self.pending is None:
            return
        named = set()
        for command, fields in writes:
            partner = fields.get("partner")
            for field in WRITE_COMMANDS[command].fields:
                value = fields.get(field.name)
                if field.personal and isinstance(value, str) and partner:
                    if erasure.ref_of_pseudonym(value) is None:
                        named.add((partner, value.strip().lower()))
        self.pending.remember_users(named, self.subjects.find_many(named))

    def _held_key(self, name: str) -> tuple[bytes | None, str] | None:
        """The key and e-mail token stored for a user reference NAME. Only
        references have keys: an e-mail is not asked for."""
        if not erasure.is_ref(name):
            return None
        if self.pending is not None and name in self.pending.keys:
            return self.pending.keys[name]
        return self.subjects.keys_of([name]).get(name)

    def _personal(self, spec: WriteCommand, checked: dict[str, Any]) -> dict[str, Any]:
        """Replace the e-mail a write names a user by with the user's
        reference (ledger/domain/erasure.py), before the fingerprint and the
        decision see it. `user add` also gets the e-mail encrypted under the
        user's key (returned as `sealed`): an existing key if the e-mail has
        one, else a new key, stored only when the write is saved."""
        for field in spec.fields:
            if field.personal and checked.get(field.name) is not None:
                checked[field.name] = self.user_ref(
                    checked["partner"], checked[field.name]
                )
        if not spec.adds_user:
            return {}
        email = checked["email"]
        held = self._held_key(email)
        if held is not None:
            return {"sealed": held[1]}
        if erasure.is_ref(email) or self._named_in_clear(checked["partner"], email):
            return {}
        subject = self.subjects.new(checked["partner"], email)
        self._new_subjects.append(subject)
        checked["email"] = subject.ref
        return {"sealed": subject.token}

    def _named_in_clear(self, partner: str, email: str) -> bool:
        """A user of a ledger written before references, named by e-mail."""
        try:
            loaded = self.load(partner)
        except NotFound:
            return False
        self._preloaded = loaded
        return email in loaded.users

    def _stored_refs(self, args: dict[str, Any]) -> dict[str, Any]:
        """ARGS with the reference of a user this write meant to add replaced
        by the one stored meanwhile by a racing copy of the write (the same
        e-mail gets one key): the racing copy's request then reads as the
        same content."""
        replaced = dict(args)
        for subject in self._new_subjects:
            stored = self.subjects.find(subject.partner, subject.email)
            for name, value in args.items():
                if value == subject.ref and stored is not None:
                    replaced[name] = stored
        return replaced

    def _revealed(self, error: LedgerError) -> None:
        """Show the users the error names as answers show them."""
        message = self.reveal(error.message)
        if message != error.message:
            error.message = message
            error.args = (self.reveal(error.args[0]), *error.args[1:])

    # -- policy ------------------------------------------------------------------

    def _policy_log(self) -> PolicyLog | None:
        if self.pending is not None and self.pending.has_policy:
            return self.pending.policy_log
        try:
            log: PolicyLog | None = self.repository.get(POLICY_ID)
        except AggregateNotFoundError:
            log = None
        if self.pending is not None:
            self.pending.remember_policy(log)
        return log

    def policy_on(self, on: date) -> Policy:
        """The policy in force on a date: this ledger's base policy with every
        change recorded with `set_policy` that took effect by then."""
        return policy_on(self._policy_log(), on, self.policy)

    def policy_show(self, on: date) -> dict[str, Any]:
        log = self._policy_log()
        changes = [
            {"on": day.isoformat(), "name": name, "days": days}
            for day, name, days in (log.changes if log is not None else [])
        ]
        return {
            "on": on.isoformat(),
            **self.policy_on(on).as_dict(),
            "changes": changes,
        }

    def within_days(self, on: date, within: int | None) -> int:
        """R11: the days ahead that count as "expiring soon" on a date: as
        asked, or the policy's expiring_soon_days in force on that date."""
        if within is not None:
            return WITHIN_DAYS.parse(within, "within")
        return self.policy_on(on).expiring_soon_days

    # -- writes: one generic pipeline over the command registry --------------

    def run(
        self,
        command: str,
        on: date,
        actor: str | None,
        request_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Run the write command named `command` (ledger/registry.py) with its
        fields: check every value against its bound (InvalidInput otherwise,
        nothing written), answer a repeated request as the first time, load
        what it acts on, decide, and save the events once."""
        return self._run(command, on, actor, request_id, fields, shown=True)

    def run_unshown(
        self,
        command: str,
        on: date,
        actor: str | None,
        request_id: str | None = None,
        **fields: Any,
    ) -> None:
        """`run` for a caller that never reads the answer (an import line):
        the same checks, decision, records and errors, but the answer is not
        completed nor shown (showing it reads the users' keys, per write)."""
        self._run(command, on, actor, request_id, fields, shown=False)

    def _run(
        self,
        command: str,
        on: date,
        actor: str | None,
        request_id: str | None,
        fields: dict[str, Any],
        shown: bool,
    ) -> dict[str, Any]:
        spec = WRITE_COMMANDS[command]
        checked = spec.check(fields)
        plain = checked.get("email") if spec.erases_user else None
        if spec.erases_user and self.pending is not None:
            # the key is destroyed once the event is saved, and a batch saves
            # later (or never: a dry run)
            raise InvalidInput(f"{spec.name} is not run in a batch: run it on its own")
        try:
            extra = self._personal(spec, checked)
            write = self._write(actor, on, request_id)
            args = spec.fingerprint_args(checked)
            answer = self._repeated(write, args)
            if answer is None:
                answer = self._decide(spec, checked, extra, write, args, plain)
                if spec.erases_user:
                    self.subjects.destroy(checked["partner"], checked["email"], plain)
            if not shown:
                return answer
            if spec.complete is not None:
                answer = spec.complete(self, answer)
            # answers name users by reference: shown by e-mail or pseudonym
            return self.reveal(answer)  # type: ignore[no-any-return]
        except LedgerError as error:
            self._revealed(error)
            raise
        finally:
            self._new_subjects = []
            self._preloaded = None

    def _decide(
        self,
        spec: WriteCommand,
        checked: dict[str, Any],
        extra: dict[str, Any],
        write: Write,
        args: dict[str, Any],
        plain: str | None,
    ) -> dict[str, Any]:
        """Load what the write acts on, decide, and save the events once."""
        try:
            subject = self._subject(spec, checked, write)
            if spec.reads_history:
                checked["history"] = self._history(subject)
            policy = self.policy_on(write.on)
            if spec.erases_user:
                self._check_forgettable(subject, checked["email"], plain)
            changed, answer = spec.decide(subject, write, policy, **checked, **extra)
        except LedgerError as error:
            return self._refused(write, args, error)
        if changed.pending_events:  # else nothing changes: nothing to save
            answer = self._save(changed, write, args, answer)
        return answer

    def _check_forgettable(self, partner: Partner, ref: str, plain: str | None) -> None:
        """An e-mail forgotten before has no key to find it by any more: the
        erasure marker says it was forgotten (rule `forget`), not unknown.
        Forgetting saves UserForgotten, then destroys the key: if a forget
        stopped in between, the user reads as forgotten in the log while the
        key remains; a new forget of that user destroys it (and is refused
        by the domain, as the user was already forgotten)."""
        if ref == plain and self.subjects.was_forgotten(partner.partner, plain):
            raise erasure.already_forgotten(plain)
        user = partner.users.get(ref)
        if user is not None and user.forgotten_on is not None:
            self.subjects.destroy(partner.partner, ref, plain)

    def _subject(
        self, spec: WriteCommand, checked: dict[str, Any], write: Write
    ) -> Any:
        """What a write acts on, with the actor's right to act on it checked:
        the partner (one of its admins, on the write's date), nothing yet for
        an enrollment, the policy log (a ledger admin), or the ledger admins
        (whose decisions check the actor themselves)."""
        if spec.scope == POLICY:
            check_ledger_admin(self._ledger_admins(), write)
            return self._policy_log()
        if spec.scope == LEDGER_ADMINS:
            return self._ledger_admins()
        partner = checked["partner"]
        if spec.scope == ENROLLMENT:
            membership.check_not_enrolled(partner, self._enrolled(partner))
            return None
        preloaded, self._preloaded = self._preloaded, None
        if preloaded is not None and preloaded.partner == partner:
            loaded = preloaded
        else:
            loaded = self.load(partner)
        membership.check_admin(loaded, write.actor, write.on)
        return loaded

    def _ledger_admins(self) -> LedgerAdmins | None:
        try:
            admins: LedgerAdmins = self.repository.get(LEDGER_ADMINS_ID)
        except AggregateNotFoundError:
            return None
        return admins

    # The use cases by name, for Python callers: each runs its registry entry.

    def set_policy(
        self, name: str, days: int, on: date, actor: str, request_id: str | None = None
    ) -> dict[str, Any]:
        """Change one policy parameter from `on`; earlier events keep the dates
        they were decided with."""
        return self.run("policy set", on, actor, request_id, name=name, days=days)

    def enroll(
        self,
        partner: str,
        on: date,
        actor: str,
        name: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "partner enroll", on, actor, request_id, partner=partner, name=name
        )

    def renew(
        self, partner: str, on: date, actor: str, request_id: str | None = None
    ) -> dict[str, Any]:
        return self.run("partner renew", on, actor, request_id, partner=partner)

    def grant_admin(
        self,
        partner: str,
        email: str,
        actor: str,
        on: date,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "admin grant", on, actor, request_id, partner=partner, email=email
        )

    def revoke_admin(
        self,
        partner: str,
        email: str,
        actor: str,
        on: date,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "admin revoke", on, actor, request_id, partner=partner, email=email
        )

    def grant_benefit(
        self,
        partner: str,
        benefit: str,
        kind: str,
        product: str,
        quantity: int,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "benefit grant",
            on,
            actor,
            request_id,
            partner=partner,
            benefit=benefit,
            kind=kind,
            product=product,
            quantity=quantity,
        )

    def activate_benefit(
        self,
        partner: str,
        benefit: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "benefit activate", on, actor, request_id, partner=partner, benefit=benefit
        )

    def add_tenant(
        self,
        partner: str,
        tenant: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "tenant add", on, actor, request_id, partner=partner, tenant=tenant
        )

    def issue_key(
        self,
        partner: str,
        benefit: str,
        key: str,
        licenses: int,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "key issue",
            on,
            actor,
            request_id,
            partner=partner,
            benefit=benefit,
            key=key,
            licenses=licenses,
        )

    def redeem_key(
        self,
        partner: str,
        key: str,
        tenant: str,
        subscription: str,
        mode: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "key redeem",
            on,
            actor,
            request_id,
            partner=partner,
            key=key,
            tenant=tenant,
            subscription=subscription,
            mode=mode,
        )

    def add_user(
        self,
        partner: str,
        email: str,
        source: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "user add",
            on,
            actor,
            request_id,
            partner=partner,
            email=email,
            source=source,
        )

    def record_offer(
        self,
        partner: str,
        email: str,
        offer: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "user offer",
            on,
            actor,
            request_id,
            partner=partner,
            email=email,
            offer=offer,
        )

    def assign_seat(
        self,
        partner: str,
        benefit: str,
        email: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "seat assign",
            on,
            actor,
            request_id,
            partner=partner,
            benefit=benefit,
            email=email,
        )

    def sign_in(
        self,
        partner: str,
        seat: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "seat sign-in", on, actor, request_id, partner=partner, seat=seat
        )

    def reassign_seat(
        self,
        partner: str,
        seat: str,
        email: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "seat reassign",
            on,
            actor,
            request_id,
            partner=partner,
            seat=seat,
            email=email,
        )

    def release_seat(
        self,
        partner: str,
        seat: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "seat release", on, actor, request_id, partner=partner, seat=seat
        )

    def open_ticket(
        self,
        partner: str,
        benefit: str,
        product: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "ticket open",
            on,
            actor,
            request_id,
            partner=partner,
            benefit=benefit,
            product=product,
        )

    def forget_user(
        self,
        partner: str,
        email: str,
        reason: str,
        on: date,
        actor: str | None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        return self.run(
            "user forget",
            on,
            actor,
            request_id,
            partner=partner,
            email=email,
            reason=reason,
        )

    def init_ledger(
        self,
        admin: str,
        on: date,
        actor: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Name the first ledger admin (idempotent for an admin of the ledger)."""
        actor = default_actor(self.identity(), actor) or admin
        return self.run("ledger init", on, actor, request_id, email=admin)

    def grant_ledger_admin(
        self, email: str, actor: str, on: date, request_id: str | None = None
    ) -> dict[str, Any]:
        return self.run("admin grant --ledger", on, actor, request_id, email=email)

    def revoke_ledger_admin(
        self, email: str, actor: str, on: date, request_id: str | None = None
    ) -> dict[str, Any]:
        return self.run("admin revoke --ledger", on, actor, request_id, email=email)

    def void(
        self,
        partner: str,
        position: int,
        reason: str,
        on: date,
        actor: str,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Void the partner's event at `position` (its position in the log):
        from then on the partner is as if it never happened. Refused (rule
        `correction`) for anything but a voidable event of this partner."""
        return self.run(
            "void",
            on,
            actor,
            request_id,
            partner=partner,
            position=position,
            reason=reason,
        )

    def _history(self, partner: Partner) -> list[Any]:
        """The partner's events with their positions: those stored, then
        those pending in a batch (position None)."""
        pending = list(partner.pending_events)
        base = partner.version - len(pending)
        stored = [
            corrections.Entry(row.position, self.decode(row))
            for row in self.event_rows.of_aggregate(partner.id)
            if row.originator_version <= base
        ]
        return [*stored, *(corrections.Entry(None, e) for e in pending)]

    def void_position(self, partner: str, voided: int) -> int | None:
        """The position of the void of the event at `voided` (None while it is
        pending in a batch)."""
        voids = topics_of(Voided)
        for row in self.event_rows.of_aggregate(partner_uuid(partner)):
            if row.topic in voids and self.decode(row).voided_position == voided:
                return row.position
        return None

    # -- many writes in one transaction (bulk import) -------------------------

    @contextmanager
    def batch(self, remember_refusals: bool = False) -> Iterator[Batch]:
        """Writes under this context are kept in memory and saved together by
        `flush()`, in one transaction; leaving the context flushes what is
        left, unless the batch was dropped (`discard()`, as a dry run does).
        With `remember_refusals`, a refused write with a request id keeps its
        refusal as that id's answer (saved with the batch)."""
        from ledger.bulk.batch import Batch  # imports only: a write needs none

        self.pending = Batch(remember_refusals=remember_refusals)
        self._batch_subjects = {}
        try:
            yield self.pending
            self.flush()
        finally:
            self.pending = None
            self._batch_subjects = {}

    def flush(self) -> int:
        """Save every pending write of the batch in ONE `save` call (one
        transaction) and return the number of events written. If another
        writer changed one of the partners meanwhile, nothing is saved, the
        batch forgets its cache, and Conflict says so."""
        if self.pending is None:
            return 0
        records = self.pending.pending()
        if not records:
            return 0
        try:
            self.subjects.store(self._batch_subjects.values())
            self._batch_subjects = {}
            written = self.save_batch(*records)
        except (IntegrityError, SubjectConflict):
            self.pending.drop()
            self._batch_subjects = {}
            raise Conflict(
                f"{len(records)} pending records were not saved: a partner was "
                "changed by another write at the same moment; run it again"
            ) from None
        self.pending.saved()
        return written

    def discard(self) -> None:
        """Forget every pending write of the batch: nothing is saved."""
        if self.pending is not None:
            self.pending.drop()
        self._batch_subjects = {}

    # -- the write pipeline ----------------------------------------------------

    def _write(self, actor: str | None, on: date, request_id: str | None) -> Write:
        """The write's envelope, each value checked against its bound; its
        actor is the one the team decides (self-declared, or the e-mail bound
        to the PostgreSQL login role)."""
        identity = self.identity()
        return Write(
            actor=EMAIL.parse(actor_of_write(identity, actor), "actor"),
            on=DAY.parse(on, "on"),
            recorded_at=self.clock(),
            request_id=None
            if request_id is None
            else NAME.parse(request_id, "request_id"),
            login_role=identity.role,
        )

    def _refused(
        self, write: Write, args: dict[str, Any], error: LedgerError
    ) -> dict[str, Any]:
        """A refused request whose id was recorded meanwhile (its first copy,
        racing this one, was saved after our repeat check) answers as the first
        time; otherwise the refusal stands (raised again), and under a batch
        that remembers refusals (a --keep-going import) it is kept as the
        answer to its request id, so a re-run does not judge it again."""
        if write.request_id is None or isinstance(error, Conflict | StoreFailed):
            raise error
        recorded = self._recorded_request(write.request_id, fresh=True)
        if recorded is not None:
            return self._answer(write, args, recorded)
        self._remember_refusal(write, args, error)
        raise error

    def _repeated(self, write: Write, args: dict[str, Any]) -> dict[str, Any] | None:
        """Idempotency: the first answer to a repeated request id, or None."""
        if write.request_id is None:
            return None
        request = self._recorded_request(write.request_id)
        if request is None:
            return None
        return self._answer(write, args, request)

    def _answer(
        self, write: Write, args: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        """The first answer to a request id (or its first refusal, raised)."""
        if request.fingerprint != fingerprint(
            write, args
        ) and request.fingerprint != fingerprint(write, self._stored_refs(args)):
            raise RuleViolation(
                "idempotency",
                "request-id-reused",
                f"request id {write.request_id} is already taken by another "
                "request: use a new request id",
            )
        if request.refusal is not None:
            raise RefusedBefore(
                request.refusal.get("rule"),
                request.refusal.get("code", "error"),
                request.refusal.get("message", ""),
            )
        return {k: v for k, v in request.answer.items() if k != "command"}

    def _remember_refusal(
        self, write: Write, args: dict[str, Any], error: LedgerError
    ) -> None:
        if self.pending is None or not self.pending.remember_refusals:
            return
        if write.request_id is None:
            return
        self.pending.add_request(
            self._request(
                RequestRejected,
                write,
                args,
                command=args["command"],
                refusal=error.as_dict(),
            )
        )

    def _recorded_request(self, request_id: str, fresh: bool = False) -> Request | None:
        """The record of a request id: pending in the batch, or stored. With
        `fresh`, the store is asked even when the batch's prefetch found none
        (another writer may have saved it since)."""
        if self.pending is not None:
            pending = self.pending.pending_request(request_id)
            if pending is not None:
                return pending
            if self.pending.surely_absent(request_id) and not fresh:
                return None
        try:
            found: Request = self.repository.get(request_uuid(request_id))
        except AggregateNotFoundError:
            return None
        if self.pending is not None:
            self.pending.remember_stored(found)
        return found

    def _save(
        self,
        partner: Aggregate,
        write: Write,
        args: dict[str, Any],
        answer: dict[str, Any],
    ) -> dict[str, Any]:
        request = None
        if write.request_id is not None:
            request = self._request(
                RequestRecorded,
                write,
                args,
                answer={"command": args["command"], **answer},
            )
        if self.pending is not None:
            # the batch keeps the policy and admin logs among its aggregates
            self.pending.add(cast(Partner, partner), request)
            for subject in self._new_subjects:
                self._batch_subjects[subject.partner, subject.email] = subject
            self._new_subjects = []
            return answer
        records: list[Any] = [partner] if request is None else [partner, request]
        try:
            self.subjects.store(self._new_subjects)
            self.save(*records)
            self._new_subjects = []
        except (IntegrityError, SubjectConflict):
            repeated = self._repeated(write, args)
            if repeated is not None:
                return repeated
            raise Conflict(
                f"{args['partner'] or 'the policy'} was changed by another write at "
                "the same moment; nothing was recorded, try again"
            ) from None
        return answer

    def _request(
        self, event_class: type[Any], write: Write, args: dict[str, Any], **fields: Any
    ) -> Any:
        """The record of a write's request id: a Request aggregate of one
        event. Under a batch, that event alone, as the aggregate would have
        made it: the batch makes the aggregate only if a later write repeats
        the id (building one costs ~20 µs, a sixth of an imported line)."""
        request_id = cast(str, write.request_id)
        common = {
            "request_id": request_id,
            "fingerprint": fingerprint(write, args),
            "timestamp": write.recorded_at,
            **fields,
        }
        if self.pending is None:
            return Request._create(event_class, id=request_uuid(request_id), **common)
        return event_class(
            originator_id=request_uuid(request_id),
            originator_version=Request.INITIAL_VERSION,
            originator_topic=REQUEST_TOPIC,
            **common,
        )


REQUEST_TOPIC = get_topic(Request)


def fingerprint(write: Write, args: dict[str, Any]) -> str:
    """What makes two requests "the same content": the command, its arguments,
    the effective date and the actor."""
    content = {**args, "on": write.on.isoformat(), "actor": write.actor}
    return hashlib.sha256(
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
