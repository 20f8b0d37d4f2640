"""Find the register entities an article names: every known spelling, plus near misses to check.

The second stage of drafting (draft.py). Known spellings are the register's names and aliases and
every spelling a seed mapping already recorded (all read from the graph by search_index.load_index); they
are matched exactly, longest first, so "North Korea" is never "Korea". Near misses ("Hayashi
Yoshimasa", "Jeong Eui-yong") and transliterations (林芳正) are found with rapidfuzz over the ASCII
form anyascii gives: each is a candidate the author must confirm, never a certainty.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .search import normalise
from .search_index import Index

# Entity kinds a mention can name (roles such as "President" would match in every article).
MENTION_KINDS = ("person", "state", "org", "group", "place", "issue", "gathering")
NEAR_MISS_SCORE = 87.0  # rapidfuzz ratio on the ASCII forms; 85 and below let "Park Jin" ~ "Park Ji-won" in
_CANDIDATE = re.compile(r"(?<![\w-])[A-Z][\w'’-]+(?:[ ][A-Z][\w'’-]+)*")
_FOREIGN = re.compile(r"[^\x00-\x7F\s\d\W]{2,}")  # a run of non-ASCII letters: hanzi, kanji, hangul
_COMMON = {"The", "A", "An", "In", "On", "At", "But", "And", "He", "She", "They", "It", "We", "This", "That",
           "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Minister", "President",
           "Prime", "Foreign", "Ministry", "Government", "Court", "Supreme"}


# A run ending in a title ("Japanese Foreign Minister") describes a post, not a spelling of a body's name.
_ROLES = {"Minister", "Ministers", "President", "Ambassador", "Secretary", "Spokesman", "Spokesperson", "Envoy"}


@dataclass(frozen=True)
class Mention:
    """One spelling of one entity in the text; `near` is the known spelling a candidate resembles."""

    key: str
    start: int
    end: int
    spelling: str
    near: str | None = None
    score: float = 100.0
    why: str | None = None  # for the check comment, when it is not "resembles `near`"
    short: bool = False  # a bare family or given name ("Yun said") of a person the article names in full


class Spellings:
    """Every known spelling of the index's entities, compiled once per index."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.keys: dict[str, str] = {}
        for entity in sorted(index.entities.values(), key=lambda e: e.key):
            if entity.kind in MENTION_KINDS:
                for spelling in {entity.name, *entity.spellings}:
                    self.keys.setdefault(spelling, entity.key)
        ordered = sorted(self.keys, key=len, reverse=True)
        exact = [re.escape(s) for s in ordered if len(s) < 6 or not s.islower()]
        loose = [re.escape(s) for s in ordered if len(s) >= 6]
        # Short spellings ("Abe", "US", "Korea") only in their own case; longer ones in any case.
        self.exact = re.compile(r"(?<!\w)(?:" + "|".join(exact) + r")(?!\w)") if exact else None
        self.loose = re.compile(r"(?<!\w)(?:" + "|".join(loose) + r")(?!\w)", re.IGNORECASE) if loose else None
        self.lower = {s.lower(): k for s, k in self.keys.items() if len(s) >= 6}
        self.any_case = {s.lower(): k for s, k in self.keys.items()}
        self.fuzzy = {normalise(s): s for s, k in self.keys.items()
                      if index.entities[k].kind in ("person", "place", "org", "gathering") and len(s) >= 6}
        self.squashed = {n.replace(" ", ""): s for n, s in self.fuzzy.items()}

    def find(self, text: str) -> list[Mention]:
        """Known spellings in `text`, then near misses in what they leave, in order of appearance."""
        found: list[Mention] = []
        taken = bytearray(len(text))
        candidates: list[re.Match[str]] = []
        for pattern in (self.exact, self.loose):
            if pattern is not None:
                candidates.extend(pattern.finditer(text))
        for match in sorted(candidates, key=lambda m: (-(m.end() - m.start()), m.start())):
            if any(taken[match.start():match.end()]) or (match.group() not in self.keys and match.group().isupper()):
                continue  # "MUNICH" in a dateline is the place, but not a spelling worth recording
            key = self.keys.get(match.group()) or self.lower[match.group().lower()]
            why = None
            if match.group() not in self.keys:  # matched in another case ("historical issues")
                known = next(s for s in self.keys if s.lower() == match.group().lower())
                why = f"the register writes {known!r}: the case differs, so validation asks to add this spelling"
            found.append(Mention(key, match.start(), match.end(), match.group(), why=why))
            taken[match.start():match.end()] = b"\x01" * (match.end() - match.start())
        found.extend(self._near_misses(text, taken))
        return sorted(found, key=lambda m: m.start)

    def _near_misses(self, text: str, taken: bytearray) -> list[Mention]:
        seen: dict[str, tuple[str, float] | None] = {}
        found: list[Mention] = []
        near = bytearray(len(text))  # what near misses cover
        for run in _CANDIDATE.finditer(text):
            words = list(re.finditer(r"\S+", run.group()))
            # Longest first: "Hayashi Yoshimasa" before "Hayashi" alone. Runs of two words or more
            # may contain a known name: "South Korea's Supreme Court" is a court, not only a state.
            for size in range(min(4, len(words)), 0, -1):
                for i in range(len(words) - size + 1):
                    start, end = run.start() + words[i].start(), run.start() + words[i + size - 1].end()
                    self._try(text, start, end, False, near if size >= 2 else taken, (taken, near), seen, found)
            if len(seen) > 20000:  # a pathological text: enough candidates for any article
                return found
        for match in _FOREIGN.finditer(text):
            self._try(text, match.start(), match.end(), True, taken, (taken, near), seen, found)
        return found

    def _try(self, text: str, start: int, end: int, squash: bool, blocked: bytearray,
             marks: tuple[bytearray, ...], seen: dict[str, tuple[str, float] | None], found: list[Mention]) -> None:
        candidate = text[start:end].rstrip(".,;:'’")
        end = start + len(candidate)
        words = candidate.split()
        inside_known = marks[0].find(b"\x00", start, end) == -1  # wholly within known names: nothing new
        if (not words or inside_known or any(blocked[start:end]) or any(marks[-1][start:end]) or candidate.isupper()
                or all(w in _COMMON for w in words) or words[-1] in _ROLES):
            return
        if candidate not in seen:
            seen[candidate] = self._closest(candidate, squash)
        best = seen[candidate]
        if best is not None:
            found.append(Mention(self.keys[best[0]], start, end, candidate, best[0], best[1]))
            for mark in marks:
                mark[start:end] = b"\x01" * (end - start)

    def _closest(self, candidate: str, squash: bool) -> tuple[str, float] | None:
        """The known spelling `candidate` most resembles, when it is close enough and not identical."""
        form = normalise(candidate)
        if len(form) < 5:
            return None
        choices = self.squashed if squash or " " not in form else self.fuzzy
        probe = form.replace(" ", "") if choices is self.squashed else form
        best = process.extractOne(probe, list(choices), scorer=fuzz.ratio, score_cutoff=NEAR_MISS_SCORE)
        if best is None and not squash:
            best = process.extractOne(form, list(self.fuzzy), scorer=fuzz.token_sort_ratio,
                                      score_cutoff=NEAR_MISS_SCORE)
            choices = self.fuzzy
        if best is None or choices[best[0]] == candidate:
            return None
        return choices[best[0]], float(best[1])


def short_names(text: str, mentions: list[Mention], index: Index) -> list[Mention]:
    """Bare names ("Yun", "Park", "Moon") of people the article names in full, where one person has
    that name: they tell who speaks or meets, but are not spellings to record in `mentions`."""
    people = dict.fromkeys(m.key for m in mentions if m.near is None and index.entities[m.key].kind == "person")
    owners: dict[str, set[str]] = {}
    for key in people:
        words = index.entities[key].name.split()
        for word in {words[0], words[-1]}:
            owners.setdefault(word, set()).add(key)
    names = {word: next(iter(keys)) for word, keys in owners.items() if len(keys) == 1 and len(word) > 1}
    if not names:
        return []
    covered = bytearray(len(text))
    for m in mentions:
        covered[m.start:m.end] = b"\x01" * (m.end - m.start)
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in names) + r")(?![\w-])")
    return [Mention(names[match.group()], match.start(), match.end(), match.group(), short=True)
            for match in pattern.finditer(text) if not any(covered[match.start():match.end()])]


def in_span(mentions: list[Mention], start: int, end: int) -> list[Mention]:
    """The mentions inside [start, end) of the text; `mentions` is sorted by start (bisected, so a
    long text costs a logarithm per sentence, not its whole list of mentions)."""
    first = bisect_left(mentions, start, key=lambda m: m.start)
    last = bisect_left(mentions, end, lo=first, key=lambda m: m.start)
    return [m for m in mentions[first:last] if m.end <= end]
