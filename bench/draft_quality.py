"""How good and how fast is `kg-service draft` on articles it has never seen?

Runs the draft over the held-out articles of bench/heldout/ (texts we wrote ourselves, not the
seeds; each beside a hand-written ``.expected.yaml``: publication date, register entities named,
key event class and date, the id of the known event it reports if any) and prints per article and
in total: publication date found, share of named register entities found in `mentions`, key event
found (a candidate with that class and date), known event id proposed, and the time per draft
(the first draft of the process apart, since it loads dateparser's language data).

    .venv/bin/python bench/draft_quality.py            # table and totals
    .venv/bin/python bench/draft_quality.py --json     # the same figures as JSON

tests/test_draft.py imports `score_all` and asserts the figures the implementation reaches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ruamel.yaml import YAML

HELDOUT = Path(__file__).resolve().parent / "heldout"


@dataclass
class Score:
    article: str
    published: bool
    entities_named: int
    entities_found: int
    missed: list[str]
    key_event: bool
    known_id_expected: str | None
    known_id_proposed: bool | None  # None when the article reports no known event
    wrong_reuse: list[str]  # known ids proposed that the expected answer does not name
    seconds: float


def score_draft(name: str, draft_yaml: str, expected: dict, seconds: float) -> Score:
    """Compare one draft (its YAML text) with the hand-written answer."""
    doc = YAML(typ="safe", pure=True).load(draft_yaml)
    article, mentions, events = doc.get("article") or {}, doc.get("mentions") or {}, doc.get("events") or []
    named = list(expected["entities"])
    found = [k for k in named if k in mentions]
    key = expected["key_event"]
    key_found = any(e.get("class") == key["class"] and str(e.get("date")) == str(key["date"]) for e in events)
    known = expected.get("existing_event")
    ids = [e.get("id") for e in events]
    reused = [e["id"] for e in events if "probably the known event" in _comment(draft_yaml, e["id"])]
    return Score(name, str(article.get("published")) == str(expected["published"]), len(named), len(found),
                 sorted(set(named) - set(found)), key_found, known, (known in ids) if known else None,
                 [i for i in reused if i != known and not _background(i, expected)], seconds)


def _comment(draft_yaml: str, event_id: str) -> str:
    return next((line for line in draft_yaml.splitlines() if line.startswith(f"- id: {event_id} ")), "")


def _background(event_id: str, expected: dict) -> bool:
    """Known events an article mentions in passing (listed in `background`) are right to reuse."""
    return event_id in (expected.get("background") or [])


def score_all(index, spellings=None, folder: Path = HELDOUT) -> list[Score]:  # noqa: ANN001 - search types
    """Draft every held-out article once against `index` and score it."""
    from kg_service.draft import draft_mapping
    from kg_service.draft_names import Spellings

    spellings = spellings or Spellings(index)
    scores = []
    for text_path in sorted(folder.glob("*.txt")):
        expected = YAML(typ="safe", pure=True).load(text_path.with_suffix(".expected.yaml").read_text())
        text = text_path.read_text(encoding="utf-8")
        started = time.perf_counter()
        draft = draft_mapping(text, index, spellings, text_name=text_path.name)
        seconds = time.perf_counter() - started
        scores.append(score_draft(text_path.stem, draft.text, expected, seconds))
    return scores


def totals(scores: list[Score]) -> dict[str, float]:
    with_known = [s for s in scores if s.known_id_expected]
    warm = [s.seconds for s in scores[1:]] or [s.seconds for s in scores]
    return {
        "articles": len(scores),
        "published_found": sum(s.published for s in scores) / len(scores),
        "entities_found": sum(s.entities_found for s in scores) / sum(s.entities_named for s in scores),
        "key_event_found": sum(s.key_event for s in scores) / len(scores),
        "known_id_proposed": sum(bool(s.known_id_proposed) for s in with_known) / max(len(with_known), 1),
        "wrong_reuses": sum(len(s.wrong_reuse) for s in scores),
        "first_draft_s": scores[0].seconds,
        "median_draft_s": statistics.median(warm),
        "max_draft_s": max(warm),
    }


def time_big_paste(index) -> float:  # noqa: ANN001 - a search_index.Index
    """Seconds to draft a 2 MB paste (an article repeated): the draft reads its first 200,000 characters."""
    from kg_service.draft import draft_mapping

    story = sorted(HELDOUT.glob("*.txt"))[0].read_text(encoding="utf-8")
    text = story + "\n" + story * (2_000_000 // len(story) + 1)
    started = time.perf_counter()
    draft_mapping(text, index)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from kg_service.build import build_dataset
    from kg_service.search_index import load_index
    from kg_service.settings import Settings
    from kg_service.store import KnowledgeGraph

    kg = KnowledgeGraph.from_dataset(build_dataset(Settings.from_env()).dataset)
    index = load_index(kg)
    scores = score_all(index)
    summary = totals(scores)
    summary["two_mb_draft_s"] = time_big_paste(index)
    if args.json:
        json.dump({"articles": [asdict(s) for s in scores], "totals": summary}, sys.stdout, indent=2)
        print()
        return
    print(f"{'article':<30} {'date':>5} {'entities':>9} {'key event':>9} {'known id':>9} {'seconds':>8}  missed")
    for s in scores:
        known = "-" if s.known_id_proposed is None else "yes" if s.known_id_proposed else "NO"
        print(f"{s.article:<30} {'yes' if s.published else 'NO':>5} {s.entities_found:>4}/{s.entities_named:<4} "
              f"{'yes' if s.key_event else 'NO':>9} {known:>9} {s.seconds:>8.3f}  {', '.join(s.missed)}"
              + (f"  wrong reuse: {', '.join(s.wrong_reuse)}" if s.wrong_reuse else ""))
    print(f"\npublication date found {summary['published_found']:.0%}, register entities found "
          f"{summary['entities_found']:.0%} (target >= 90%), key event class and date found "
          f"{summary['key_event_found']:.0%}, known event id proposed {summary['known_id_proposed']:.0%}, "
          f"wrong reuses {summary['wrong_reuses']}")
    print(f"time per draft: first {summary['first_draft_s']:.3f} s (loads dateparser), median "
          f"{summary['median_draft_s']:.3f} s, max {summary['max_draft_s']:.3f} s (target < 1 s); "
          f"a 2 MB paste {summary['two_mb_draft_s']:.2f} s")


if __name__ == "__main__":
    main()
