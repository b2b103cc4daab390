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
