"""Users' keys: each user's e-mail encrypted under a key of its own, in tables
outside the event log and outside its hash chain (crypto-shredding).

- `ledger_subject_keys`: one row per user reference (ledger/domain/erasure.py):
  its partner, a keyed hash of the e-mail for lookups (HMAC-SHA256 under the
  ledger's secret, so a guessed e-mail can't be tested without that secret),
  the user's AES-256-GCM key, and the e-mail's ciphertext (the same token the
  user's `UserAdded` event holds, kept here so views decrypt by reference).
  Forgetting the user empties the key, the lookup and the ciphertext: what is
  left is the reference and the partner, which name no one.
- `ledger_subject_erasures`: a keyed hash of each forgotten (partner, e-mail),
  linked to no reference, so forgetting an e-mail twice is refused rather than
  taken for an unknown user.
- `ledger_subject_secret`: the HMAC secret, made on first use.

E-mails appear in events and answers only as tokens `aesgcm:REF:BASE64`
(nonce and ciphertext, the reference bound as associated data) or as the
reference itself; `reveal` turns both back into the e-mail while the key
exists, and into the pseudonym once it is gone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.domain.references import REF_DIGITS, REF_PREFIX, pseudonym
from ledger.store.sqlite_log import sqlite_path

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ledger.store.pg_database import Database

TOKEN_PREFIX = "aesgcm:"
_REF = rf"{REF_PREFIX}[0-9a-f]{{{REF_DIGITS}}}"
# A token first, so a reference inside a token is not taken on its own.
_NAMES = re.compile(rf"{TOKEN_PREFIX}({_REF}):([A-Za-z0-9_=-]+)|({_REF})")

# One DDL for both databases but the bytes type (BLOB on SQLite, BYTEA on
# PostgreSQL). SQLite runs it through the standard library's sqlite3, so a
# write on an SQLite ledger never imports SQLAlchemy (ledger/store/sqlite.py).
DDL = (
    "CREATE TABLE IF NOT EXISTS ledger_subject_keys ("
    " subject VARCHAR(40) PRIMARY KEY, partner TEXT NOT NULL,"
    " lookup VARCHAR(64) UNIQUE, key {bytes}, email TEXT)",
    "CREATE TABLE IF NOT EXISTS ledger_subject_erasures ("
    " marker VARCHAR(64) PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS ledger_subject_secret ("
    " id INTEGER PRIMARY KEY, secret {bytes} NOT NULL)",
)

KEYS_TABLES = (
    "ledger_subject_keys",
    "ledger_subject_erasures",
    "ledger_subject_secret",
)

Run = Callable[..., list[tuple[Any, ...]]]
# `:name` parameters (sqlite3's and SQLAlchemy's style) for psycopg: %(name)s
_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")
MAX_PARAMETERS = 500  # per query, below SQLite's bound-parameter limit


class SubjectConflict(Exception):
    """Another write added the same e-mail to the same partner at the same
    moment."""


def _is_integrity_error(error: Exception) -> bool:
    """A unique key clash, from sqlite3, SQLAlchemy, psycopg or eventsourcing
    (the native PostgreSQL store's)."""
    return isinstance(error, sqlite3.IntegrityError) or any(
        kind.__name__ == "IntegrityError" for kind in type(error).__mro__
    )


@dataclass(frozen=True)
class NewSubject:
    """A user's key made in memory, stored only when its write is saved."""

    partner: str
    email: str
    ref: str
    key: bytes
    token: str


def encrypt(key: bytes, ref: str, email: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, email.encode(), ref.encode())
    return f"{TOKEN_PREFIX}{ref}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(key: bytes, ref: str, sealed: str) -> str | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(sealed)
        return AESGCM(key).decrypt(raw[:12], raw[12:], ref.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def new_key() -> tuple[bytes, str]:
    """A fresh AES-256 key and the reference derived from it."""
    key = os.urandom(32)
    digest = hmac.new(key, b"user reference", hashlib.sha256).hexdigest()
    return key, REF_PREFIX + digest[:REF_DIGITS]


class Subjects:
    """The key tables of one ledger database (created on first use)."""

    def __init__(
        self,
        url: str,
        engine: Callable[[], sa.Engine],
        database: Database | None = None,
    ) -> None:
        self.path = sqlite_path(url)
        # PostgreSQL: the native store's connection, or else SQLAlchemy's
        # engine, made on first use
        self.database = database
        self._engine = engine
        self._ready = False
        self._secret: bytes | None = None

    @contextmanager
    def _transaction(self) -> Iterator[Run]:
        """One transaction; yields `run(sql, params)` -> rows."""
        if self.path is not None:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                with conn:

                    def run_sqlite(sql: str, params: Any = None) -> list[Any]:
                        if isinstance(params, list):  # many rows: one statement
                            return conn.executemany(sql, params).fetchall()
                        return conn.execute(sql, params or {}).fetchall()

                    yield run_sqlite
            finally:
                conn.close()
            return
        if self.database is not None:
            with self.database.transaction() as cursor:

                def run_pg(sql: str, params: Any = None) -> list[Any]:
                    statement = _PARAMETER.sub(r"%(\1)s", sql)
                    if isinstance(params, list):  # many rows: one statement each
                        cursor.executemany(statement, params)
                        return []
                    cursor.execute(statement, params or None)
                    return cursor.fetchall() if cursor.description else []

                yield run_pg
            return
        import sqlalchemy as sa

        with self._engine().begin() as connection:

            def run_sa(sql: str, params: Any = None) -> list[Any]:
                result = connection.execute(sa.text(sql), params or {})
                return [tuple(r) for r in result] if result.returns_rows else []

            yield run_sa

    def _ensure(self) -> None:
        if self._ready:
            return
        if self.path is None and self._all_exist():
            self._ready = True  # PostgreSQL: one look-up, no DDL on every write
            return
        kind = "BLOB" if self.path is not None else "BYTEA"
        for statement in DDL:
            try:
                with self._transaction() as run:
                    run(statement.format(bytes=kind))
            except Exception as error:
                # PostgreSQL: another process created it at the same moment
                # (a clash in the catalog, or "type ... already exists")
                if not (_is_integrity_error(error) or self._all_exist()):
                    raise
        self._ready = True

    def _all_exist(self) -> bool:
        """PostgreSQL: whether every key table is there (on the search path)."""
        if self.path is not None:
            return False
        checks = " AND ".join(f"to_regclass('{t}') IS NOT NULL" for t in KEYS_TABLES)
        with self._transaction() as run:
            return bool(run(f"SELECT {checks}")[0][0])

    def _run(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self._ensure()
        with self._transaction() as run:
            return run(sql, params)

    def _hmac(self, *parts: str) -> str:
        if self._secret is None:
            self._secret = self._load_secret()
        text = "\0".join(parts).encode()
        return hmac.new(self._secret, text, hashlib.sha256).hexdigest()

    def _load_secret(self) -> bytes:
        query = "SELECT secret FROM ledger_subject_secret WHERE id = 1"
        found = self._run(query)
        if not found:
            try:
                self._run(
                    "INSERT INTO ledger_subject_secret (id, secret) VALUES (1, :s)",
                    {"s": os.urandom(32)},
                )
            except Exception as error:
                if not _is_integrity_error(error):
                    raise  # else another process made it first: read theirs
            found = self._run(query)
        return bytes(found[0][0])

    def lookup(self, partner: str, email: str) -> str:
        return self._hmac("user", partner, email)

    def _erasure(self, partner: str, email: str) -> str:
        return self._hmac("erased", partner, email)

    # -- users ------------------------------------------------------------------

    def find(self, partner: str, email: str) -> str | None:
        """The reference of PARTNER's user EMAIL, if it has a key."""
        found = self._run(
            "SELECT subject FROM ledger_subject_keys WHERE lookup = :l",
            {"l": self.lookup(partner, email)},
        )
        return str(found[0][0]) if found else None

    def find_many(
        self, users: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, bytes | None, str]]:
        """`find` for many (partner, e-mail) pairs in few queries: each pair
        that has a key, with its reference, key and e-mail token."""
        by_lookup = {
            self.lookup(partner, email): (partner, email) for partner, email in users
        }
        found = {}
        for rows in self._by_lookups(sorted(by_lookup)):
            for subject, lookup, key, email in rows:
                found[by_lookup[lookup]] = (
                    str(subject),
                    None if key is None else bytes(key),
                    email or "",
                )
        return found

    def _by_lookups(self, lookups: list[str]) -> Iterator[list[tuple[Any, ...]]]:
        """The key rows of these lookups: on PostgreSQL in one query with an
        array (a long IN list costs more to prepare than to run), on SQLite
        in queries of at most MAX_PARAMETERS."""
        query = "SELECT subject, lookup, key, email FROM ledger_subject_keys WHERE "
        if self.path is None:
            yield self._run(query + "lookup = ANY(:lookups)", {"lookups": lookups})
            return
        for start in range(0, len(lookups), MAX_PARAMETERS):
            chunk = lookups[start : start + MAX_PARAMETERS]
            names = {f"l{n}": lookup for n, lookup in enumerate(chunk)}
            in_list = ", ".join(":" + name for name in names)
            yield self._run(f"{query}lookup IN ({in_list})", names)

    def was_forgotten(self, partner: str, email: str) -> bool:
        return bool(
            self._run(
                "SELECT marker FROM ledger_subject_erasures WHERE marker = :m",
                {"m": self._erasure(partner, email)},
            )
        )

    def new(self, partner: str, email: str) -> NewSubject:
        key, ref = new_key()
        return NewSubject(partner, email, ref, key, encrypt(key, ref, email))

    def store(self, subjects: Iterable[NewSubject]) -> None:
        """Keep the keys of users about to be added, before their events are
        saved (a key without events names no one in the log, and a later
        `user add` of the same e-mail takes it up)."""
        rows = [
            {
                "subject": s.ref,
                "partner": s.partner,
                "lookup": self.lookup(s.partner, s.email),
                "key": s.key,
                "email": s.token,
            }
            for s in subjects
        ]
        if not rows:
            return
        self._ensure()
        try:
            with self._transaction() as run:
                run(
                    "INSERT INTO ledger_subject_keys "
                    "(subject, partner, lookup, key, email) "
                    "VALUES (:subject, :partner, :lookup, :key, :email)",
                    rows,
                )
        except Exception as error:
            if _is_integrity_error(error):
                raise SubjectConflict() from None
            raise

    def destroy(self, partner: str, ref: str, email: str | None) -> None:
        """Forget: the key, the lookup and the ciphertext go; when the e-mail
        is known, a keyed marker records that it was forgotten."""
        marker = self._erasure(partner, email) if email is not None else None
        self._ensure()
        with self._transaction() as run:
            run(
                "UPDATE ledger_subject_keys SET key = NULL, lookup = NULL, "
                "email = NULL WHERE subject = :s",
                {"s": ref},
            )
            if marker is not None and not run(
                "SELECT marker FROM ledger_subject_erasures WHERE marker = :m",
                {"m": marker},
            ):
                run(
                    "INSERT INTO ledger_subject_erasures (marker) VALUES (:m)",
                    {"m": marker},
                )

    def keys_of(self, refs: Iterable[str]) -> dict[str, tuple[bytes | None, str]]:
        """Key and e-mail token of each reference that is a user's (the key
        None once the user was forgotten)."""
        wanted = sorted(set(refs))
        if not wanted:
            return {}
        names = {f"r{n}": ref for n, ref in enumerate(wanted)}
        found = self._run(
            "SELECT subject, key, email FROM ledger_subject_keys "
            f"WHERE subject IN ({', '.join(':' + n for n in names)})",
            names,
        )
        return {
            str(subject): (None if key is None else bytes(key), email or "")
            for subject, key, email in found
        }

    # -- reading ----------------------------------------------------------------

    def reveal(
        self, data: Any, extra: dict[str, tuple[bytes | None, str]] | None = None
    ) -> Any:
        """DATA (JSON-ready: dicts, lists, strings) with each user reference
        and each e-mail token replaced by the e-mail while the user's key
        exists, and by the pseudonym once it is gone (a string that only
        looks like a reference stays as it is). EXTRA: keys not stored
        yet (a batch's new users)."""
        strings: list[str] = []
        _strings(data, strings)
        refs = {
            m.group(1) or m.group(3)
            for text in strings
            if REF_PREFIX in text
            for m in _NAMES.finditer(text)
        }
        if not refs:
            return data
        known = {**self.keys_of(refs), **(extra or {})}

        def name(match: re.Match[str]) -> str:
            ref = match.group(1) or match.group(3)
            held = known.get(ref)
            if held is None:
                return match.group(0)  # not a user's reference after all
            key, token = held
            if key is None:
                return pseudonym(ref)
            sealed = match.group(2) if match.group(1) else token.rpartition(":")[2]
            return decrypt(key, ref, sealed) or pseudonym(ref)

        def swap(text: str) -> str:
            return _NAMES.sub(name, text) if REF_PREFIX in text else text

        return _map(data, swap)


def _strings(data: Any, out: list[str]) -> None:
    if isinstance(data, str):
        out.append(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            _strings(key, out)
            _strings(value, out)
    elif isinstance(data, (list, tuple)):
        for value in data:
            _strings(value, out)


def _map(data: Any, swap: Any) -> Any:
    if isinstance(data, str):
        return swap(data)
    if isinstance(data, dict):
        return {
            swap(k) if isinstance(k, str) else k: _map(v, swap) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_map(v, swap) for v in data]
    if isinstance(data, tuple):
        return tuple(_map(v, swap) for v in data)
    return data
