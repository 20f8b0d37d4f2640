"""Draft a mapping from an article's text: a complete proposal for the analyst to correct, never added.

``kg-service draft ARTICLE.txt`` and ``POST /draft`` call `draft_mapping`: the header (draft_text)
gives title, dateline, publisher and publication date; the register's spellings (draft_names) give
`mentions`; sentences with cue words (draft_events) give candidate events and statements, each
compared with the known events of the graph (event_match.match_events) so the id of the event it most
probably is can be reused; draft_yaml writes it all down, every guess with a ``# check:`` comment
saying why. The result is ruamel.yaml round-trip YAML that always parses, and validating it unedited
lists what is left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .draft_events import Candidate, Said, candidate_events, statements
from .draft_names import Mention, Spellings, short_names
from .draft_text import Header, Span, lines, read_header, sentences
from .draft_yaml import write_draft
from .search_index import Index

MAX_CHARS = 200_000  # characters read: a long article has 30,000; a 2 MB paste is read this far, in a second or two


@dataclass
class Draft:
    text: str  # the YAML, comments included
    events: list[Candidate]
    statements: list[Said]
    mentions: list[Mention]
    header: Header


def draft_mapping(text: str, index: Index, spellings: Spellings | None = None, *,
                  text_name: str = "article.txt") -> Draft:
    """The drafted mapping of `text` (the article as read, UTF-8 decoded) against the known graph."""
    spellings = spellings or Spellings(index)
    read = text[:MAX_CHARS]  # the checksum covers the whole text; the reading stops here
    header = read_header(read)
    mentions = spellings.find(read) + _header_mentions(header, spellings, index)
    mentions += short_names(read, mentions, index)
    mentions.sort(key=lambda m: m.start)
    paragraphs = lines(read) or [Span(0, 0, "")]
    if header.title is not None and header.title.text == paragraphs[0].text:
        paragraphs = paragraphs[1:]  # a headline is not a sentence of the story
    body = [s for line in paragraphs for s in sentences(line)]
    if header.dateline is not None:  # the dateline is not part of the lead sentence's evidence
        body = [_after_dateline(s, header) for s in body]
    events = candidate_events(body, mentions, index, header.base)
    said = statements(body, mentions, index, header.base)
    publisher = _publisher(header, mentions, index)
    written = write_draft(text, name=text_name, header=header, publisher=publisher, mentions=mentions,
                          events=events, said=said, index=index, read_chars=MAX_CHARS)
    return Draft(written, events, said, mentions, header)


def _after_dateline(sentence: Span, header: Header) -> Span:
    dateline = header.dateline
    assert dateline is not None
    if sentence.start <= dateline.start < sentence.end:
        rest = sentence.text[dateline.end - sentence.start:]
        stripped = rest.lstrip(" -—–")
        start = sentence.end - len(stripped)
        return Span(start, sentence.end, stripped)
    return sentence


def _header_mentions(header: Header, spellings: Spellings, index: Index) -> list[Mention]:
    """The dateline's place ("TOKYO") and agency ("(Yonhap)"): named, but not as the register spells them."""
    found: list[Mention] = []
    line = header.dateline
    if line is None:
        return found
    place = header.dateline_place
    key = spellings.any_case.get(place.lower()) if place else None
    if place and key and place not in spellings.keys:
        found.append(Mention(key, line.start, line.start + len(place), place, index.entities[key].name, 100.0,
                             f"the dateline's place {place!r}"))
    agency = header.agency
    publisher = _publisher(header, [], index)
    if agency and publisher and agency not in spellings.keys:
        start = line.start + line.text.index("(" + agency) + 1
        found.append(Mention(publisher[0], start, start + len(agency), agency, index.entities[publisher[0]].name,
                             100.0, f"the dateline credits {agency!r}: add it to the register's aliases"))
    return found


def _publisher(header: Header, mentions: list[Mention], index: Index) -> tuple[str, str] | None:
    """The register's agency named in the dateline "(Yonhap)" or credited in the first lines."""
    agencies = {k: e for k, e in index.entities.items() if e.kind == "org" and re.search(
        r"news|agency|press|times|herald|service|yonhap|kyodo|reuters", " ".join([e.name, *e.spellings]), re.I)}
    if header.agency:
        wanted = header.agency.lower()
        for key, entity in agencies.items():
            if any(wanted in s.lower() or s.lower() in wanted for s in (entity.name, *entity.spellings)):
                return key, f"the dateline credits {header.agency!r}"
    first = next((m for m in mentions if m.near is None and m.key in agencies), None)
    if first and first.start < 600:
        return first.key, f"{first.spelling!r} is named at the top of the text"
    return None
