"""Read and check one mapping file: the hand-written, declarative account of what an article reports.

A mapping is YAML (read by yamlread.py, which keeps the line of every node) with the sections
``article`` (metadata), ``entities`` (register entries the article brings), ``mentions`` (every
spelling under which a register entity appears), ``events``, ``statements`` and ``corrections``.
This module reads the sections and checks the *form* of the file only, each entry's fields through
the field reader (fieldread.py): known sections and fields, required fields, value types, keys that
can be IRIs, ids used once. Whether referenced entities exist, quotes occur in the text or dates make
sense is for the compiler and the validator, which report against the line numbers kept here. Every
error reads ``file:line: field: message``. An impossible date written unquoted (2021-02-30) is kept as
text so that it, too, is reported at its line rather than crashing the YAML reader.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .entries import Entry
from .errors import Location, MappingError, MappingErrors
from .fieldread import SchemaReader, describe, key_line
from .fields import (
    ADDED_EVENT,
    ARTICLE_FIELDS,
    CORRECTION_FIELDS,
    EVENT_FIELDS,
    KEY,
    KEYS,
    STATEMENT_FIELDS,
    TEXT,
    FieldSpec,
    correctable,
    event_fields,
)
from .wellformed import is_text_name
from .yamlread import parse_yaml, read_text_file

SECTIONS = {"article", "entities", "mentions", "events", "statements", "corrections"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
