"""Who makes a write: the actor a caller declares, or the one the database
vouches for.

On SQLite, and on a PostgreSQL ledger where `ledger db setup` never ran, the
actor is self-declared (`--actor`). Once `ledger db setup` ran, the database
authenticates people: the actor of a write is the e-mail bound to the
connection's login role (`ledger db operator add ROLE EMAIL`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.errors import InvalidInput, RuleViolation
from ledger.domain.values import EMAIL

DATABASE = "database"
SELF_DECLARED = "self-declared"


@dataclass(frozen=True)
class Identity:
    """What the store says about the connection that writes."""

    kind: str = SELF_DECLARED  # DATABASE or SELF_DECLARED
    role: str | None = None  # the PostgreSQL login role (session_user)
    email: str | None = None  # the e-mail bound to that role (kind DATABASE)


def actor_of_write(identity: Identity, declared: str | None) -> str:
    """The actor of a write (rule `admin`): as declared when actors are
    self-declared; else the e-mail bound to the login role, which a declared
    actor must match, and without which the role cannot write at all."""
    if identity.kind != DATABASE:
        if not declared:
            raise InvalidInput(
                "this write needs an actor: pass --actor EMAIL or set LEDGER_ACTOR"
            )
        return declared
    if identity.email is None:
        raise RuleViolation(
            "admin",
            "not-an-operator",
            f"the PostgreSQL role {identity.role} has no e-mail bound to it: it "
            "can run reports and audits but not write; ask the ledger's owner "
            f"for `ledger db operator add {identity.role} EMAIL`",
        )
    if declared and EMAIL.parse(declared, "actor") != identity.email.lower():
        raise RuleViolation(
            "admin",
            "actor-is-not-the-login",
            f"--actor {declared} is refused: the PostgreSQL role {identity.role} "
            f"writes as {identity.email}, the e-mail bound to it",
        )
    return identity.email


def default_actor(identity: Identity, declared: str | None) -> str | None:
    """The actor a command that writes many lines (an import) starts from:
    the declared one when actors are self-declared (lines may name their
    own), else the one the database vouches for, checked as for any write."""
    if identity.kind != DATABASE:
        return declared
    return actor_of_write(identity, declared)
