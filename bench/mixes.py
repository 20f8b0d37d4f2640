"""The 'interactive' mix: the cheap lookups an analyst's UI sends, filled per request from the data.

Each template asks one small thing about one IRI: all triples about an entity, its label, the events
a person took part in, what one article graph reports, whether an entity has a type, a DESCRIBE-like
CONSTRUCT, an event's date and place. The IRIs (entities, events, people, article graphs) are found
once at the start by a few queries (`discover`); every request then takes a template in turn and IRIs
at random, from a seeded generator per client, so every server is sent the same sequence and the texts
differ in what they ask (the client's unique comment makes every text unique besides).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from measure import ACCEPT, GRAPH_ACCEPT, Client

DKG = "https://w3id.org/kg-service/ontology#"
ARTICLE_GRAPH_PREFIX = "https://w3id.org/kg-service/graph/article/"
PREFIXES = ("PREFIX dkg: <https://w3id.org/kg-service/ontology#>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n")
EVENT_CLASSES = ("Event", "Meeting", "Ruling", "TradeMeasure", "Agreement", "Visit", "Ceremony", "Dispute",
                 "Announcement", "Gathering")
LIMIT = 100_000  # rows per discovery query: a bound, far above what 20,000 articles give


@dataclass
class Pools:
    """The IRIs the templates are filled from."""

    entities: list[tuple[str, str]] = field(default_factory=list)  # (labelled IRI, one of its types)
    types: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # article graphs

    def sizes(self) -> dict[str, int]:
        return {name: len(values) for name, values in asdict(self).items()}


DISCOVERY = {
    "entities": PREFIXES + "SELECT ?s (MIN(STR(?t)) AS ?type) WHERE { ?s a ?t ; rdfs:label|skos:prefLabel ?l . "
                           f"FILTER(isIRI(?s) && isIRI(?t)) }} GROUP BY ?s ORDER BY ?s LIMIT {LIMIT}",
    "events": PREFIXES + "SELECT DISTINCT ?e WHERE { VALUES ?t { "
                         + " ".join(f"dkg:{c}" for c in EVENT_CLASSES)
                         + f" }} ?e a ?t FILTER(isIRI(?e)) }} ORDER BY ?e LIMIT {LIMIT}",
    "people": PREFIXES + f"SELECT DISTINCT ?p WHERE {{ ?p a dkg:Person FILTER(isIRI(?p)) }} ORDER BY ?p LIMIT {LIMIT}",
    "articles": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s a ?t } "
                f'FILTER(STRSTARTS(STR(?g), "{ARTICLE_GRAPH_PREFIX}")) }} ORDER BY ?g LIMIT {LIMIT}',
}


def discover(query_url: str, *, timeout_s: float) -> Pools:
    """The pools, found by querying one server once (both hold the same data)."""
    client = Client(query_url, timeout_s=timeout_s)
    columns: dict[str, list[list[str]]] = {}
    try:
        for name, text in DISCOVERY.items():
            status, body = client.query(text)
            if status != 200:
                raise RuntimeError(f"finding the {name} for the interactive mix: status {status}: {body[:300]!r}")
            data = json.loads(body)
            names = data["head"]["vars"]
            columns[name] = [[row[v]["value"] for v in names if v in row] for row in data["results"]["bindings"]]
    finally:
        client.close()
    entities = [(row[0], row[1]) for row in columns["entities"] if len(row) == 2]
    return Pools(entities=entities, types=sorted({t for _, t in entities}),
                 events=[row[0] for row in columns["events"]], people=[row[0] for row in columns["people"]],
                 articles=[row[0] for row in columns["articles"]])


Filled = tuple[str, str, str]  # (what it asks, query text, accept)


def _about(p: Pools, r: random.Random) -> Filled:
    iri = r.choice(p.entities)[0]
    return iri, f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}", ACCEPT


def _label(p: Pools, r: random.Random) -> Filled:
    iri = r.choice(p.entities)[0]
    return iri, PREFIXES + f"SELECT ?label WHERE {{ <{iri}> rdfs:label|skos:prefLabel ?label }}", ACCEPT


def _person_events(p: Pools, r: random.Random) -> Filled:
    iri = r.choice(p.people)
    return iri, PREFIXES + (f"SELECT ?event ?label ?date WHERE {{ ?event dkg:participant <{iri}> . "
                            "OPTIONAL { ?event rdfs:label ?label } OPTIONAL { ?event dkg:date ?date } }"), ACCEPT


def _article_reports(p: Pools, r: random.Random) -> Filled:
    graph = r.choice(p.articles)
    return graph, PREFIXES + (f"SELECT DISTINCT ?item ?type WHERE {{ GRAPH <{graph}> {{ "
                              "?item dkg:evidence ?evidence ; a ?type } }"), ACCEPT


def _has_type(p: Pools, r: random.Random) -> Filled:
    iri, own = r.choice(p.entities)
    kind = own if r.random() < 0.5 else r.choice(p.types)  # about half true, half (mostly) false
    return f"{iri} a {kind}", f"ASK {{ <{iri}> a <{kind}> }}", ACCEPT


def _describe(p: Pools, r: random.Random) -> Filled:
    iri = r.choice(p.entities)[0]
    return iri, f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}", GRAPH_ACCEPT


def _when_where(p: Pools, r: random.Random) -> Filled:
    iri = r.choice(p.events)
    return iri, PREFIXES + (f"SELECT ?date ?place ?placeLabel WHERE {{ OPTIONAL {{ <{iri}> dkg:date ?date }} "
                            f"OPTIONAL {{ <{iri}> dkg:place ?place "
                            "OPTIONAL { ?place rdfs:label|skos:prefLabel ?placeLabel } } }"), ACCEPT


# name -> (the pool it needs, filler)
TEMPLATES: dict[str, tuple[str, Callable[[Pools, random.Random], Filled]]] = {
    "entity-triples": ("entities", _about),
    "entity-label": ("entities", _label),
    "person-events": ("people", _person_events),
    "article-reports": ("articles", _article_reports),
    "entity-has-type": ("entities", _has_type),
    "entity-construct": ("entities", _describe),
    "event-date-place": ("events", _when_where),
}


def usable(pools: Pools) -> list[str]:
    """The templates whose pool is not empty."""
    return [name for name, (pool, _) in TEMPLATES.items() if getattr(pools, pool)]


def requests(pools: Pools, *, seed: int = 0) -> Callable[[int], Iterator[tuple[str, str]]]:
    """For `measure.throughput`: client i takes the templates in turn from the i-th, IRIs drawn by
    `random.Random(seed, i)`, so every server gets the same sequence."""
    names = usable(pools)
    if not names:
        raise RuntimeError("no IRIs found for the interactive mix")

    def for_client(index: int) -> Iterator[tuple[str, str]]:
        rng = random.Random(f"{seed}-{index}")
        for k in itertools.count():
            _, text, accept = TEMPLATES[names[(index + k) % len(names)]][1](pools, rng)
            yield text, accept
    return for_client


def sample(pools: Pools, *, per_template: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """`per_template` filled requests of every usable template, as (label, text, accept), for the check
    that the servers agree."""
    rng = random.Random(f"sample-{seed}")
    out: dict[str, tuple[str, str, str]] = {}
    for name in usable(pools):
        for _ in range(per_template * 4):  # draws that repeat an earlier text are skipped; bounded
            what, text, accept = TEMPLATES[name][1](pools, rng)
            if text not in out:
                out[text] = (f"{name} {what.replace('https://w3id.org/kg-service/', '')}", text, accept)
            if sum(label.startswith(name + " ") for label, _, _ in out.values()) >= per_template:
                break
    return list(out.values())
