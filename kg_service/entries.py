"""The checked values of a mapping's entries, as the field reader hands them on.

An `Entry` is one event, statement or correction (or one entity of the register) whose fields passed
their checks, with the line of each field kept, so the compiler and the validator can report a
problem about a value at the line where it was written. Quotes, claims and distinct-from notes are
the structured values a field can hold. These types carry data only: the reader (fieldread.py,
mapping.py, register.py) makes them, the compiler reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Quote:
    """An evidence quote as written in the mapping; `occurrence` picks one of repeated passages.

    `start` is an optional code-point offset the author (or the tool that wrote the mapping) gives;
    when present it must be where the quote is, so a text edited after mapping is caught.
    """

    text: str
    line: int
    occurrence: int = 1
    supports: tuple[str, ...] = ()
    start: int | None = None


@dataclass(frozen=True)
class Distinct:
    """A known event that this one is not, though it looks like it, and why (for the gate)."""

    id: str
    reason: str
    line: int


@dataclass(frozen=True)
class Claim:
    """What a statement claims, as keys: `subject` is `relation` (retaliation-for...) of `object`."""

    subject: str
    relation: str
    object: str
    line: int


@dataclass
class Entry:
    """One event, statement or correction: checked values plus the line of each field."""

    kind: str
    line: int
    values: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.values.get("id") or self.values.get("subject", "")

    def line_of(self, name: str) -> int:
        return self.lines.get(name, self.line)

