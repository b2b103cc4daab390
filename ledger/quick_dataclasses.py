"""Dataclasses of the ledger's own modules made without compiling methods
that are seldom called.

Python 3.11 and 3.12 compile each method a dataclass generates from source,
one `exec` per method: for the domain's ~45 frozen event classes (each with
__init__, __repr__, __eq__, __hash__, __setattr__ and __delattr__) that is a
large part of a CLI command's start-up, and most of those methods are never
called in a run (stored events are decoded without __init__; a frozen
event's __setattr__ only ever raises). Here __repr__, __eq__, __hash__,
__setattr__ and __delattr__ of a dataclass defined in ledger/, projections/
or commands/ are compiled on their first call instead: the very function
dataclasses would have made, compiled from the same source, so behaviour is
unchanged. __init__ is made as usual (its signature is read at once).
Python 3.13 compiles a class's methods in one go, and is left as it is.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

OWN = ("ledger.", "projections.", "commands.")
DEFERRED = frozenset({"__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"})


def install() -> None:
    """Defer those methods of every dataclass our modules define from now on
    (once per process; a no-op where dataclasses has no `_create_fn`)."""
    create = getattr(dataclasses, "_create_fn", None)
    if create is None or getattr(create, "deferring", False):
        return

    def create_fn(name: str, args: Any, body: Any, **kwargs: Any) -> Any:
        module = str((kwargs.get("globals") or {}).get("__name__", ""))
        if name not in DEFERRED or not module.startswith(OWN):
            return create(name, args, body, **kwargs)
        made: list[Any] = []

        def method(*call_args: Any, **call_kwargs: Any) -> Any:
            if not made:
                made.append(create(name, args, body, **kwargs))
                made[0].__qualname__ = method.__qualname__
            return made[0](*call_args, **call_kwargs)

        method.__name__ = name
        return method

    create_fn.deferring = True  # type: ignore[attr-defined]
    dataclasses._create_fn = create_fn  # type: ignore[attr-defined]


if sys.version_info < (3, 13):
    install()
