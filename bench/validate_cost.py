"""What a validation costs as the input grows: texts of 100 KB to 2 MB, with and without quotes that are
not in the text, an alias bomb, and RDF with many event nodes (issues 13 and 16: validation bounded in
time, memory and output). Not a test: it prints seconds, and asserts nothing about them.

    .venv/bin/python bench/validate_cost.py [--sizes 100,400,1000,2000] [--missing 40] [--meetings 17000,200]

Each text is a test article (tests/articles/t01) followed by filler paragraphs up to the size; its
mapping is the article's, with the checksum updated and, "with missing quotes", `--missing` more evidence
quotes that occur nowhere in the text (each a sentence of the text with a typo), so each needs the
closest-passage search. Every loop is bounded: a fixed number of sizes and rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg_service.errors import KgError  # noqa: E402
from kg_service.intake import parse_rdf, rdf_format  # noqa: E402
from kg_service.settings import Settings  # noqa: E402
from kg_service.validate import MAX_RDF_SUBJECTS, load_context, validate_mapping, validate_rdf  # noqa: E402

ARTICLE = ROOT / "tests" / "articles" / "t01_export_controls_2019.yaml"
FILLER = ("Officials in Seoul and Tokyo met again on the sidelines of a regional forum number {n}, where "
          "the ministers discussed supply chains, history and the future of their cooperation. ")


def sized_article(kb: int, missing: int) -> tuple[str, str]:
    """(mapping, text) of about `kb` kilobytes of text with `missing` quotes not in it."""
    text = ARTICLE.with_suffix(".txt").read_text(encoding="utf-8")
    parts, n = [text, "\n"], 0
    size = len(text.encode())
    while size < kb * 1000:
        paragraph = FILLER.format(n=n)
        parts.append(paragraph)
        size += len(paragraph.encode())
        n += 1
    full = "".join(parts)
    mapping = ARTICLE.read_text(encoding="utf-8")
    old_sha = mapping.split("sha256: ", 1)[1].split("\n", 1)[0]
    mapping = mapping.replace(old_sha, hashlib.sha256(full.encode()).hexdigest())
    quotes = "".join(f"      - quote: {FILLER.format(n=(i * 7919) % max(n, 1)).replace('ministers', 'minsters')}\n"
                     for i in range(missing))
    anchor = "        supports: [products]\n"
    mapping = mapping.replace(anchor, anchor + quotes, 1)
    return mapping, full


def alias_bomb(width: int = 9, depth: int = 8) -> str:
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth + 1)]
    return "\n".join(lines) + f"\nevents: [*a{depth}]\n"


def meetings(count: int) -> bytes:
    return "".join(f"<https://w3id.org/kg-service/id/event/m{i}> "
                   "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                   "<https://w3id.org/kg-service/ontology#Meeting> .\n" for i in range(count)).encode()


def timed(action) -> tuple[float, str]:  # noqa: ANN001 - a callable returning a short outcome
    started = time.perf_counter()
    outcome = action()
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,400,1000,2000", help="text sizes in KB, comma-separated")
    parser.add_argument("--missing", type=int, default=40, help="quotes not in the text, in the second run")
    parser.add_argument("--rounds", type=int, default=1, help="runs per case (the fastest is shown)")
    parser.add_argument("--meetings", default="17000,200", help="dkg:Meeting nodes in the RDF cases, comma-separated")
    args = parser.parse_args()
    context = load_context(Settings.from_env())
    print(f"{'case':<44} {'seconds':>8}  outcome")
    for kb in (int(s) for s in args.sizes.split(",")):
        for missing in (0, args.missing):
            mapping, text = sized_article(kb, missing)

            def run(mapping: str = mapping, text: str = text) -> str:
                report, _ = validate_mapping(context, mapping, ARTICLE, text)
                return f"{report.counts()['Violation']} violations, report {len(report.as_text()):,} chars"

            best = min((timed(run) for _ in range(max(1, args.rounds))), key=lambda r: r[0])
            print(f"{f'text {kb} KB, {missing} quotes not in it':<44} {best[0]:>8.2f}  {best[1]}")

    def bomb() -> str:
        try:
            validate_mapping(context, alias_bomb(), Path("bomb.yaml"), "text")
        except KgError as exc:
            return f"refused: {exc}"[:90]
        return "accepted"

    seconds, outcome = timed(bomb)
    print(f"{f'alias bomb ({len(alias_bomb())} bytes, 9^8 values)':<44} {seconds:>8.2f}  {outcome}")

    for count in (int(c) for c in args.meetings.split(",")):
        def rdf(count: int = count) -> str:
            data = meetings(count)
            try:
                report = validate_rdf(context, parse_rdf(data, rdf_format("x.nt"), "x.nt"), "x.nt",
                                      max_subjects=MAX_RDF_SUBJECTS)
            except KgError as exc:
                return f"refused ({exc.http_status}): {exc.message}"[:90]
            return f"{report.counts()['Violation']} violations, {report.omitted} omitted from the report"

        seconds, outcome = timed(rdf)
        print(f"{f'N-Triples with {count:,} dkg:Meeting nodes':<44} {seconds:>8.2f}  {outcome}")


if __name__ == "__main__":
    main()
