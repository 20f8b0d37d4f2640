"""A deterministic synthetic corpus in our ontology's shape, for benchmarks at 1,000 and 20,000 articles.

Writing thousands of mappings by hand is not an option, and random triples would not exercise the
named queries. So the compiled seed articles are the template: each synthetic article takes one or
two reported facts (an event or a statement with its evidence: annotation, target, quote and
position selectors) from a seed article, and renames what makes it a different report: its own
article IRI and graph, other people from the register as participants and speakers, a publication
year between 2010 and 2025 with every date moved along, and now and then an event another synthetic
article reported too (so "reported by several articles" and "source disagreements" have work to do),
with a correction now and then. The register and ontology graphs and the five seeds stay as they
are. The same seed gives the same bytes.

    python bench/corpus.py --articles 20000 -o corpus-20000.nq     # prints the quads count
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg_service.build import build_dataset  # noqa: E402
from kg_service.settings import Settings  # noqa: E402
from kg_service.store import dataset_nquads  # noqa: E402

BASE = "https://w3id.org/kg-service/"
ID, GRAPH = BASE + "id/", BASE + "graph/"
DKG = BASE + "ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DATE_TYPES = {XSD + "date", XSD + "gYearMonth", XSD + "gYear"}
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SHARED_EVENT_P = 0.3  # how often a fact is about an event another synthetic article already reported
CORRECTION_P = 0.15
FIRST_YEAR, LAST_YEAR = 2010, 2025


@dataclass
class Unit:
    """One reported fact of a seed article: an event or statement, its evidence, and its corrections."""

    article: str
    triples: list[ox.Triple]
    corrections: list[ox.Triple] = field(default_factory=list)


@dataclass
class Template:
    article: str
    year: int
    meta: list[ox.Triple]
    units: list[Unit]
    mentions: dict[str, list[ox.Triple]]  # entity IRI -> the article's label triples for it


def load_templates(settings: Settings) -> tuple[list[ox.Quad], list[Template], list[str]]:
    """Every seed quad (register, ontology, the five articles), one template per seed article, and the
    register's people."""
    data = dataset_nquads(build_dataset(settings).dataset)
    by_graph: dict[str, list[ox.Triple]] = defaultdict(list)
    shared = []
    for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS):
        name = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
        by_graph[name].append(quad.triple)
        shared.append(quad)
    people = sorted({t.subject.value for t in by_graph[GRAPH + "entities"]
                     if t.predicate.value == RDF_TYPE and t.object.value == DKG + "Person"})
    templates = []
    for name in sorted(g for g in by_graph if g.startswith(GRAPH + "article/")):
        article = name.rsplit("/", 1)[1]
        meta = [t for t in by_graph[GRAPH + "meta"] if article in t.subject.value]
        year = next((int(t.object.value[:4]) for t in meta if t.predicate.value == DKG + "publicationDate"), 2020)
        templates.append(Template(article, year, meta, *_units(article, by_graph[name],
                                                               by_graph[GRAPH + "corrections"])))
    return shared, templates, people


def _units(article: str, triples: list[ox.Triple], corrections: list[ox.Triple]) -> tuple[list, dict]:
    subjects: dict[str, list[ox.Triple]] = defaultdict(list)
    for triple in triples:
        subjects[triple.subject.value].append(triple)
    units, mentions = [], defaultdict(list)
    for subject, own in subjects.items():
        if "/event/" in subject or "/statement/" in subject:
            unit = Unit(article, list(own))
            for triple in own:
                if triple.predicate.value == DKG + "evidence":
                    evidence = triple.object.value
                    unit.triples += [t for s, ts in subjects.items() if s.startswith(evidence) for t in ts]
            unit.corrections = [t for t in corrections if f"/{article}/{subject.rsplit('/', 1)[1]}/" in
                                t.subject.value]
            units.append(unit)
        elif not subject.startswith(ID + "evidence/"):
            mentions[subject] += own
    return units, mentions


class Writer:
    """Mints synthetic articles from the templates with one seeded random generator."""

    def __init__(self, templates: list[Template], people: list[str], seed: int):
        self.templates, self.people = templates, people
        self.random = random.Random(seed)
        self.events: dict[str, list[str]] = defaultdict(list)  # template event IRI -> synthetic ones

    def article(self, number: int) -> list[ox.Quad]:
        rnd = self.random
        template = rnd.choice(self.templates)
        key = f"syn{number:06d}"
        year = rnd.randint(FIRST_YEAR, LAST_YEAR)
        renames: dict[str, str] = {}
        units = rnd.sample(template.units, min(len(template.units), rnd.choice((1, 1, 2))))
        graph = ox.NamedNode(GRAPH + "article/" + key)
        quads = []

        def term(node: object) -> object:
            if isinstance(node, ox.NamedNode):
                return ox.NamedNode(self._rename(node.value, template.article, key, renames))
            if isinstance(node, ox.Literal) and node.datatype.value in DATE_TYPES:
                moved = min(max(int(node.value[:4]) + year - template.year, FIRST_YEAR), LAST_YEAR)
                return ox.Literal(f"{moved:04d}{node.value[4:]}", datatype=node.datatype)
            return node

        mentioned = set()
        for unit in units:
            for t in unit.triples:
                quads.append(ox.Quad(term(t.subject), term(t.predicate), term(t.object), graph))
                if isinstance(t.object, ox.NamedNode) and t.object.value in template.mentions:
                    mentioned.add(t.object.value)
            if unit.corrections and rnd.random() < CORRECTION_P:
                corrections = ox.NamedNode(GRAPH + "corrections")
                quads += [ox.Quad(term(t.subject), term(t.predicate), term(t.object), corrections)
                          for t in unit.corrections]
        for entity in sorted(mentioned):
            quads += [ox.Quad(term(t.subject), term(t.predicate), t.object, graph) for t in template.mentions[entity]]
        meta = ox.NamedNode(GRAPH + "meta")
        quads += [ox.Quad(term(t.subject), term(t.predicate), term(t.object), meta) for t in template.meta]
        return quads

    def _rename(self, iri: str, article: str, key: str, renames: dict[str, str]) -> str:
        """The synthetic article's IRI for a template IRI, the same within one article."""
        if iri in renames:
            return renames[iri]
        new = iri
        if article in iri:
            new = iri.replace(article, key)
        elif iri.startswith(ID + "person/"):
            used = set(renames.values())
            new = self.random.choice([p for p in self.people if p not in used] or self.people)
        elif iri.startswith(ID + "event/"):
            pool = self.events[iri]
            if pool and self.random.random() < SHARED_EVENT_P:
                new = self.random.choice(pool)
            else:
                new = f"{iri}-{key}"
                pool.append(new)
        renames[iri] = new
        return new


def write_corpus(articles: int, output: Path, *, seed: int = 6, settings: Settings | None = None) -> int:
    """Write the seeds plus `articles` synthetic articles as N-Quads to `output`; returns the quads count."""
    shared, templates, people = load_templates(settings or Settings.from_env())
    writer = Writer(templates, people, seed)
    count = 0
    tmp = output.with_name(output.name + ".tmp")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as out:
        ox.serialize(shared, out, format=ox.RdfFormat.N_QUADS)
        count += len(shared)
        for number in range(articles):
            quads = list(dict.fromkeys(writer.article(number)))  # renamed graphs: no repeats across articles
            ox.serialize(quads, out, format=ox.RdfFormat.N_QUADS)
            count += len(quads)
    tmp.replace(output)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="synthetic articles besides the seeds")
    parser.add_argument("--seed", type=int, default=6, help="random seed: the same seed writes the same file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="N-Quads file to write")
    args = parser.parse_args()
    count = write_corpus(args.articles, args.output, seed=args.seed)
    print(f"{args.output}: {args.articles} synthetic articles + the seeds, {count} quads")


if __name__ == "__main__":
    main()
