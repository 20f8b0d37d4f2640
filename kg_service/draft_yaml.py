"""Write a drafted mapping as YAML: every guess on a line of its own with a ``# check:`` comment saying why.

The last stage of drafting (draft.py): what the earlier stages found (the header, the mentions,
the candidate events and statements) becomes the blocks of a mapping, in ruamel.yaml round-trip
nodes so each guessed field carries its reason as an end-of-line comment. New event ids are minted
from the label and date and never collide with a known event's; the output always parses, and
validating it unedited lists what is left to do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .draft_events import Candidate, Said
from .draft_names import Mention
from .draft_text import Header
from .search_index import Index

_SIDES = ("japan", "south-korea")  # the two sides of every dispute this graph follows
CLASS_WORDS = {"Meeting": "talks", "Ruling": "ruling", "TradeMeasure": "trade measure", "Agreement": "agreement"}
# The fields whose values are guesses: each such line of a draft carries a "# check:" comment (tested).
GUESSES = ("title", "publisher", "published", "dateline", "date_note", "id", "class", "status", "date",
           "participants", "parties", "place", "level", "mode", "court", "defendants", "imposed_by", "targets",
           "speaker", "occasion", "content", "topics")


def write_draft(text: str, *, name: str, header: Header, publisher: tuple[str, str] | None,
                mentions: list[Mention], events: list[Candidate], said: list[Said], index: Index,
                read_chars: int) -> str:
    """The mapping as YAML text, comments included; sets the `key` of each candidate event to its id."""
    doc = CommentedMap()
    doc["article"] = _article(text, name, header, publisher)
    doc["mentions"] = _mentions(mentions)
    doc["events"] = _events(events, index)
    doc["statements"] = _statements(said, events)
    out = io.StringIO()
    out.write(f"# Drafted by kg-service draft from {name}: a proposal to correct, never added by itself.\n"
              "# Every line marked '# check:' is a guess; `kg-service validate` lists what is left to fix.\n")
    if len(text) > read_chars:
        out.write(f"# The text has {len(text)} characters: only the first {read_chars} were read.\n")
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096  # quotes stay on one line, as in the text
    yaml.dump(doc, out)
    return out.getvalue()


def _note(node: CommentedMap, key: str, why: str) -> None:
    node.yaml_add_eol_comment("check: " + why.replace("\n", " "), key)


def _article(text: str, name: str, header: Header, publisher: tuple[str, str] | None) -> CommentedMap:
    art = CommentedMap()
    art["text"] = name
    art["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    art["title"] = _one_line(header.title.text) if header.title else "(the text has no headline)"
    _note(art, "title", "the first line of the text, taken as the headline")
    if publisher:
        art["publisher"] = publisher[0]
        _note(art, "publisher", publisher[1])
    if header.published:
        art["published"] = _date(header.published.date)
        _note(art, "published", f"from {header.published.how}")
    if header.dateline:
        art["dateline"] = header.dateline.text
        _note(art, "dateline", "the place, date and agency at the head of the story")
    if not header.published:
        art["date_note"] = "The text gives no publication date with a year."
        _note(art, "date_note", "no full date found in the first lines: give `published` if known, else explain")
    art["language"] = "en"
    return art


def _mentions(mentions: list[Mention]) -> CommentedMap:
    found = CommentedMap()
    why: dict[str, list[str]] = {}
    for m in mentions:
        if m.short:
            continue  # "Yun" for Yun Byung-se: who speaks, not a spelling to record
        spellings = found.setdefault(m.key, CommentedSeq())
        if m.spelling not in spellings:
            spellings.append(m.spelling)
            spellings.fa.set_flow_style()
            if m.why is not None:
                why.setdefault(m.key, []).append(m.why)
            elif m.near is not None:
                why.setdefault(m.key, []).append(f"{m.spelling!r} resembles {m.near!r} ({m.score:.0f}/100)")
    for key in found:
        _note(found, key, "; ".join(why[key]) + ": confirm, or remove" if key in why
              else "a spelling the register or a seed mapping knows")
    return found


def _events(events: list[Candidate], index: Index) -> CommentedSeq:
    out = CommentedSeq()
    used: set[str] = set(index.events)  # a new event's id must not name a known one by accident
    for candidate in events:
        node = CommentedMap()
        people, parties = candidate.keys(index, ("person",)), candidate.parties(index)
        places = candidate.places(index)
        if candidate.match:
            score, known, why = candidate.match
            node["id"] = known.key
            _note(node, "id", f"probably the known event {known.key} ({'; '.join(why)}): its id is reused; "
                              "if this is another event, give a new id")
            label = known.label
        else:
            label = _label(candidate, index, people or parties, places)
            node["id"] = _fresh_id(candidate, label, used)
            _note(node, "id", "no known event matches its class, date and people: a new event")
        used.add(node["id"])
        candidate.key = node["id"]
        node["class"] = candidate.cls
        _note(node, "class", f"the sentence says {candidate.cue!r}")
        node["label"] = label
        node["status"] = candidate.status
        _note(node, "status", "the sentence speaks of what is to come" if candidate.status == "planned"
              else "told in the past tense")
        if candidate.date:
            node["date"] = _date(candidate.date.date)
            _note(node, "date", f"{candidate.date.phrase!r}: {candidate.date.how}")
            node["date_phrase"] = candidate.date.phrase
        _class_fields(node, candidate, index, people, parties)
        if places:
            node["place"] = places[0]
            _note(node, "place", "named in the sentence; is it where the event took place?")
        topics = candidate.keys(index, ("issue",))
        if topics:
            node["topics"] = _flow(topics)
            _note(node, "topics", "issues named in the sentence")
        node["evidence"] = CommentedSeq({"quote": q.text} for q in candidate.quotes)
        out.append(node)
    return out


def _class_fields(node: CommentedMap, candidate: Candidate, index: Index, people: list[str],
                  parties: list[str]) -> None:
    if candidate.cls == "Meeting":
        if level := candidate.level():
            node["level"] = level
            _note(node, "level", "the words of the sentence suggest it")
        if re.search(r"\bphone|telephone", " ".join(q.text for q in candidate.quotes), re.I):
            node["mode"] = "telephone"
            _note(node, "mode", "the sentence mentions a phone")
    if candidate.cls == "Ruling":
        orgs = candidate.keys(index, ("org",), near=True)  # "South Korea's Supreme Court" is a near miss
        courts = [k for k in orgs if "court" in k]
        if courts:
            node["court"] = courts[0]
            _note(node, "court", "the court named in the sentence")
        defendants = [k for k in orgs if "court" not in k and not k.startswith(("government", "mofa"))]
        if defendants:
            node["defendants"] = _flow(defendants)
            _note(node, "defendants", "companies named in the sentence")
    if candidate.cls == "TradeMeasure" and parties:
        named = candidate.keys(index, ("state",))  # states the sentence names come before people's countries
        parties = named + [p for p in parties if p not in named]
        node["imposed_by"] = parties[0]
        _note(node, "imposed_by", "the first state the sentence names")
        targets = parties[1:] or [s for s in _SIDES if s != parties[0] and parties[0] in _SIDES][:1]
        if targets:
            node["targets"] = _flow(targets)
            _note(node, "targets", "the other states the sentence names" if parties[1:]
                  else "the sentence names no other state: the other side of the dispute")
        return
    if people and candidate.cls in ("Meeting", "Agreement"):
        node["participants"] = _flow(people)
        _note(node, "participants", "people named in the sentence")
    if parties:
        node["parties"] = _flow(parties)
        _note(node, "parties", "states named in the sentence and the countries of its people")


def _statements(said: list[Said], events: list[Candidate]) -> CommentedSeq:
    out = CommentedSeq()
    used: set[str] = set()
    occasion = next((c for c in events if c.cls == "Meeting"), None)
    for n, item in enumerate(said, start=1):
        node = CommentedMap()
        base = f"{item.speaker or 'someone'}-{item.verb.split()[0]}"
        key = base if base not in used else f"{base}-{n}"
        used.add(key)
        node["id"] = key
        _note(node, "id", f"reported speech: {item.verb!r}")
        if item.speaker:
            node["speaker"] = item.speaker
            _note(node, "speaker", "the entity named closest to the verb")
        if item.date:
            node["date"] = _date(item.date.date)
            _note(node, "date", f"{item.date.phrase!r}: {item.date.how}")
            node["date_phrase"] = item.date.phrase
        if occasion is not None and item.quote in occasion.quotes:
            node["occasion"] = occasion.key
            _note(node, "occasion", "said in the sentence that reports the meeting")
        node["content"] = _one_line(item.quote.text)
        _note(node, "content", "the sentence itself: say in your own words what was said")
        node["evidence"] = _flow([item.quote.text])
        out.append(node)
    return out


def _label(candidate: Candidate, index: Index, who: list[str], places: list[str]) -> str:
    names = " - ".join(index.entities[k].name for k in who[:3]) or "Unidentified"
    where = f" in {index.entities[places[0]].name}" if places and candidate.cls == "Meeting" else ""
    return f"{names} {CLASS_WORDS.get(candidate.cls, candidate.cls.lower())}{where}"


def _fresh_id(candidate: Candidate, label: str, used: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60].strip("-") or "event"
    key = f"{candidate.date.date}-{slug}" if candidate.date else slug
    n, unique = 2, key
    while unique in used:
        unique, n = f"{key}-{n}", n + 1
    return unique


def _date(text: str) -> dt.date | str:
    """A full date as a YAML date (written unquoted, as authors write it); a month or year as text."""
    return dt.date.fromisoformat(text) if len(text) == 10 else text


def _one_line(text: str) -> str:
    """Free text (not a quote) on one line: Unicode line breaks such as U+0085 become spaces.

    >>> _one_line("A\x85 B\u2028C")
    'A B C'
    """
    return " ".join(text.split()) or "(empty)"


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq
