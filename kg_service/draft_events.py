"""Candidate events and statements of an article, sentence by sentence, for a drafted mapping.

The third stage of drafting (draft.py): each sentence whose words cue an event class (a meeting,
a ruling, a trade measure, an agreement) proposes a candidate with that sentence as its verbatim
evidence, the people, states and place named in it, and its date phrase resolved; candidates of one
class on one date merge. Each is compared with the known events (event_match.match_events, over the
index ``kg-service find`` searches) so the draft can propose the id of the event it most probably is.
Sentences of reported speech propose statements. Everything here is a guess with its reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .draft_names import Mention, in_span
from .draft_text import DatePhrase, Span, date_phrases
from .event_match import Probe, match_events
from .search_index import Event, Index

CUES = {  # class -> words that announce it in a wire story
    "Meeting": r"held talks|hold talks|holds talks|talks with|met|meet|meets|meeting|summit|phone call|"
               r"telephone|phone talks|by phone|sat down|bilateral talks|dialogue|consultations",
    "Ruling": r"court ruled|ruled|ruling|verdict|ordered|judgment|upheld|sentenced|court",
    "TradeMeasure": r"export controls?|export restrictions?|restrictions on exports|white ?list|"
                    r"restrict(?:s|ed|ing)? exports|tighten(?:s|ed|ing)? (?:export|controls|restrictions)|"
                    r"preferred trading partners|tariffs?|trade measures?|export curbs|curbs on exports",
    "Agreement": r"agreed|agreement|signed|accord|deal|pact",
}
_CUES = {cls: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for cls, words in CUES.items()}
_PLANNED = re.compile(r"\b(?:will|plans? to|planning to|is to|are to|set to|expected to|scheduled)\b", re.IGNORECASE)
_SPEECH = re.compile(r"\b(?:said|says|stated|told|stressed|added|noted|urged|warned|insisted|emphasi[sz]ed|expressed|"
                     r"called for|according to|asked)\b")
_LEVELS = [("summit", r"summit|president|prime minister|leaders"),
           ("ministerial", r"foreign ministers?|trade ministers?|ministerial"),
           ("vice-ministerial", r"vice[- ]ministers?"), ("director-general", r"directors?[- ]general")]
MAX_EVENTS, MAX_STATEMENTS, MAX_QUOTES = 30, 30, 3  # a draft longer than this is no help to read
MAX_SENTENCES = 3000  # sentences read for events: a long article has a few hundred; a 2 MB paste stops here


@dataclass
class Candidate:
    """A proposed event: what the sentences say, and the known event it most probably is."""

    cls: str
    quotes: list[Span]
    date: DatePhrase | None
    status: str
    mentions: list[Mention] = field(default_factory=list)
    cue: str = ""
    match: tuple[float, Event, list[str]] | None = None
    key: str = ""  # the id the draft gives it

    def keys(self, index: Index, kinds: tuple[str, ...], *, near: bool = False) -> list[str]:
        """Entities of `kinds` the sentences name, in order; with `near`, near misses too."""
        seen: dict[str, None] = {}
        for m in self.mentions:
            if (near or m.near is None) and m.key in index.entities and index.entities[m.key].kind in kinds:
                seen.setdefault(m.key)
        return list(seen)

    def places(self, index: Index) -> list[str]:
        """Places named in the sentences, those after "in" or "at" first (where, not who: "Tokyo said")."""
        text = {q.start: q for q in self.quotes}
        scored = []
        for m in self.mentions:
            entity = index.entities.get(m.key)
            if m.near is None and entity and entity.kind == "place":
                quote = next((q for q in text.values() if q.start <= m.start < q.end), None)
                before = quote.text[:m.start - quote.start] if quote else ""
                scored.append((not re.search(r"\b(?:in|at)\s+$", before), m.start, m.key))
        return list(dict.fromkeys(key for _, _, key in sorted(scored)))

    def parties(self, index: Index) -> list[str]:
        states = dict.fromkeys(self.keys(index, ("state",)))
        for person in self.keys(index, ("person",)):
            if country := index.entities[person].country:
                states.setdefault(country)
        return list(states)

    def probe(self, index: Index) -> Probe:
        places = self.places(index)
        return Probe(self.cls, self.date.date if self.date else None, self.status, set(self.keys(index, ("person",))),
                     set(self.parties(index)), places[0] if places else None)

    def level(self) -> str | None:
        text = " ".join(q.text for q in self.quotes).lower()
        return next((name for name, words in _LEVELS if re.search(rf"\b(?:{words})\b", text)), None)


@dataclass
class Said:
    """A proposed statement: a sentence of reported speech and who, probably, spoke."""

    quote: Span
    speaker: str | None
    verb: str
    date: DatePhrase | None


def candidate_events(sentences: list[Span], mentions: list[Mention], index: Index,
                     base: dt.date | None) -> list[Candidate]:
    """Candidates in order of first appearance, merged per class and date, each with its best match."""
    found: list[Candidate] = []
    for sentence in sentences[:MAX_SENTENCES]:
        planned = _PLANNED.search(sentence.text)
        future = planned is not None
        dates = date_phrases(sentence.text, base, future_after=planned.start() if planned else None)
        for cls, cue in _CUES.items():
            hit = cue.search(sentence.text)
            if hit is None:
                continue
            new = Candidate(cls, [sentence], _nearest(dates, hit), "planned" if future else "held",
                            in_span(mentions, sentence.start, sentence.end), hit.group())
            _merge_or_add(found, new)
            if len(found) >= MAX_EVENTS:
                break
    for candidate in found:
        matches = match_events(index, candidate.probe(index), limit=1)
        candidate.match = matches[0] if matches else None
    merged: list[Candidate] = []
    for candidate in found:  # two candidates that are one known event become one
        same = next((c for c in merged if c.match and candidate.match and c.match[1] is candidate.match[1]), None)
        if same is None:
            merged.append(candidate)
        else:
            _absorb(same, candidate)
    return merged


NEAR_CUE = 80  # characters: a date phrase further from the cue words dates something else in the sentence


def _nearest(dates: list[DatePhrase], cue: re.Match[str]) -> DatePhrase | None:
    """The date phrase closest to the cue words, if it is near enough to be theirs."""
    gaps = [(max(d.at - cue.end(), cue.start() - (d.at + len(d.phrase)), 0), d) for d in dates]
    best = min(gaps, key=lambda g: g[0], default=None)
    return best[1] if best and best[0] <= NEAR_CUE else None


def _merge_or_add(found: list[Candidate], new: Candidate) -> None:
    for old in found:
        if old.cls != new.cls:
            continue
        if new.date is None or (old.date is not None and old.date.date == new.date.date):
            _absorb(old, new)
            return
        if old.date is None and not old.match:
            old.date = new.date
            _absorb(old, new)
            return
    found.append(new)


def _absorb(into: Candidate, other: Candidate) -> None:
    if len(into.quotes) < MAX_QUOTES:
        into.quotes.extend(q for q in other.quotes if q not in into.quotes)
        into.quotes = into.quotes[:MAX_QUOTES]
        into.mentions.extend(other.mentions)
    into.date = into.date or other.date


def statements(sentences: list[Span], mentions: list[Mention], index: Index, base: dt.date | None) -> list[Said]:
    """Sentences of reported speech, with the entity named closest before the verb (else after it)."""
    found = []
    for sentence in sentences:
        verb = _SPEECH.search(sentence.text)
        if verb is None:
            continue
        inside = [m for m in in_span(mentions, sentence.start, sentence.end) if m.near is None
                  and index.entities.get(m.key) and index.entities[m.key].kind in ("person", "org", "state", "group")]
        at = sentence.start + verb.start()
        before = [m for m in inside if m.end <= at]
        after = [m for m in inside if m.start >= at]
        people_first = sorted(before, key=lambda m: (index.entities[m.key].kind != "person", -m.start))
        speaker = (people_first or after)[0] if people_first or after else None
        dates = date_phrases(sentence.text, base)
        found.append(Said(sentence, speaker.key if speaker else None, verb.group(), dates[0] if dates else None))
        if len(found) >= MAX_STATEMENTS:
            break
    return found
