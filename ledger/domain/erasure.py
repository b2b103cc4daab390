"""Users' personal data and the right to erasure (GDPR article 17).

A user is named in events by a reference (`user-3f9a1c0b7d2e`), never by
e-mail; the e-mail itself is stored only encrypted under the user's own key,
outside the event log (ledger/store/subjects.py). Forgetting a user records
`UserForgotten` and destroys the key: the reference then reads as a pseudonym
(`forgotten-3f9a1c0b7d2e`) everywhere, and nothing else changes (seats stay
counted and keep their dates).

Ledgers written before this change name their users by e-mail, in clear, in
immutable events: such a user can't be forgotten without editing the log.
"""

from __future__ import annotations

from ledger.domain.errors import NotFound, RuleViolation
from ledger.domain.partner import Partner, UserForgotten
from ledger.domain.references import (  # noqa: F401 - also imported from here
    PSEUDONYM,
    PSEUDONYM_PREFIX,
    REF,
    REF_DIGITS,
    REF_PREFIX,
    pseudonym,
)
from ledger.domain.state import User
from ledger.domain.write import Write

MIGRATE_HINT = (
    "to erase it, start a new ledger (--db NEW) and record the partner's "
    "current state there (ledger import), then retire this database; see "
    '"Personal data" in the README'
)


def is_ref(name: str) -> bool:
    """A user reference (the name events use), as opposed to an e-mail
    stored in clear by a ledger written before references existed."""
    return REF.fullmatch(name) is not None


def ref_of_pseudonym(name: str) -> str | None:
    """The reference a pseudonym stands for, or None if NAME isn't one."""
    if PSEUDONYM.fullmatch(name) is None:
        return None
    return REF_PREFIX + name.removeprefix(PSEUDONYM_PREFIX)


def already_forgotten(name: str, on: object | None = None) -> RuleViolation:
    when = f" on {on}" if on is not None else ""
    return RuleViolation(
        "forget",
        "already-forgotten",
        f"user {name} was already forgotten{when}: there is nothing left to erase",
    )


def check_forgettable(partner: Partner, ref: str) -> User:
    """A user can be forgotten once, and only if the log holds the e-mail
    encrypted (not in clear, as ledgers before references did)."""
    user = partner.users.get(ref)
    if user is None:
        raise NotFound("user", ref)
    if user.forgotten_on is not None:
        raise already_forgotten(pseudonym(ref), user.forgotten_on)
    if not is_ref(ref):
        raise RuleViolation(
            "forget",
            "stored-in-clear",
            f"user {ref} of partner {partner.partner} was added by a ledger "
            "version that stored e-mails in clear in its events, which are "
            "immutable: forgetting would leave the e-mail in the log; " + MIGRATE_HINT,
        )
    return user


def forget_user(partner: Partner, ref: str, reason: str, write: Write) -> str:
    """Record that the user was forgotten; the caller destroys the key.
    Returns the pseudonym the user reads as from now on."""
    check_forgettable(partner, ref)
    partner.record(UserForgotten, write, user=ref, reason=reason)
    return pseudonym(ref)
