"""Who this connection is, as the database says, and the connection that
maintains the read models.

SQLite has no logins: actors are self-declared. On PostgreSQL the login role
is `session_user`; once `ledger db setup` ran, the e-mail bound to it (if
any) is the actor of its writes (ledger/domain/identity.py decides). A write
asks on the native store's connection (ledger/store/whoami.py), without
SQLAlchemy; the team's other questions go through SQLAlchemy's engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.domain.identity import DATABASE, SELF_DECLARED, Identity
from ledger.store import roles
from ledger.store.whoami import who_is

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ledger.store.pg_database import Database

    # The connection types that ledger/team.py names in its signatures.
    Engine = sa.Engine
    Connection = sa.Connection


def event_tables(app: Any) -> roles.EventTables:
    """The event tables of an eventsourcing application, by its recorders
    (eventsourcing_sqlalchemy's name theirs `events_table_name`, the native
    stores' `table`; `snapshots` is None without snapshots)."""

    def name(recorder: Any) -> str:
        return str(getattr(recorder, "events_table_name", None) or recorder.table)

    snapshots = None if app.snapshots is None else name(app.snapshots.recorder)
    return roles.EventTables(name(app.recorder), snapshots)


def is_postgresql(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


def who_is_through(engine: sa.Engine) -> Identity:
    """Who the engine's connections are (ledger/store/whoami.py), asked
    through SQLAlchemy: self-declared on SQLite."""
    if not is_postgresql(engine):
        return Identity(SELF_DECLARED)
    import sqlalchemy as sa

    with engine.connect() as conn:
        return who_is(lambda statement: conn.execute(sa.text(statement)).one())


def read_model_engine(engine: sa.Engine, identity: Identity) -> sa.Engine:
    """The engine that maintains the read models and the chain table.

    Once `ledger db setup` ran, those tables belong to the reader group, and
    every transaction of this engine begins with `SET LOCAL ROLE` to it:
    tables it creates (a rebuild's new generation) belong to the group as
    well, so whichever reader or operator runs next can maintain and drop
    them. It shares the event store's pool and settings; the role ends with
    each transaction. Otherwise (and for a login role outside the group) it
    is the event store's own engine.
    """
    if identity.kind != DATABASE:
        return engine
    import sqlalchemy as sa

    with engine.connect() as conn:
        group = roles.facts(conn).groups.reader
        if not roles.is_member(conn, identity.role or "", group):
            return engine
        statement = f"SET LOCAL ROLE {roles.quote(conn, group)}"
    maintainer = engine.execution_options(ledger_read_models=True)

    @sa.event.listens_for(maintainer, "begin")
    def _set_role(conn: sa.Connection) -> None:
        conn.exec_driver_sql(statement)

    return maintainer


def read_model_begin(database: Database, identity: Identity) -> list[Any] | None:
    """`read_model_engine` on the native store's connection, for a report
    that reads the read models through psycopg alone: the statements each
    of its transactions begins with (none before `ledger db setup`; else
    `SET LOCAL ROLE` to the reader group), or None for a login role outside
    the group, whose reads are left to SQLAlchemy's engine (it answers, or
    refuses, as it always did)."""
    if identity.kind != DATABASE:
        return []
    from psycopg import sql

    ((name,),) = database.rows("SELECT current_database()")
    group = roles.groups_of(name).reader
    member = roles.MEMBERSHIP.format(role="%(role)s", group="%(group)s")
    ((is_member,),) = database.rows(member, {"role": identity.role, "group": group})
    if not is_member:
        return None
    return [sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(group))]


def protection(
    engine: sa.Engine, tables: roles.EventTables, identity: Identity
) -> dict[str, Any]:
    """What `audit verify` reports about who writes and whether the event
    tables refuse edits."""
    if not is_postgresql(engine):
        return {"identity": identity.kind, "append_only": False}
    with engine.connect() as conn:
        protected = roles.append_only(conn, tables)
    return {"identity": identity.kind, "append_only": protected}
