"""Who a PostgreSQL connection is: its login role (`session_user`) and, once
`ledger db setup` ran, the e-mail bound to that role, through the SECURITY
DEFINER function setup made (ledger/store/roles.py); ledger/domain/identity.py
decides what follows.

Plain statements without parameters, so any connection runs them: a write
asks on the native store's connection and loads nothing else of the team's
machinery, nor SQLAlchemy; `ledger db` and the audits ask through
SQLAlchemy (ledger/store/identity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ledger.domain.identity import DATABASE, SELF_DECLARED, Identity

if TYPE_CHECKING:
    from ledger.store.pg_database import Database

WHOAMI = "ledger_whoami"
SESSION = f"SELECT session_user, to_regprocedure('{WHOAMI}()') IS NOT NULL"
MAY_ASK_WHOAMI = f"SELECT has_function_privilege('{WHOAMI}()', 'EXECUTE')"
EMAIL_OF = f"SELECT {WHOAMI}()"

# One row of a statement without parameters.
Ask = Callable[[str], Sequence[Any]]


def who_is(ask: Ask) -> Identity:
    """The identity of the connection `ask` runs on: self-declared before
    `ledger db setup`; else the login role and the e-mail bound to it (None
    when unbound, or when the role is not even a reader)."""
    role, ready = ask(SESSION)
    if not ready:
        return Identity(SELF_DECLARED, role)
    email = ask(EMAIL_OF)[0] if ask(MAY_ASK_WHOAMI)[0] else None
    return Identity(DATABASE, role, email)


def who_is_on(database: Database) -> Identity:
    """`who_is` on the native store's connection."""
    return who_is(lambda statement: database.rows(statement)[0])
