"""Read and check one mapping file: the hand-written, declarative account of what an article reports.

A mapping is YAML (read with ruamel.yaml, which keeps the line of every node) with four sections:
``article`` (metadata), ``mentions`` (every spelling under which a register entity appears),
``events``, ``statements`` and ``corrections``. This module checks the *form* of the file only:
known fields, required fields, value types, keys that can be IRIs. Whether referenced entities
exist, quotes occur in the text or dates make sense is for the compiler and the validator, which
report against the line numbers kept here. Every error reads ``file:line: field: message``.
An impossible date written unquoted (2021-02-30) is kept as text so that it, too, is reported at
its line rather than crashing the YAML reader.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import Location, MappingError, MappingErrors

# What a field is lives in the field registry (fields.py); re-exported here for the reader's users.
from .fields import (
    ADDED_EVENT,
    ARTICLE_FIELDS,
    BOOL,
    CHOICE,
    CORRECTION_FIELDS,
    COUNT,
    DATE,
    DECIMAL,
    DISTINCT,
    DURATION,
    EVENT_FIELDS,
    KEY,
    KEYS,
    QUOTES,
    STATEMENT_FIELDS,
    TEXT,
    TEXTS,
    URL,
    URLS,
    WIKIDATA,
    FieldSpec,
    correctable,
    event_fields,
)
from .vocab import CLAIM_RELATIONS, is_key
from .yamlread import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES  # re-exported: mappings are read with these
from .yamlread import parse_yaml as parse_yaml
from .yamlread import read_text_file as read_text_file

SECTIONS = {"article", "entities", "mentions", "events", "statements", "corrections"}
_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
_DURATION = re.compile(r"P(?=.)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_WIKIDATA = re.compile(r"Q[1-9][0-9]*")
_WEB_IRI = re.compile(r"https?://[^\x00-\x20<>\"{}|\\^`\x7f-\x9f]+")


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


@dataclass
class Mapping:
    """A whole mapping file, checked for form; `path` is where it was read from."""

    path: Path
    article: Entry
    mentions: dict[str, tuple[str, ...]]
    mention_lines: dict[str, int]
    events: list[Entry]
    statements: list[Entry]
    corrections: list[Entry]
    # The ``entities:`` section as read (register sections: people, organisations, ...) and its line;
    # register.with_declared checks it, as it needs the register to know which keys are taken.
    entities: tuple[Any, int] | None = None

    @property
    def article_id(self) -> str:
        return Path(self.article.values["text"]).stem

    @property
    def text_path(self) -> Path:
        return self.path.parent / self.article.values["text"]

    def location(self, line: int, field_name: str) -> Location:
        return Location(str(self.path), line, None, field_name)


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
            items = self.sequence(value, where, line)
            keys = [self.key(v, f"{where}[{i}]", ln) for i, (v, ln) in enumerate(items)]
            return tuple(k for k in keys if k is not None)
        if kind == TEXT:
            return self.text(value, where, line)
        if kind == TEXTS:
            items = self.sequence(value, where, line)
            texts = [self.text(v, f"{where}[{i}]", ln) for i, (v, ln) in enumerate(items)]
            return tuple(t for t in texts if t is not None)
        if kind == URL:
            return self.url(value, where, line)
        if kind == URLS:
            items = self.sequence(value, where, line)
            urls = [self.url(v, f"{where}[{i}]", ln) for i, (v, ln) in enumerate(items)]
            return tuple(u for u in urls if u is not None)
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


def is_date_text(text: str) -> bool:
    """Tell whether `text` is a real date written as YYYY-MM-DD, YYYY-MM or YYYY.

    >>> is_date_text("2021-09-23"), is_date_text("2018-10"), is_date_text("2021-02-30"), is_date_text("soon")
    (True, True, False, False)
    """
    return bool(_DATE.fullmatch(text)) and _valid_date(text)


def is_text_name(name: str) -> bool:
    """Tell whether `name` is a bare article file name whose stem can be an article id (no folders).

    >>> is_text_name("003_11110d5589b8cc2d.txt"), is_text_name("../etc/passwd.txt"), is_text_name("a.md")
    (True, False, False)
    """
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and suffix == "txt" and is_key(stem)


def is_web_iri(text: str) -> bool:
    """Tell whether `text` is an http(s) IRI that the store accepts as it is (it becomes a node of the graph,
    and one IRI the store refuses would stop the service from loading the seeds).

    >>> is_web_iri("https://example.org/a?b=1"), is_web_iri("https://example.org/a\\n"), is_web_iri("a b")
    (True, False, False)
    """
    if not isinstance(text, str) or not _WEB_IRI.fullmatch(text):
        return False
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def _valid_date(text: str) -> bool:
    if len(text) < 10:
        return True
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def load_mapping(path: Path, text: str | None = None) -> Mapping:
    """Read a mapping file (or `text` said to come from `path`) and check its form.

    Raises InputError for unreadable YAML and MappingErrors listing every schema error found.
    """
    source = read_text_file(path) if text is None else text
    if not source.strip():
        raise MappingError("the mapping file is empty", Location(str(path), 1))
    doc = parse_yaml(source, path)
    reader = SchemaReader(path)
    if not isinstance(doc, CommentedMap):
        raise MappingError(f"expected a mapping with sections {', '.join(sorted(SECTIONS))}, got {describe(doc)}",
                           Location(str(path), 1))
    for name in doc:
        if name not in SECTIONS:
            reader.error(key_line(doc, name, 1), str(name), f"unknown section; known: {', '.join(sorted(SECTIONS))}")
    if "article" not in doc:
        reader.error(1, "article", "required section is missing")
    article = reader.entry(doc.get("article"), "article", "article", ARTICLE_FIELDS,
                           _line(doc, "article")) if "article" in doc else None
    if article and "sha256" in article.values and not _SHA256.fullmatch(article.values["sha256"]):
        reader.error(article.line_of("sha256"), "article.sha256", "expected 64 lowercase hex digits")
    if article and "text" in article.values and not is_text_name(article.values["text"]):
        reader.error(article.line_of("text"), "article.text", f"{article.values['text']!r} is not a text file name: "
                     "write ID.txt beside the mapping, ID in lowercase letters, digits, - and _")
        del article.values["text"]
    mentions, mention_lines = _mentions(reader, doc)
    events = []
    for i, (node, line) in enumerate(_items(reader, doc, "events")):
        cls = node.get("class") if isinstance(node, CommentedMap) else None
        if isinstance(node, CommentedMap) and "class" in node and str(cls) not in EVENT_FIELDS:
            # One error: checked against another class's fields, the entry would bring a cascade of them.
            reader.error(key_line(node, "class", line), f"events[{i}].class", f"unknown class {cls!r}"
                         + _did_you_mean(str(cls), EVENT_FIELDS) + f"; classes: {', '.join(EVENT_FIELDS)}")
            continue
        specs = event_fields(str(cls))
        entry = reader.entry(node, "event", f"events[{i}]", specs, line)
        if entry:
            events.append(entry)
    statements = [e for i, (node, line) in enumerate(_items(reader, doc, "statements"))
                  if (e := reader.entry(node, "statement", f"statements[{i}]", STATEMENT_FIELDS, line))]
    corrections = [e for i, (node, line) in enumerate(_items(reader, doc, "corrections"))
                   if (e := reader.entry(node, "correction", f"corrections[{i}]", CORRECTION_FIELDS, line))]
    for i, entry in enumerate(corrections):
        correction_value(reader, entry, f"corrections[{i}]")
    _check_unique_ids(reader, events, "events")
    _check_unique_ids(reader, statements, "statements")
    if reader.errors or article is None:
        raise MappingErrors(reader.errors)
    entities = (doc["entities"], _line(doc, "entities")) if "entities" in doc else None
    return Mapping(path, article, mentions, mention_lines, events, statements, corrections, entities)


def correction_value(reader: SchemaReader, entry: Entry, where: str) -> None:
    """Type a correction's `correct` value by the registry's spec of the field it corrects: a date for
    `date`, keys for `participants`, a choice for `status`, a whole event (without quotes: a
    correction has its published source instead) for `field: event`. A field the registry does not
    know (an entity's label, 'identity') keeps its value as text. Errors go to `reader`."""
    if "correct" not in entry.values:  # written but empty (`correct:`): the reader kept nothing
        if "correct" in entry.lines:
            reader.error(entry.line_of("correct"), f"{where}.correct", "expected a value, got nothing")
        return
    if "field" not in entry.values:
        return
    raw, name, line = entry.values["correct"], entry.values["field"], entry.line_of("correct")
    here = f"{where}.correct"
    if name == ADDED_EVENT:
        cls = raw.get("class") if isinstance(raw, CommentedMap) else None
        specs = {k: v for k, v in event_fields(str(cls)).items() if k not in ("evidence", "date_phrase")}
        specs["id"] = FieldSpec(KEY, False)
        event = reader.entry(raw, "event", here, specs, line)
        if event is None or "id" in event.values:
            if event is not None:
                reader.error(event.line_of("id"), f"{here}.id", "the added event's key is the correction's subject")
            del entry.values["correct"]
            return
        event.values["id"] = entry.values.get("subject", "")
        entry.values["correct"] = event
        return
    spec = correctable(name) or FieldSpec(TEXT)
    if spec.many and not isinstance(raw, CommentedSeq):
        single = reader.value(raw, FieldSpec(KEY if spec.type == KEYS else TEXT), here, line)
        checked = None if single is None else (single,)
    else:
        checked = reader.value(raw, spec, here, line)
    if checked is None:
        del entry.values["correct"]
    else:
        entry.values["correct"] = checked


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean X?`` for the closest choice, case aside, or nothing.

    >>> _did_you_mean("Meting", ["Meeting", "Ruling"]), _did_you_mean("ruling", ["Meeting", "Ruling"])
    ('; did you mean Meeting?', '; did you mean Ruling?')
    """
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


def _line(doc: CommentedMap, name: str) -> int:
    return key_line(doc, name, 1) if name in doc else 1


# The most entries one section may hold: an article reports a handful of events; each entry costs
# SHACL milliseconds, so ten thousand would hold a validation for minutes.
MAX_ENTRIES = 500


def _items(reader: SchemaReader, doc: CommentedMap, section: str) -> list[tuple[Any, int]]:
    if section not in doc or doc[section] is None:
        return []
    items = reader.sequence(doc[section], section, _line(doc, section))
    if len(items) > MAX_ENTRIES:
        reader.error(_line(doc, section), section, f"{len(items):,} entries; an article's mapping holds at most "
                     f"{MAX_ENTRIES}: split the article")
        return []
    return items


def _mentions(reader: SchemaReader, doc: CommentedMap) -> tuple[dict[str, tuple[str, ...]], dict[str, int]]:
    node = doc.get("mentions")
    if node is None:
        return {}, {}
    if not isinstance(node, CommentedMap):
        reader.error(_line(doc, "mentions"), "mentions", "expected entity keys, each with a list of spellings")
        return {}, {}
    mentions, lines = {}, {}
    for key, spellings in node.items():
        line = key_line(node, key, _line(doc, "mentions"))
        where = f"mentions.{key}"
        if reader.key(key, where, line) is None:
            continue
        items = reader.sequence(spellings, where, line)
        texts = [reader.text(v, f"{where}[{i}]", ln) for i, (v, ln) in enumerate(items)]
        mentions[str(key)] = tuple(t for t in texts if t)
        lines[str(key)] = line
    return mentions, lines


def _check_unique_ids(reader: SchemaReader, entries: list[Entry], section: str) -> None:
    seen: dict[str, int] = {}
    for entry in entries:
        key = entry.values.get("id")
        if key in seen:
            reader.error(entry.line_of("id"), f"{section}.id",
                         f"{key!r} is used twice in this file (first at line {seen[key]})")
        elif key:
            seen[key] = entry.line_of("id")
