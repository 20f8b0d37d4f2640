"""Namespaces and IRI minting: the vocabulary every other module speaks.

`DKG` is a closed namespace: a typo such as ``DKG.particpant`` raises at once instead of writing a
term no shape or query knows (rdflib's ``_DCTERMS`` works the same way). A test checks that every
term here is declared in ``ontology/dkg.ttl`` and vice versa. IRIs of our resources are minted from
readable keys written in the mappings and the register, never from counters or content hashes, so
they stay stable when an article is re-mapped.
"""

from __future__ import annotations

import re

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

BASE = "https://w3id.org/kg-service/"
ONTOLOGY_IRI = URIRef(BASE + "ontology")
ONTOLOGY_VERSION = "0.1.0"

OA = Namespace("http://www.w3.org/ns/oa#")
ORG = Namespace("http://www.w3.org/ns/org#")
SEM = Namespace("http://semanticweb.cs.vu.nl/2009/11/sem/")
SCHEMA = Namespace("https://schema.org/")
TIME = Namespace("http://www.w3.org/2006/time#")
WD = Namespace("http://www.wikidata.org/entity/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")


class DKG(DefinedNamespace):
    """The kg-service ontology (``ontology/dkg.ttl``)."""

    _fail = True
    _NS = Namespace(BASE + "ontology#")

    # Classes
    Event: URIRef
    Meeting: URIRef
    Ruling: URIRef
    TradeMeasure: URIRef
    Agreement: URIRef
    Visit: URIRef
    Ceremony: URIRef
    Dispute: URIRef
    Announcement: URIRef
    Gathering: URIRef
    Statement: URIRef
    Correction: URIRef
    Agent: URIRef
    Person: URIRef
    State: URIRef
    Organisation: URIRef
    GovernmentBody: URIRef
    Court: URIRef
    Company: URIRef
    Group: URIRef
    Place: URIRef
    Issue: URIRef
    Level: URIRef
    EventStatus: URIRef
    MeetingMode: URIRef
    Article: URIRef
    Evidence: URIRef
    ResolvedValue: URIRef
    Rank: URIRef

    # Event properties
    status: URIRef
    date: URIRef
    endDate: URIRef
    earliestDate: URIRef
    latestDate: URIRef
    datePhrase: URIRef
    place: URIRef
    participant: URIRef
    party: URIRef
    level: URIRef
    mode: URIRef
    topic: URIRef
    outcome: URIRef
    sidelinesOf: URIRef
    duration: URIRef
    evidence: URIRef
    undatedBecause: URIRef
    partOf: URIRef
    agendaItem: URIRef
    # Rulings
    court: URIRef
    plaintiff: URIRef
    plaintiffDescription: URIRef
    plaintiffCount: URIRef
    defendant: URIRef
    ruledThat: URIRef
    awardPerPlaintiff: URIRef
    awardCurrency: URIRef
    # Trade measures
    imposedBy: URIRef
    targets: URIRef
    product: URIRef
    announcedDate: URIRef
    effectiveDate: URIRef
    # Agreements
    term: URIRef
    # Statements and claims
    speaker: URIRef
    occasion: URIRef
    about: URIRef
    content: URIRef
    paraphrase: URIRef
    claimSubject: URIRef
    claimPredicate: URIRef
    claimObject: URIRef
    retaliationFor: URIRef
    responsibilityOf: URIRef
    # Articles and evidence
    publisher: URIRef
    publicationDate: URIRef
    dateline: URIRef
    datelinePlace: URIRef
    upstreamSource: URIRef
    dateNote: URIRef
    sha256: URIRef
    textLength: URIRef
    sourceFile: URIRef
    machineTranslated: URIRef
    supports: URIRef
    # Corrections
    correctsArticle: URIRef
    correctionSubject: URIRef
    correctedProperty: URIRef
    statedValue: URIRef
    correctValue: URIRef
    # The resolved layer
    resolution: URIRef
    rank: URIRef
    disputed: URIRef
    overrules: URIRef
    Corrected: URIRef
    Agreed: URIRef
    Disputed: URIRef
    rankScheme: URIRef
    # Entities
    wikidata: URIRef
    country: URIRef

    # Individuals: statuses, levels and modes
    Held: URIRef
    Planned: URIRef
    Expected: URIRef
    NotHeld: URIRef
    InPerson: URIRef
    Telephone: URIRef
    Summit: URIRef
    Ministerial: URIRef
    ViceMinisterial: URIRef
    DirectorGeneral: URIRef
    Ambassadorial: URIRef
    EnvoyLevel: URIRef
    WorkingLevel: URIRef
    statusScheme: URIRef
    levelScheme: URIRef
    modeScheme: URIRef


EVENT_CLASSES = {"Meeting": DKG.Meeting, "Ruling": DKG.Ruling, "TradeMeasure": DKG.TradeMeasure,
                 "Agreement": DKG.Agreement, "Visit": DKG.Visit, "Ceremony": DKG.Ceremony,
                 "Dispute": DKG.Dispute, "Announcement": DKG.Announcement}
STATUSES = {"held": DKG.Held, "planned": DKG.Planned, "expected": DKG.Expected, "not-held": DKG.NotHeld}
LEVELS = {"summit": DKG.Summit, "ministerial": DKG.Ministerial, "vice-ministerial": DKG.ViceMinisterial,
          "director-general": DKG.DirectorGeneral, "ambassadorial": DKG.Ambassadorial,
          "envoy": DKG.EnvoyLevel, "working": DKG.WorkingLevel}
MODES = {"in-person": DKG.InPerson, "telephone": DKG.Telephone}
CLAIM_RELATIONS = {"retaliation-for": DKG.retaliationFor, "responsibility-of": DKG.responsibilityOf}

ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")
META_GRAPH = GRAPH["meta"]
ENTITY_GRAPH = GRAPH["entities"]
CORRECTION_GRAPH = GRAPH["corrections"]
ONTOLOGY_GRAPH = GRAPH["ontology"]
RESOLVED_GRAPH = GRAPH["resolved"]  # the best-known value of every field (resolve.py)
UNION_GRAPH = GRAPH["union"]  # a name for the union of the article graphs, expanded by the store
# The default graph: what is known (the resolved layer, the register, the articles' metadata, the
# corrections, the ontology). What each article says stays in its own graph.
DEFAULT_GRAPHS = (RESOLVED_GRAPH, ENTITY_GRAPH, META_GRAPH, CORRECTION_GRAPH, ONTOLOGY_GRAPH)
ARTICLE_GRAPH_PREFIX = str(GRAPH) + "article/"

PREFIXES = {
    "dkg": str(DKG._NS), "id": str(ID), "graph": str(GRAPH), "oa": str(OA), "org": str(ORG), "sem": str(SEM),
    "schema": str(SCHEMA), "time": str(TIME), "wd": str(WD), "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#", "owl": "http://www.w3.org/2002/07/owl#",
    "dcterms": "http://purl.org/dc/terms/", "prov": "http://www.w3.org/ns/prov#",
}

_KEY = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")


def is_key(text: str) -> bool:
    """Tell whether `text` can be part of an IRI as it is: lowercase words joined by - or _.

    Matched in full: ``$`` would let a key ending in a newline through, and no IRI can hold one.

    >>> is_key("chung-eui-yong"), is_key("001_41fee706fa7e4dab"), is_key("Chung Eui-yong"), is_key("x\\n")
    (True, True, False, False)
    """
    return isinstance(text, str) and bool(_KEY.fullmatch(text))


def mint(kind: str, *keys: str) -> URIRef:
    """Mint the IRI of a resource from its kind and readable keys.

    Raises ValueError for a key that is not IRI-safe, so a bad key fails where it is written.

    >>> mint("person", "chung-eui-yong")
    rdflib.term.URIRef('https://w3id.org/kg-service/id/person/chung-eui-yong')
    >>> mint("evidence", "001_41fee706fa7e4dab", "120-245")
    rdflib.term.URIRef('https://w3id.org/kg-service/id/evidence/001_41fee706fa7e4dab/120-245')
    >>> mint("person", "Chung")
    Traceback (most recent call last):
    ValueError: 'Chung' is not a key: use lowercase letters, digits, - and _
    """
    for key in (kind, *keys):
        if not is_key(key):
            raise ValueError(f"{key!r} is not a key: use lowercase letters, digits, - and _")
    return ID["/".join((kind, *keys))]


def article_iri(article_id: str) -> URIRef:
    return mint("article", article_id)


def article_graph(article_id: str) -> URIRef:
    """The named graph holding what one article says.

    >>> article_graph("004_fe33916f0645b2f3")
    rdflib.term.URIRef('https://w3id.org/kg-service/graph/article/004_fe33916f0645b2f3')
    """
    if not is_key(article_id):
        raise ValueError(f"{article_id!r} is not a key")
    return GRAPH["article/" + article_id]
