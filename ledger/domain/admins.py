"""Admins in time: who may write, on which effective dates.

RULES.md, "Admins in time": an admin may write events dated from the day they
were granted, and none dated on or after their revocation. Grants and
revocations of one e-mail never go backwards in effective time. The same terms
serve partner admins (on the Partner aggregate) and ledger admins (on the
LedgerAdmins aggregate).

A refusal names the actor, never the other admins: a stranger learns nothing
about who may write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.domain.errors import InvalidInput, RuleViolation
from ledger.domain.rules import check_not_before
from ledger.domain.state import AdminTerm


def is_admin_on(terms: Iterable[AdminTerm], email: str, day: date) -> bool:
    """True when one of `email`'s terms covers `day` (granted on or before it,
    not revoked on or before it)."""
    return any(term.email == email and term.covers(day) for term in terms)


def current_admins(terms: Iterable[AdminTerm]) -> list[str]:
    """The e-mails whose latest term is not revoked, in the order granted."""
    return [term.email for term in terms if term.revoked_on is None]


def open_term(terms: Iterable[AdminTerm], email: str) -> AdminTerm | None:
    for term in terms:
        if term.email == email and term.revoked_on is None:
            return term
    return None


def last_change_on(terms: Iterable[AdminTerm], email: str) -> date | None:
    """The latest effective date of a grant or revocation of `email`."""
    days = [
        day
        for term in terms
        if term.email == email
        for day in (term.granted_on, term.revoked_on)
        if day is not None
    ]
    return max(days, default=None)


def check_admin_on(terms: list[AdminTerm], actor: str, on: date, scope: str) -> None:
    """Every write is made by an admin of its scope ("partner P" or "the
    ledger") on the write's effective date."""
    if is_admin_on(terms, actor, on):
        return
    own = [term for term in terms if term.email == actor]
    if not own:
        message = f"{actor} is not an admin of {scope}"
    else:
        spans = ", ".join(term.describe() for term in own)
        message = f"{actor} is not an admin of {scope} on {on} (admin {spans})"
    raise RuleViolation("admin", "not-an-admin", message)


def check_can_grant(terms: list[AdminTerm], email: str, on: date, scope: str) -> None:
    """A grant names someone who is not an admin yet, and does not take effect
    before that e-mail's last grant or revocation."""
    if open_term(terms, email) is not None:
        raise InvalidInput(f"{email} is already an admin of {scope}")
    last = last_change_on(terms, email)
    if last is not None:
        check_not_before(on, last, f"admin {email} of {scope}")


def check_can_revoke(terms: list[AdminTerm], email: str, on: date, scope: str) -> None:
    """A revocation names a current admin, never the last one, and does not
    take effect before that admin's grant."""
    term = open_term(terms, email)
    if term is None:
        raise InvalidInput(f"{email} is not an admin of {scope}")
    if current_admins(terms) == [email]:
        raise RuleViolation(
            "admin",
            "last-admin",
            f"{email} is the last admin of {scope} and can't be revoked; "
            "grant another admin first",
        )
    check_not_before(on, term.granted_on, f"admin {email} of {scope} (granted)")


def granted(terms: list[AdminTerm], email: str, on: date) -> None:
    """Apply a grant (called from an event's `change`)."""
    terms.append(AdminTerm(email, on))


def revoked(terms: list[AdminTerm], email: str, on: date) -> None:
    """Apply a revocation (called from an event's `change`). ValueError when
    the e-mail holds no open term: only a ledger written before revocations
    were checked can hold one, and an as-of replay lists it as skipped."""
    term = open_term(terms, email)
    if term is None:
        raise ValueError(f"{email} is not an admin")
    term.revoked_on = on
