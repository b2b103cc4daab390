"""Who this connection is, as the database says, and the connection that
maintains the read models.

SQLite has no logins: actors are self-declared. On PostgreSQL the login role
is `session_user`; once `ledger db setup` ran, the e-mail bound to it (if
any) is the actor of its writes (ledger/domain/identity.py decides).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledger.domain.identity import DATABASE, SELF_DECLARED, Identity
from ledger.store import roles

# The connection types that ledger/team.py names in its signatures.
Engine = sa.Engine
Connection = sa.Connection


def event_tables(app: Any) -> tuple[sa.Engine, roles.EventTables]:
    """The engine and the event tables of an eventsourcing application
    (eventsourcing_sqlalchemy's recorders keep their SQLAlchemy table as
    `events_record_cls.__table__`; `snapshots` is None without snapshots)."""
    events = app.event_rows.table.name
    snapshots = None
    if app.snapshots is not None:
        recorder = app.snapshots.recorder
        if hasattr(recorder, "events_record_cls"):
            snapshots = recorder.events_record_cls.__table__.name
        else:  # the embedded store's own recorder (ledger/store/sqlite.py)
            snapshots = recorder.table
    return app.event_rows.engine, roles.EventTables(events, snapshots)


def is_postgresql(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


def who_is(engine: sa.Engine) -> Identity:
    """The connection's identity: self-declared on SQLite and before `ledger
    db setup`; else the login role and the e-mail bound to it (None when
    unbound, or when the role is not even a reader)."""
    if not is_postgresql(engine):
        return Identity(SELF_DECLARED)
    with engine.connect() as conn:
        role, ready = roles.session(conn)
        if not ready:
            return Identity(SELF_DECLARED, role)
        email = roles.email_of(conn) if roles.may_ask_whoami(conn) else None
    return Identity(DATABASE, role, email)


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
