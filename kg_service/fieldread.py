"""Check the fields of one YAML mapping node against the field registry, collecting every error.

`SchemaReader` reads a node of a mapping file (an event, a statement, a correction, an article
block) or of the entity register, field by field, as each field's `FieldSpec` says (fields.py):
known fields only, required ones present, values of the right type (keys, dates, durations, URLs,
Wikidata IDs, quotes, claims...). It collects errors instead of stopping at the first, each at
its line and field, so one run shows the author all of them, and it returns `Entry`s (entries.py)
that keep the line of every field. Which sections a file has is its reader's business (mapping.py,
register.py); what the values mean is for the compiler and the validator.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .dates import is_date_text
from .entries import Claim, Distinct, Entry, Quote
from .errors import Location, MappingError
from .fields import (
    BOOL,
    CHOICE,
    COUNT,
    DATE,
    DECIMAL,
    DISTINCT,
    DURATION,
    KEY,
    KEYS,
    QUOTES,
    TEXT,
    TEXTS,
    URL,
    URLS,
    WIKIDATA,
    FieldSpec,
)
from .vocab import CLAIM_RELATIONS, is_key
from .wellformed import is_web_iri

_DURATION = re.compile(r"P(?=.)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?")
_WIKIDATA = re.compile(r"Q[1-9][0-9]*")


class SchemaReader:
    """Collects schema errors instead of stopping at the first, so one run shows all of them."""

    def __init__(self, path: Path):
        self.path = path
        self.errors: list[MappingError] = []

    def error(self, line: int, where: str, message: str) -> None:
        self.errors.append(MappingError(message, Location(str(self.path), line, None, where)))

    def entry(self, node: Any, kind: str, where: str, specs: dict[str, FieldSpec], line: int,
              nested: tuple[str, ...] = ()) -> Entry | None:
        """Check one mapping of fields against `specs`; fields named in `nested` are the caller's."""
        if not isinstance(node, CommentedMap):
            self.error(line, where, f"expected a mapping of fields, got {describe(node)}")
            return None
        entry = Entry(kind, node.lc.line + 1 if node.lc.line is not None else line, {})
        for name, value in node.items():
            fline = key_line(node, name, entry.line)
            entry.lines[str(name)] = fline
            if name in nested:
                continue
            spec = specs.get(str(name))
            if spec is None:
                self.error(fline, f"{where}.{name}", f"unknown field; known fields: {', '.join(sorted(specs))}")
                continue
            checked = self.value(value, spec, f"{where}.{name}", fline)
            if checked is not None:
                entry.values[str(name)] = checked
        for name, spec in specs.items():
            if spec.required and name not in node:
                self.error(entry.line, f"{where}.{name}", "required field is missing")
        return entry

    def value(self, value: Any, spec: FieldSpec, where: str, line: int) -> Any:
        kind = spec.type
        single = (KEY, TEXT, CHOICE, DATE, DURATION, URL, WIKIDATA)
        if kind in single and isinstance(value, (CommentedMap, CommentedSeq)):
            self.error(line, where, f"expected a single value, got {describe(value)}")
            return None
        if kind == KEY:
            return self.key(value, where, line)
        if kind == KEYS:
            return self.each(value, where, line, self.key)
        if kind == TEXT:
            return self.text(value, where, line)
        if kind == TEXTS:
            return self.each(value, where, line, self.text)
        if kind == URL:
            return self.url(value, where, line)
        if kind == URLS:
            return self.each(value, where, line, self.url)
        if kind == WIKIDATA:
            if not isinstance(value, str) or not _WIKIDATA.fullmatch(value):
                self.error(line, where, f"{value!r} is not a Wikidata ID such as Q17")
                return None
            return value
        if kind == CHOICE:
            if str(value) not in spec.choices:
                self.error(line, where, f"{value!r} is not one of: {', '.join(spec.choices)}")
                return None
            return str(value)
        if kind == DATE:
            text = value.isoformat() if isinstance(value, dt.date) else str(value)
            if not is_date_text(text):
                self.error(line, where, f"{text!r} is not a date: write YYYY-MM-DD, YYYY-MM or YYYY")
                return None
            return text
        if kind == DURATION:
            if not isinstance(value, str) or not _DURATION.fullmatch(value):
                self.error(line, where, f"{value!r} is not an ISO 8601 duration such as PT50M")
                return None
            return value
        if kind in (COUNT, DECIMAL):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                    kind == COUNT and not isinstance(value, int)):
                self.error(line, where, f"{value!r} is not a {'whole ' if kind == COUNT else ''}number >= 0")
                return None
            return value
        if kind == BOOL:
            if not isinstance(value, bool):
                self.error(line, where, f"{value!r} is not true or false")
                return None
            return value
        if kind == QUOTES:
            return self.quotes(value, where, line)
        if kind == "claim":
            return self.claim(value, where, line)
        if kind == "correction":  # typed by the field it corrects: see `correction_value`
            return value
        if kind == DISTINCT:
            return self.distinct(value, where, line)
        raise AssertionError(f"unknown field type {kind}")  # a bug in the schema table, not user input

    def key(self, value: Any, where: str, line: int) -> str | None:
        if not isinstance(value, str) or not is_key(value):
            self.error(line, where, f"{value!r} is not a key: use lowercase letters, digits, - and _")
            return None
        return value

    def url(self, value: Any, where: str, line: int) -> str | None:
        if not isinstance(value, str) or not is_web_iri(value):
            self.error(line, where, f"{value!r} is not a URL: write http:// or https:// and no spaces, quotes, "
                       "brackets or control characters")
            return None
        return value

    def text(self, value: Any, where: str, line: int) -> str | None:
        if isinstance(value, dt.date):  # an unquoted date where text is expected: keep as written
            return value.isoformat()
        if isinstance(value, int) and not isinstance(value, bool):  # an unquoted year
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.error(line, where, f"expected non-empty text, got {describe(value)}")
            return None
        return str(value)

    def each(self, value: Any, where: str, line: int,
             read: Callable[[Any, str, int], str | None]) -> tuple[str, ...]:
        """A list field: `read` on each item (located as ``where[i]`` at its own line), the readable ones kept."""
        items = [read(v, f"{where}[{i}]", ln) for i, (v, ln) in enumerate(self.sequence(value, where, line))]
        return tuple(item for item in items if item is not None)

    def sequence(self, value: Any, where: str, line: int) -> list[tuple[Any, int]]:
        if not isinstance(value, CommentedSeq):
            self.error(line, where, f"expected a list, got {describe(value)}")
            return []
        return [(v, _item_line(value, i, line)) for i, v in enumerate(value)]

    def quotes(self, value: Any, where: str, line: int) -> tuple[Quote, ...]:
        quotes = []
        for i, (item, ln) in enumerate(self.sequence(value, where, line)):
            here = f"{where}[{i}]"
            if isinstance(item, str):
                quotes.append(Quote(item, ln))
                continue
            if not isinstance(item, CommentedMap) or not isinstance(item.get("quote"), str):
                self.error(ln, here, "expected a quote string or {quote: ..., occurrence: N, supports: [...], "
                           "start: N}")
                continue
            unknown = set(item) - {"quote", "occurrence", "supports", "start"}
            if unknown:
                self.error(ln, here, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
            occurrence = item.get("occurrence", 1)
            if isinstance(occurrence, bool) or not isinstance(occurrence, int) or occurrence < 1:
                self.error(ln, f"{here}.occurrence", f"{occurrence!r} is not a whole number >= 1")
                occurrence = 1
            supports = item.get("supports", [])
            if not isinstance(supports, list) or not all(isinstance(s, str) for s in supports):
                self.error(ln, f"{here}.supports", "expected a list of field names")
                supports = []
            start = item.get("start")
            if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
                self.error(ln, f"{here}.start", f"{start!r} is not a whole number >= 0 (a code-point offset)")
                start = None
            quotes.append(Quote(item["quote"], ln, occurrence, tuple(supports), start))
        if not quotes:
            self.error(line, where, "at least one evidence quote is needed")
        return tuple(quotes)

    def distinct(self, value: Any, where: str, line: int) -> tuple[Distinct, ...]:
        found = []
        for i, (item, ln) in enumerate(self.sequence(value, where, line)):
            here = f"{where}[{i}]"
            if not isinstance(item, CommentedMap) or set(item) != {"id", "reason"}:
                self.error(ln, here, "expected {id: EVENT, reason: TEXT}: the known event, and why this is another")
                continue
            key, reason = self.key(item["id"], f"{here}.id", ln), self.text(item["reason"], f"{here}.reason", ln)
            if key is not None and reason is not None:
                found.append(Distinct(key, reason, ln))
        return tuple(found)

    def claim(self, value: Any, where: str, line: int) -> Claim | None:
        if not isinstance(value, CommentedMap) or set(value) != {"subject", "relation", "object"}:
            self.error(line, where, "expected {subject: KEY, relation: NAME, object: KEY}")
            return None
        if value["relation"] not in CLAIM_RELATIONS:
            self.error(line, f"{where}.relation", f"{value['relation']!r} is not one of: {', '.join(CLAIM_RELATIONS)}")
            return None
        subject = self.key(value["subject"], f"{where}.subject", line)
        obj = self.key(value["object"], f"{where}.object", line)
        if subject is None or obj is None:
            return None
        return Claim(subject, str(value["relation"]), obj, line)


def key_line(node: CommentedMap, name: Any, default: int) -> int:
    """The 1-based line of a key; ruamel.yaml keeps none for some nodes (a tagged mapping): then `default`."""
    position = node.lc.key(name)
    return position[0] + 1 if position and position[0] is not None else default


def _item_line(seq: CommentedSeq, index: int, default: int) -> int:
    position = seq.lc.item(index)
    return position[0] + 1 if position and position[0] is not None else default


def describe(value: Any) -> str:
    if isinstance(value, CommentedMap):
        return "a mapping"
    if isinstance(value, CommentedSeq):
        return "a list"
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"
