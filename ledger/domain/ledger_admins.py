"""Ledger admins: the actors allowed to make ledger-wide writes (policy
changes). RULES.md, "ledger admin": `ledger init --admin EMAIL` names the
first; ledger admins grant and revoke others (never the last one), each in
effective time like partner admins (ledger.domain.admins)."""

from __future__ import annotations

from dataclasses import field
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from ledger.domain.admins import (
    check_admin_on,
    check_can_grant,
    check_can_revoke,
    current_admins,
    granted,
    revoked,
)
from ledger.domain.errors import RuleViolation
from ledger.domain.state import AdminTerm
from ledger.domain.values import FIRST_DAY
from ledger.domain.write import Write

LEDGER_ADMINS_ID = uuid5(NAMESPACE_URL, "https://benefits-ledger/ledger-admins")
SCOPE = "the ledger"
# `ledger init` names its admin from the first date the ledger accepts
# (RULES.md, "Bounds"), so policy changes of any effective date are allowed.
INIT_ON = FIRST_DAY


class LedgerAdmins(Aggregate):
    """Every grant and revocation of a ledger admin, with its effective date."""

    def __init__(self) -> None:
        self.terms: list[AdminTerm] = []

    @property
    def admins(self) -> list[str]:
        return current_admins(self.terms)


class LedgerAdminEvent(Aggregate.Event):
    on: date
    actor: str
    request_id: str | None
    email: str
    # As PartnerEvent.login_role: None for events recorded before it existed.
    login_role: str | None = field(default=None, kw_only=True)


class LedgerInitialized(Aggregate.Created, LedgerAdminEvent):
    def apply(self, aggregate: Any) -> None:
        granted(aggregate.terms, self.email, self.on)


class LedgerAdminGranted(LedgerAdminEvent):
    def apply(self, aggregate: Any) -> None:
        granted(aggregate.terms, self.email, self.on)


class LedgerAdminRevoked(LedgerAdminEvent):
    def apply(self, aggregate: Any) -> None:
        revoked(aggregate.terms, self.email, self.on)


def no_ledger_admin() -> RuleViolation:
    return RuleViolation(
        "admin",
        "no-ledger-admin",
        "the ledger has no ledger admin yet: run `ledger init --admin EMAIL` "
        "to name the first one",
    )


def check_ledger_admin(log: LedgerAdmins | None, write: Write) -> LedgerAdmins:
    """A ledger-wide write is made by a ledger admin on its effective date;
    the ledger's admins, once checked."""
    if log is None:
        raise no_ledger_admin()
    check_admin_on(log.terms, write.actor, write.on, SCOPE)
    return log


def init_ledger(log: LedgerAdmins | None, email: str, write: Write) -> LedgerAdmins:
    """Name the first ledger admin. Naming an admin of the ledger again changes
    nothing; anyone else is refused once the ledger has an admin."""
    if log is not None:
        if email in log.admins:
            return log
        raise RuleViolation(
            "admin",
            "already-initialized",
            f"the ledger already has a ledger admin, and {email} is not one: "
            "a ledger admin grants others with "
            "`ledger admin grant --ledger EMAIL`",
        )
    return LedgerAdmins._create(
        LedgerInitialized,
        id=LEDGER_ADMINS_ID,
        **write.event_fields(),
        email=email,
    )


def grant_ledger_admin(
    log: LedgerAdmins | None, email: str, write: Write
) -> LedgerAdmins:
    log = check_ledger_admin(log, write)
    check_can_grant(log.terms, email, write.on, SCOPE)
    log.trigger_event(LedgerAdminGranted, **write.event_fields(), email=email)
    return log


def revoke_ledger_admin(
    log: LedgerAdmins | None, email: str, write: Write
) -> LedgerAdmins:
    log = check_ledger_admin(log, write)
    check_can_revoke(log.terms, email, write.on, SCOPE)
    log.trigger_event(LedgerAdminRevoked, **write.event_fields(), email=email)
    return log
