"""How users are named in events and answers: by a reference
(`user-3f9a1c0b7d2e`), and once forgotten by its pseudonym
(`forgotten-3f9a1c0b7d2e`); see erasure.py. No events imported, so that
reading the users' keys (ledger/store/subjects.py) loads none."""

from __future__ import annotations

import re

REF_PREFIX = "user-"
PSEUDONYM_PREFIX = "forgotten-"
REF_DIGITS = 12
REF = re.compile(rf"{REF_PREFIX}[0-9a-f]{{{REF_DIGITS}}}")
PSEUDONYM = re.compile(rf"{PSEUDONYM_PREFIX}[0-9a-f]{{{REF_DIGITS}}}")


def pseudonym(ref: str) -> str:
    """How a forgotten user's reference reads: stable, and the same in every
    output."""
    return PSEUDONYM_PREFIX + ref.removeprefix(REF_PREFIX)


def mentions_users(data: object) -> bool:
    """Whether DATA (JSON-ready: dicts, lists, strings) holds any string that
    may name a user (a reference or an encrypted e-mail, both of which carry
    REF_PREFIX): if not, there is nothing to reveal (ledger/store/subjects.py)."""
    if isinstance(data, str):
        return REF_PREFIX in data
    if isinstance(data, dict):
        return any(mentions_users(k) or mentions_users(v) for k, v in data.items())
    if isinstance(data, (list, tuple)):
        return any(mentions_users(v) for v in data)
    return False
