"""A ledger shared by a team on PostgreSQL: who a connection is, and the use
cases of `ledger db` (setup, readers, operators), which only the database's
owner may run.

`Team` asks the store (ledger/store/identity.py, ledger/store/roles.py) and
decides; the write pipeline asks it for the actor of each write. A write
asks nothing else: it loads only ledger/store/whoami.py, and the methods
that need the roles or SQLAlchemy import them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import InvalidInput, NotFound, RuleViolation
from ledger.domain.identity import Identity
from ledger.domain.values import EMAIL
from ledger.store.whoami import who_is_on

if TYPE_CHECKING:
    from ledger.store.identity import Connection, Engine
    from ledger.store.pg_database import Database
    from ledger.store.roles import EventTables, Facts


def bound_email(email: str) -> str:
    """The e-mail a login role writes as: an e-mail within its bound,
    lower-cased (ledger.domain.values.EMAIL)."""
    return EMAIL.parse(email, "email")


class Team:
    """ENGINE: SQLAlchemy's engine of the ledger and TABLES: its event tables,
    each made on first use; DATABASE: the native store's connection, if any,
    on which a write asks who it is (so a write never loads SQLAlchemy)."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        tables: Callable[[], EventTables],
        database: Database | None = None,
    ) -> None:
        self._engine = engine
        self._tables = tables
        self.database = database
        self._identity: Identity | None = None
        self._read_models: Engine | None = None

    @classmethod
    def of(cls, app: Any) -> Team:
        """The team of an eventsourcing application's event store."""

        def tables() -> EventTables:
            from ledger.store import identity as store_identity

            return store_identity.event_tables(app)

        return cls(lambda: app.event_rows.engine, tables, app.pg_database)

    @cached_property
    def engine(self) -> Engine:
        return self._engine()

    @cached_property
    def tables(self) -> EventTables:
        return self._tables()

    # -- who writes --------------------------------------------------------------

    def identity(self) -> Identity:
        """Who this connection is (asked once per application)."""
        if self._identity is None:
            if self.database is not None:
                self._identity = who_is_on(self.database)
            else:
                from ledger.store import identity as store_identity

                self._identity = store_identity.who_is_through(self.engine)
        return self._identity

    def read_model_engine(self) -> Engine:
        """The engine for the read models and the chain table."""
        from ledger.store import identity as store_identity

        if self._read_models is None:
            self._read_models = store_identity.read_model_engine(
                self.engine, self.identity()
            )
        return self._read_models

    def protection(self) -> dict[str, Any]:
        """`{"identity": "database"|"self-declared", "append_only": bool}`."""
        from ledger.store import identity as store_identity

        return store_identity.protection(self.engine, self.tables, self.identity())

    # -- ledger db ... (owner only) ------------------------------------------------

    def setup(
        self, owner_email: str | None, read_models: Callable[[str], bool]
    ) -> dict[str, Any]:
        """Groups, privileges, bindings, the append-only trigger; the read
        models (tables for which `read_models` says yes, and the chain
        table) handed to the reader group. Idempotent."""
        from ledger.store import roles
        from ledger.store.chain_table import CHAIN_TABLE

        email = bound_email(owner_email) if owner_email is not None else None
        with self._owner() as (conn, facts):
            adopted = [
                t for t in roles.tables(conn) if read_models(t) or t == CHAIN_TABLE
            ]
            roles.setup(conn, self.tables, adopted, email)
            protected = roles.append_only(conn, self.tables)
            owner_binding = [
                b["email"]
                for b in roles.bindings(conn, self.tables)
                if b["role"] == facts.role
            ]
        self._identity = None
        return {
            "database": facts.database,
            "schema": facts.schema,
            "owner": facts.role,
            "owner_email": owner_binding[0] if owner_binding else None,
            "reader_role": facts.groups.reader,
            "operator_role": facts.groups.operator,
            "identity": "database",
            "append_only": protected,
        }

    def add_reader(self, role: str) -> dict[str, Any]:
        from ledger.store import roles

        with self._owner(ready=True) as (conn, facts):
            self._check_role(conn, role)
            roles.grant(conn, facts.groups.reader, role)
        return {"role": role, "reader": True, "group": facts.groups.reader}

    def remove_reader(self, role: str) -> dict[str, Any]:
        from ledger.store import roles

        with self._owner(ready=True) as (conn, facts):
            self._check_role(conn, role)
            roles.revoke(conn, facts.groups.reader, role)
            still = roles.is_member(conn, role, facts.groups.reader)
        answer = {"role": role, "reader": still, "group": facts.groups.reader}
        if still:
            answer["note"] = (
                f"{role} still reads as an operator or through another group: "
                "`ledger db operator remove` it too"
            )
        return answer

    def add_operator(self, role: str, email: str) -> dict[str, Any]:
        from ledger.store import roles

        address = bound_email(email)
        with self._owner(ready=True) as (conn, facts):
            self._check_role(conn, role)
            roles.grant(conn, facts.groups.operator, role)
            roles.bind(conn, role, address)
        return {"role": role, "email": address, "group": facts.groups.operator}

    def remove_operator(self, role: str) -> dict[str, Any]:
        from ledger.store import roles

        with self._owner(ready=True) as (conn, facts):
            self._check_role(conn, role)
            roles.revoke(conn, facts.groups.operator, role)
            roles.unbind(conn, role)
        return {"role": role, "email": None, "group": facts.groups.operator}

    def operators(self) -> list[dict[str, Any]]:
        from ledger.store import roles

        with self._owner(ready=True) as (conn, _facts):
            return roles.bindings(conn, self.tables)

    # -- checks --------------------------------------------------------------------

    @contextmanager
    def _owner(self, ready: bool = False) -> Iterator[tuple[Connection, Facts]]:
        """A transaction on the owner's connection, or refuse (rule admin)."""
        from ledger.store import identity as store_identity
        from ledger.store import roles

        if not store_identity.is_postgresql(self.engine):
            raise InvalidInput(
                "`ledger db` manages PostgreSQL roles; this ledger is on "
                f"{self.engine.dialect.name}, whose file is protected by its file "
                "permissions, not by the ledger"
            )
        with self.engine.begin() as conn:
            facts = roles.facts(conn)
            if not facts.is_owner:
                raise RuleViolation(
                    "admin",
                    "not-the-owner",
                    f"only the owner of database {facts.database} "
                    f"({facts.owner}) manages its ledger's roles; the PostgreSQL "
                    f"role {facts.role} is not the owner",
                )
            if ready and not roles.is_set_up(conn):
                raise RuleViolation(
                    "admin",
                    "not-set-up",
                    f"database {facts.database} has no ledger roles yet: run "
                    "`ledger db setup` first",
                )
            yield conn, facts

    @staticmethod
    def _check_role(conn: Connection, role: str) -> None:
        from ledger.store import roles

        if not roles.role_exists(conn, role):
            raise NotFound("PostgreSQL role", role)
