"""What the stores of the read models share, with no database attached: a
projection generation and its position, and the clash of two runners."""

from __future__ import annotations

from dataclasses import dataclass


class Moved(Exception):
    """Another runner applied these events first: re-read the positions."""


@dataclass(frozen=True)
class Generation:
    name: str
    generation: int
    position: int
