"""PostgreSQL roles for a team: group roles, their privileges, the binding of
login roles to e-mails, and the trigger that makes the event tables
append-only. Run by `ledger db ...` (see ledger/team.py for who may).

Two group roles per database (roles are server-wide, so they are named after
the database): `<db>_ledger_reader` and `<db>_ledger_operator`, a member of
the reader group. Least privilege, matching what the store really does:

- reader: SELECT on the event tables; USAGE and CREATE on the schema, because
  the read models and the audit chain table are owned by the reader group
  and maintained, created and dropped by whichever member runs a report, an
  audit or a rebuild (its connection `SET ROLE`s to the group: see
  ledger/store/identity.py); EXECUTE on `ledger_whoami()`.
- operator: INSERT on the event tables and USAGE on the event id sequence;
  UPDATE on the events table, because eventsourcing's write takes
  `LOCK TABLE ... IN EXCLUSIVE MODE`, which PostgreSQL allows only with
  UPDATE, DELETE or TRUNCATE privilege (the trigger still refuses every
  UPDATE).

The trigger `ledger_append_only` refuses UPDATE, DELETE and TRUNCATE on the
event tables for every role, the owner included; only a superuser (or the
tables' owner, by dropping it) can get past it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.store.whoami import WHOAMI

if TYPE_CHECKING:
    import sqlalchemy as sa

BINDINGS = "ledger_operators"
TRIGGER = "ledger_append_only"
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes

# The trigger function's body: `append_only` compares the installed body with
# this one, so a function replaced by a no-op does not count as protection.
REFUSE_BODY = """
BEGIN
  RAISE EXCEPTION 'the ledger is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'a recorded event is mended by a later event, never edited';
END
"""


@dataclass(frozen=True)
class EventTables:
    """The event store's tables: events (with request records) and, where
    the application keeps snapshots, snapshots."""

    events: str
    snapshots: str | None = None

    @property
    def all(self) -> tuple[str, ...]:
        return (
            (self.events,) if self.snapshots is None else (self.events, self.snapshots)
        )


@dataclass(frozen=True)
class Groups:
    reader: str
    operator: str


@dataclass(frozen=True)
class Facts:
    """Who the connection is, in which database."""

    database: str
    schema: str
    role: str  # session_user: the login role
    owner: str  # the database's owner
    is_owner: bool  # the login role has the owner's privileges (or is superuser)
    groups: Groups


def group_name(database: str, kind: str) -> str:
    """`<db>_ledger_<kind>`; a database name too long for that keeps a
    prefix and a short hash of the whole name, so the name stays unique."""
    name = f"{database}_ledger_{kind}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    suffix = f"_{hashlib.sha256(database.encode()).hexdigest()[:8]}_ledger_{kind}"
    prefix = database.encode()[: MAX_IDENTIFIER - len(suffix)]
    return prefix.decode(errors="ignore") + suffix


def groups_of(database: str) -> Groups:
    return Groups(group_name(database, "reader"), group_name(database, "operator"))


def _sql(statement: str) -> Any:
    """A statement for SQLAlchemy (imported here: the identity a write asks
    for, below, runs on the native store's connection without it)."""
    import sqlalchemy as sa

    return sa.text(statement)


def quote(conn: sa.Connection, name: str) -> str:
    """A role, schema or table name as a quoted identifier (names may hold
    any character)."""
    return conn.dialect.identifier_preparer.quote_identifier(name)


def facts(conn: sa.Connection) -> Facts:
    row = conn.execute(
        _sql(
            "SELECT current_database() AS database, current_schema() AS schema, "
            "session_user AS role, pg_get_userbyid(d.datdba) AS owner, "
            "pg_has_role(session_user, d.datdba, 'MEMBER') AS is_owner "
            "FROM pg_database d WHERE d.datname = current_database()"
        )
    ).one()
    return Facts(
        row.database,
        row.schema,
        row.role,
        row.owner,
        row.is_owner,
        groups_of(row.database),
    )


def role_exists(conn: sa.Connection, role: str) -> bool:
    query = _sql("SELECT 1 FROM pg_roles WHERE rolname = :role")
    return conn.execute(query, {"role": role}).first() is not None


# Whether {role} is a member of {group}, a role that exists; the driver's or
# SQLAlchemy's parameters go in the braces.
MEMBERSHIP = (
    "SELECT pg_has_role({role}, {group}, 'MEMBER') "
    "AND (SELECT true FROM pg_roles WHERE rolname = {group})"
)


def is_member(conn: sa.Connection, role: str, group: str) -> bool:
    query = _sql(MEMBERSHIP.format(role=":role", group=":group"))
    return bool(conn.execute(query, {"role": role, "group": group}).scalar())


def is_set_up(conn: sa.Connection) -> bool:
    query = _sql(f"SELECT to_regprocedure('{WHOAMI}()') IS NOT NULL")
    return bool(conn.execute(query).scalar_one())


# -- setup ------------------------------------------------------------------------


def setup(
    conn: sa.Connection,
    tables: EventTables,
    read_models: list[str],
    owner_email: str | None,
) -> None:
    """Everything `ledger db setup` makes, each step idempotent, in the
    caller's transaction: groups, privileges, the binding table and its
    lookup function, the append-only trigger, and the read models adopted
    by the reader group."""
    found = facts(conn)
    groups = found.groups
    q = {name: quote(conn, name) for name in (groups.reader, groups.operator)}
    for name in (groups.reader, groups.operator):
        if not role_exists(conn, name):
            conn.execute(_sql(f"CREATE ROLE {q[name]} NOLOGIN"))
    _grant_membership(conn, groups.reader, groups.operator)
    # The owner's connections SET ROLE to the reader group for read models.
    _grant_membership(conn, groups.reader, found.role)
    _grant_privileges(conn, found, tables)
    _subject_keys(conn, found)
    _bindings(conn, found)
    _trigger(conn, tables)
    adopt(conn, groups.reader, read_models)
    if owner_email is not None:
        bind(conn, found.role, owner_email)


def _grant_membership(conn: sa.Connection, group: str, member: str) -> None:
    if member == group or is_member(conn, member, group):
        return
    conn.execute(_sql(f"GRANT {quote(conn, group)} TO {quote(conn, member)}"))


def _grant_privileges(conn: sa.Connection, found: Facts, tables: EventTables) -> None:
    reader = quote(conn, found.groups.reader)
    operator = quote(conn, found.groups.operator)
    ev = quote(conn, tables.events)
    every = ", ".join(quote(conn, t) for t in tables.all)
    sequence = conn.execute(
        _sql("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": ev}
    ).scalar_one()
    for statement in (
        f"GRANT CONNECT ON DATABASE {quote(conn, found.database)} TO {reader}",
        f"GRANT USAGE, CREATE ON SCHEMA {quote(conn, found.schema)} TO {reader}",
        f"GRANT SELECT ON {every} TO {reader}",
        f"GRANT INSERT ON {every} TO {operator}",
        # UPDATE only because LOCK TABLE ... IN EXCLUSIVE MODE (taken by
        # eventsourcing's insert) requires it; the trigger refuses any UPDATE.
        f"GRANT UPDATE ON {ev} TO {operator}",
        f"GRANT USAGE ON SEQUENCE {sequence} TO {operator}",
    ):
        conn.execute(_sql(statement))


def _subject_keys(conn: sa.Connection, found: Facts) -> None:
    """Users' keys (ledger/store/subjects.py), made here by the owner so no
    operator owns them: readers read them (reports show e-mails), operators
    add users (a key, and the secret on first use) and forget them (the key
    emptied, an erasure marker added)."""
    from ledger.store.subjects import DDL, KEYS_TABLES

    for statement in DDL:
        conn.execute(_sql(statement.format(bytes="BYTEA")))
    reader = quote(conn, found.groups.reader)
    operator = quote(conn, found.groups.operator)
    every = ", ".join(quote(conn, t) for t in KEYS_TABLES)
    conn.execute(_sql(f"GRANT SELECT ON {every} TO {reader}"))
    conn.execute(_sql(f"GRANT SELECT, INSERT, UPDATE ON {every} TO {operator}"))


def _bindings(conn: sa.Connection, found: Facts) -> None:
    """The table of login role -> e-mail, readable only by its owner, and
    `ledger_whoami()`: the e-mail of the calling login role alone. A binding
    keeps the role's oid too: a role dropped and created again under the
    same name is not bound."""
    reader = quote(conn, found.groups.reader)
    conn.execute(
        _sql(
            f"CREATE TABLE IF NOT EXISTS {BINDINGS} ("
            "role text PRIMARY KEY, role_oid oid NOT NULL, email text NOT NULL, "
            "bound_at timestamptz NOT NULL DEFAULT now())"
        )
    )
    conn.execute(_sql(f"REVOKE ALL ON {BINDINGS} FROM PUBLIC"))
    conn.execute(
        _sql(
            f"CREATE OR REPLACE FUNCTION {WHOAMI}() RETURNS text "
            "LANGUAGE sql STABLE SECURITY DEFINER "
            f"SET search_path = {quote(conn, found.schema)}, pg_temp "
            f"AS $$ SELECT b.email FROM {BINDINGS} b JOIN pg_roles r "
            "ON r.oid = b.role_oid AND r.rolname = b.role "
            "WHERE b.role = session_user $$"
        )
    )
    conn.execute(_sql(f"REVOKE ALL ON FUNCTION {WHOAMI}() FROM PUBLIC"))
    conn.execute(_sql(f"GRANT EXECUTE ON FUNCTION {WHOAMI}() TO {reader}"))


def _trigger(conn: sa.Connection, tables: EventTables) -> None:
    """(Re)install the trigger, enabled, on both event tables: running setup
    again restores a trigger that was dropped or disabled."""
    conn.execute(
        _sql(
            f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $body${REFUSE_BODY}$body$"
        )
    )
    for table in tables.all:
        name = quote(conn, table)
        conn.execute(_sql(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {name}"))
        conn.execute(
            _sql(
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE OR TRUNCATE "
                f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"
            )
        )


def adopt(conn: sa.Connection, group: str, tables: list[str]) -> None:
    """Hand the read-model tables that exist to the reader group, so any
    member can maintain, rebuild and drop them (never "must be owner")."""
    query = _sql(
        "SELECT tablename FROM pg_tables "
        "WHERE schemaname = current_schema() AND tableowner <> :group"
    )
    existing = set(conn.scalars(query, {"group": group}))
    for table in sorted(existing & set(tables)):
        conn.execute(
            _sql(f"ALTER TABLE {quote(conn, table)} OWNER TO {quote(conn, group)}")
        )


def tables(conn: sa.Connection) -> list[str]:
    """The tables of the current schema."""
    query = _sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(conn.scalars(query))


def append_only(conn: sa.Connection, tables: EventTables) -> bool:
    """Whether the ledger's trigger, with its own body, stands enabled on
    every event table and refuses UPDATE, DELETE and TRUNCATE there."""
    refused = 8 | 16 | 32  # TRIGGER_TYPE_DELETE | _UPDATE | _TRUNCATE
    query = _sql(
        "SELECT count(DISTINCT t.tgrelid) FROM pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = ANY(CAST(:tables AS regclass[])) "
        "AND t.tgname = :trigger AND t.tgenabled <> 'D' "
        "AND t.tgtype & :refused = :refused AND p.prosrc = :body"
    )
    names = [quote(conn, t) for t in tables.all]
    if any(
        conn.execute(_sql("SELECT to_regclass(:t)"), {"t": n}).scalar() is None
        for n in names
    ):
        return False
    found = conn.execute(
        query,
        {"tables": names, "trigger": TRIGGER, "refused": refused, "body": REFUSE_BODY},
    ).scalar_one()
    return found == len(names)


# -- members and bindings -----------------------------------------------------------


def grant(conn: sa.Connection, group: str, role: str) -> None:
    _grant_membership(conn, group, role)


def revoke(conn: sa.Connection, group: str, role: str) -> None:
    conn.execute(_sql(f"REVOKE {quote(conn, group)} FROM {quote(conn, role)}"))


def bind(conn: sa.Connection, role: str, email: str) -> None:
    conn.execute(
        _sql(
            f"INSERT INTO {BINDINGS} (role, role_oid, email) "
            "SELECT CAST(:role AS text), oid, :email FROM pg_roles "
            "WHERE rolname = CAST(:role AS name) "
            "ON CONFLICT (role) DO UPDATE SET role_oid = EXCLUDED.role_oid, "
            "email = EXCLUDED.email, bound_at = now()"
        ),
        {"role": role, "email": email},
    )


def unbind(conn: sa.Connection, role: str) -> None:
    query = _sql(f"DELETE FROM {BINDINGS} WHERE role = :role")
    conn.execute(query, {"role": role})


def bindings(conn: sa.Connection, tables: EventTables) -> list[dict[str, Any]]:
    """Every bound login role, its e-mail, when it was bound, and whether it
    may write now (an operator, or the owner of the events table)."""
    query = _sql(
        "SELECT b.role, b.email, b.bound_at, "
        "CASE WHEN r.oid IS NULL THEN false "
        "ELSE has_table_privilege(r.oid, CAST(:events AS text), 'INSERT') END "
        f"AS writes FROM {BINDINGS} b LEFT JOIN pg_roles r ON r.oid = b.role_oid "
        "ORDER BY b.role"
    )
    return [
        {
            "role": row.role,
            "email": row.email,
            "bound_at": row.bound_at.isoformat(),
            "writes": row.writes,
        }
        for row in conn.execute(query, {"events": quote(conn, tables.events)})
    ]
