"""The ontology and the SHACL shapes: every constraint fails on data that breaks it and passes on data that keeps it.

Each case names one constraint of ``ontology/shapes.ttl`` (a named property shape or SPARQL constraint)
with a passing and a failing example in Turtle; the focus node is always ``ex:x``. A failing example
must yield a result of that constraint, with its severity and result path; a passing example must
yield none (other constraints may fire on these deliberately small examples: they have their own
cases). A realistic graph (``fixtures/shapes/complete.ttl``) must have no violation or warning at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, RDFS, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, SH, SKOS, XSD

from kg_service.vocab import DKG, OA, ORG

ONTOLOGY_DIR = Path(__file__).parents[1] / "ontology"
FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
DKGSH = Namespace("https://w3id.org/kg-service/shapes#")
EX = Namespace("http://example.org/")
ONTOLOGY_IRI = URIRef("https://w3id.org/kg-service/ontology")
SEVERITIES = {"Violation": SH.Violation, "Warning": SH.Warning, "Info": SH.Info}

PREFIXES = """
@prefix dkg: <https://w3id.org/kg-service/ontology#> .
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix time: <http://www.w3.org/2006/time#> .
@prefix wd: <http://www.wikidata.org/entity/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
"""


@cache
def shapes() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")


@cache
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "dkg.ttl", format="turtle")


def validate(data: Graph) -> Graph:
    """Run pySHACL as kg-service does; it writes into the shapes graph (pySHACL #314), so give it a copy.

    The copy lives in rdflib's context-free SimpleMemory store, on which pySHACL runs about twice as fast.
    """
    shapes_copy = Graph(store="SimpleMemory")
    shapes_copy += shapes()
    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes_copy, ont_graph=ontology(),
                                                inference="none", allow_warnings=True, advanced=True)
    return report


@dataclass(frozen=True)
class Result:
    severity: URIRef
    path: object
    message: str


def results_of(report: Graph, constraint: URIRef, focus: URIRef = EX.x) -> list[Result]:
    """The results that `constraint` (a property shape or a SPARQL constraint) reports on `focus`."""
    found = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if report.value(result, SH.focusNode) != focus:
            continue
        if constraint not in (report.value(result, SH.sourceShape), report.value(result, SH.sourceConstraint)):
            continue
        found.append(Result(report.value(result, SH.resultSeverity), report.value(result, SH.resultPath),
                            str(report.value(result, SH.resultMessage))))
    return found


@dataclass(frozen=True)
class Case:
    constraint: str  # the named property shape or SPARQL constraint that reports the result
    severity: URIRef
    passing: str
    failing: str
    path: URIRef | None = None  # the expected sh:resultPath, when it is a plain property
    covers: str | None = None  # a constraint nested in `constraint` (selector shapes) that this case exercises


def case(constraint: str, severity: str, passing: str, failing: str, *, path: URIRef | None = None,
         covers: str | None = None, variant: str = "") -> object:
    name = (covers or constraint) + (f"-{variant}" if variant else "")
    return pytest.param(Case(constraint, SEVERITIES[severity], passing, failing, path, covers), id=name)


def evidence(*, target: str = "a oa:SpecificResource ; oa:hasSource ex:article",
             quote: str = 'a oa:TextQuoteSelector ; oa:exact "held talks" ; oa:prefix "They " ; oa:suffix "."',
             position: str = ('a oa:TextPositionSelector ; oa:start "10"^^xsd:nonNegativeInteger ; '
                              'oa:end "20"^^xsd:nonNegativeInteger'),
             supports: str = "dkg:date") -> str:
    """An evidence annotation `ex:x` whose parts can be replaced one at a time."""
    return f"""
        ex:x a dkg:Evidence, oa:Annotation ; oa:hasBody ex:fact ; dkg:supports {supports} ; oa:hasTarget ex:target .
        ex:target {target} ; oa:hasSelector ex:quote, ex:position .
        ex:quote {quote} .
        ex:position {position} .
        ex:article a dkg:Article .
    """


def held_event(dates: str, *, status: str = "dkg:Held") -> str:
    """A meeting `ex:x` with evidence in an article published on 24 September 2021."""
    return f"""
        ex:x a dkg:Meeting ; dkg:status {status} ; {dates} ;
            dkg:evidence ex:ev .
        ex:ev a dkg:Evidence ; oa:hasTarget [ oa:hasSource ex:article ] .
        ex:article a dkg:Article ; dkg:publicationDate "2021-09-24"^^xsd:date .
    """


def membership(begin: str, end: str) -> str:
    return f"""
        ex:x a org:Membership ; org:member ex:p ; org:organization ex:o ; org:role ex:r ; org:memberDuring ex:i .
        ex:i a time:Interval ; time:hasBeginning ex:b ; time:hasEnd ex:e .
        ex:b a time:Instant ; {begin} .
        ex:e a time:Instant ; {end} .
    """


MEMBERSHIP = membership('time:inXSDDate "2021-02-09"^^xsd:date', 'time:inXSDDate "2022-05-12"^^xsd:date')
ARTICLE = """ex:x a dkg:Article ; dkg:sha256 "70cc7974583a6668761d4934c48250c9f0a2fd3e77e26593647afb60a8c38410" ;
    dkg:publisher ex:cns ; dkg:publicationDate "2021-09-24"^^xsd:date """
CORRECTION = """ex:article a dkg:Article .
ex:x a dkg:Correction ; dkg:correctsArticle ex:article ; dkg:correctionSubject ex:ceremony ;
    dkg:correctedProperty dkg:date ; dkg:statedValue "2021-09-22"^^xsd:date """
SOURCE = "dcterms:source <https://example.org/source>"
RESOLVED = """ex:x a dkg:ResolvedValue ; rdf:subject ex:e ; rdf:predicate dkg:date ; rdf:object "2017-09-22" ;
    dkg:rank dkg:Corrected ; prov:wasDerivedFrom ex:correction ."""
ENTITIES = {"Person": "dkg:Person", "State": "dkg:State", "Organisation": "dkg:Organisation", "Court": "dkg:Court",
            "Place": "dkg:Place", "Issue": "dkg:Issue"}
DATE_PROPERTIES = {"Event-date": ("dkg:Meeting", DKG.date), "Event-endDate": ("dkg:Ruling", DKG.endDate),
                   "Event-earliestDate": ("dkg:Visit", DKG.earliestDate),
                   "Event-latestDate": ("dkg:Ceremony", DKG.latestDate),
                   "Gathering-date": ("dkg:Gathering", DKG.date), "Gathering-endDate": ("dkg:Gathering", DKG.endDate),
                   "Statement-date": ("dkg:Statement", DKG.date),
                   "TradeMeasure-announcedDate": ("dkg:TradeMeasure", DKG.announcedDate),
                   "TradeMeasure-effectiveDate": ("dkg:TradeMeasure", DKG.effectiveDate),
                   "Article-publicationDate": ("dkg:Article", DKG.publicationDate)}

CASES = [
    # ---- every event ----
    case("Event-label", "Violation", 'ex:x a dkg:Meeting ; rdfs:label "talks"@en .', "ex:x a dkg:Meeting .",
         path=RDFS.label, variant="missing"),
    case("Event-label", "Violation", 'ex:x a dkg:Agreement ; rdfs:label "accord"@en .',
         'ex:x a dkg:Agreement ; rdfs:label "accord"@en, "agreement"@en .', path=RDFS.label, variant="two"),
    case("Event-status", "Violation", "ex:x a dkg:Ruling ; dkg:status dkg:Planned .", "ex:x a dkg:Ruling .",
         path=DKG.status, variant="missing"),
    case("Event-status", "Violation", "ex:x a dkg:Ruling ; dkg:status dkg:NotHeld .",
         "ex:x a dkg:Ruling ; dkg:status dkg:Summit .", path=DKG.status, variant="not-a-status"),
    case("Event-status", "Violation", "ex:x a dkg:Event ; dkg:status dkg:Expected .",
         "ex:x a dkg:Event ; dkg:status dkg:Held, dkg:Planned .", path=DKG.status, variant="two"),
    case("Event-evidence", "Violation", "ex:x a dkg:TradeMeasure ; dkg:evidence ex:ev . ex:ev a dkg:Evidence .",
         "ex:x a dkg:TradeMeasure .", variant="missing"),
    # in the resolved layer an event carries no quotes but the article graphs and corrections it comes from
    case("Event-evidence", "Violation", "ex:x a dkg:Meeting ; prov:wasDerivedFrom ex:articleGraph .",
         "ex:x a dkg:Meeting ; rdfs:label \"talks\"@en .", variant="resolved"),
    case("Event-evidenceClass", "Violation", "ex:x a dkg:Visit ; dkg:evidence ex:ev . ex:ev a dkg:Evidence .",
         "ex:x a dkg:Visit ; dkg:evidence ex:ev .", path=DKG.evidence),
    case("Event-partOf", "Violation", "ex:x a dkg:Ceremony ; dkg:partOf ex:m . ex:m a dkg:Meeting .",
         "ex:x a dkg:Ceremony ; dkg:partOf ex:m . ex:m a dkg:Person .", path=DKG.partOf),
    case("Event-dated", "Warning", 'ex:x a dkg:Meeting ; dkg:earliestDate "2023-02-13"^^xsd:date .',
         "ex:x a dkg:Meeting .", variant="meeting"),
    case("Event-dated", "Warning", 'ex:x a dkg:Ceremony ; dkg:latestDate "2017"^^xsd:gYear .',
         "ex:x a dkg:Ceremony .", variant="ceremony"),
    case("Event-topic", "Violation", "ex:x a dkg:Meeting ; dkg:topic ex:t . ex:t a dkg:Issue .",
         "ex:x a dkg:Meeting ; dkg:topic ex:t . ex:t a dkg:Place .", path=DKG.topic),
    case("Event-participant", "Violation", "ex:x a dkg:Meeting ; dkg:participant ex:p . ex:p a dkg:Person .",
         "ex:x a dkg:Meeting ; dkg:participant ex:p . ex:p a dkg:Issue .", path=DKG.participant),
    case("Event-party", "Violation", "ex:x a dkg:Agreement ; dkg:party ex:p . ex:p a dkg:GovernmentBody .",
         "ex:x a dkg:Agreement ; dkg:party ex:p . ex:p a dkg:Place .", path=DKG.party),
    case("Event-place", "Violation", "ex:x a dkg:Visit ; dkg:place ex:p . ex:p a dkg:Place .",
         "ex:x a dkg:Visit ; dkg:place ex:p . ex:p a dkg:State .", path=DKG.place),
    case("Event-sidelinesOf", "Violation", "ex:x a dkg:Meeting ; dkg:sidelinesOf ex:g . ex:g a dkg:Gathering .",
         "ex:x a dkg:Meeting ; dkg:sidelinesOf ex:g . ex:g a dkg:Meeting .", path=DKG.sidelinesOf),
    case("Event-duration", "Violation", 'ex:x a dkg:Meeting ; dkg:duration "PT50M"^^xsd:duration .',
         'ex:x a dkg:Meeting ; dkg:duration "50 minutes" .', path=DKG.duration),
    case("HeldNotAfterArticle", "Violation", held_event('dkg:date "2021-09"^^xsd:gYearMonth'),
         held_event('dkg:date "2021-09-25"^^xsd:date'), path=DKG.date, variant="day"),
    case("HeldNotAfterArticle", "Violation", held_event('dkg:date "2021-09-24"^^xsd:date'),
         held_event('dkg:earliestDate "2021-10"^^xsd:gYearMonth'), path=DKG.earliestDate, variant="earliest"),
    case("HeldNotAfterArticle", "Violation", held_event('dkg:date "2021-10-01"^^xsd:date', status="dkg:Planned"),
         held_event('dkg:date "2022"^^xsd:gYear'), path=DKG.date, variant="planned-may-be-later"),
    case("EndNotBeforeStart", "Violation",
         'ex:x a dkg:Meeting ; dkg:date "2023-02-17"^^xsd:date ; dkg:endDate "2023-02"^^xsd:gYearMonth .',
         'ex:x a dkg:Meeting ; dkg:date "2023-02-19"^^xsd:date ; dkg:endDate "2023-02-18"^^xsd:date .',
         path=DKG.endDate, variant="event"),
    case("EndNotBeforeStart", "Violation",
         'ex:x a dkg:Gathering ; dkg:date "2023-02-17"^^xsd:date ; dkg:endDate "2023-02-19"^^xsd:date .',
         'ex:x a dkg:Gathering ; dkg:date "2023-02"^^xsd:gYearMonth ; dkg:endDate "2023-01-31"^^xsd:date .',
         path=DKG.endDate, variant="gathering"),
    case("EarliestNotAfterLatest", "Violation",
         'ex:x a dkg:Meeting ; dkg:earliestDate "2023-02-13"^^xsd:date ; dkg:latestDate "2023-02-19"^^xsd:date .',
         'ex:x a dkg:Meeting ; dkg:earliestDate "2023-02"^^xsd:gYearMonth ; dkg:latestDate "2023-01-31"^^xsd:date .',
         path=DKG.latestDate, variant="event"),
    case("EarliestNotAfterLatest", "Violation",
         'ex:x a dkg:Gathering ; dkg:earliestDate "2023"^^xsd:gYear ; dkg:latestDate "2023-12"^^xsd:gYearMonth .',
         'ex:x a dkg:Gathering ; dkg:earliestDate "2023"^^xsd:gYear ; dkg:latestDate "2022-12"^^xsd:gYearMonth .',
         path=DKG.latestDate, variant="gathering"),
    # ---- meetings ----
    case("Meeting-sides", "Violation", "ex:x a dkg:Meeting ; dkg:participant ex:a ; dkg:party ex:b .",
         "ex:x a dkg:Meeting ; dkg:participant ex:a ; dkg:party ex:a .", variant="one-side-twice"),
    case("Meeting-sides", "Violation", "ex:x a dkg:Meeting ; dkg:participant ex:a, ex:b .",
         "ex:x a dkg:Meeting ; dkg:participant ex:a .", variant="one-participant"),
    case("Meeting-level", "Warning", "ex:x a dkg:Meeting ; dkg:level dkg:Ministerial .", "ex:x a dkg:Meeting .",
         path=DKG.level),
    case("Meeting-levelValue", "Violation", "ex:x a dkg:Meeting ; dkg:level dkg:DirectorGeneral .",
         "ex:x a dkg:Meeting ; dkg:level dkg:Held .", path=DKG.level),
    case("Meeting-mode", "Violation", "ex:x a dkg:Meeting ; dkg:mode dkg:Telephone .",
         "ex:x a dkg:Meeting ; dkg:mode dkg:Summit .", path=DKG.mode),
    # ---- rulings ----
    case("Ruling-court", "Warning", "ex:x a dkg:Ruling ; dkg:court ex:c . ex:c a dkg:Court .", "ex:x a dkg:Ruling .",
         path=DKG.court),
    case("Ruling-courtValue", "Violation", "ex:x a dkg:Ruling ; dkg:court ex:c . ex:c a dkg:Court .",
         "ex:x a dkg:Ruling ; dkg:court ex:c . ex:c a dkg:GovernmentBody .", path=DKG.court, variant="not-a-court"),
    case("Ruling-courtValue", "Violation", "ex:x a dkg:Ruling ; dkg:court ex:c . ex:c a dkg:Court .",
         "ex:x a dkg:Ruling ; dkg:court ex:c, ex:d . ex:c a dkg:Court . ex:d a dkg:Court .", path=DKG.court,
         variant="two"),
    case("Ruling-plaintiffCount", "Violation",
         'ex:x a dkg:Ruling ; dkg:plaintiffCount "4"^^xsd:nonNegativeInteger .',
         "ex:x a dkg:Ruling ; dkg:plaintiffCount -4 .", path=DKG.plaintiffCount),
    case("Ruling-awardPerPlaintiff", "Violation",
         'ex:x a dkg:Ruling ; dkg:awardPerPlaintiff "100000000"^^xsd:decimal .',
         'ex:x a dkg:Ruling ; dkg:awardPerPlaintiff "100 million won" .', path=DKG.awardPerPlaintiff),
    case("Ruling-awardCurrency", "Violation", 'ex:x a dkg:Ruling ; dkg:awardCurrency "KRW" .',
         'ex:x a dkg:Ruling ; dkg:awardCurrency "won" .', path=DKG.awardCurrency),
    # ---- trade measures ----
    case("TradeMeasure-imposedBy", "Violation", "ex:x a dkg:TradeMeasure ; dkg:imposedBy ex:j . ex:j a dkg:State .",
         "ex:x a dkg:TradeMeasure .", path=DKG.imposedBy, variant="missing"),
    case("TradeMeasure-imposedBy", "Violation", "ex:x a dkg:TradeMeasure ; dkg:imposedBy ex:j . ex:j a dkg:State .",
         "ex:x a dkg:TradeMeasure ; dkg:imposedBy ex:j . ex:j a dkg:Company .", path=DKG.imposedBy,
         variant="not-a-state"),
    case("TradeMeasure-targets", "Violation", "ex:x a dkg:TradeMeasure ; dkg:targets ex:k . ex:k a dkg:State .",
         "ex:x a dkg:TradeMeasure ; dkg:targets ex:k . ex:k a dkg:Organisation .", path=DKG.targets),
    case("TradeMeasure-notSelf", "Violation",
         "ex:x a dkg:TradeMeasure ; dkg:imposedBy ex:j ; dkg:targets ex:k .",
         "ex:x a dkg:TradeMeasure ; dkg:imposedBy ex:j ; dkg:targets ex:j, ex:k .",
         path=DKG.imposedBy),
    case("TradeMeasure-product", "Warning", 'ex:x a dkg:TradeMeasure ; dkg:product "hydrogen fluoride"@en .',
         "ex:x a dkg:TradeMeasure .", path=DKG.product),
    # ---- agreements, visits, ceremonies ----
    case("Agreement-parties", "Violation", "ex:x a dkg:Agreement ; dkg:party ex:j, ex:k .",
         "ex:x a dkg:Agreement ; dkg:party ex:j .", path=DKG.party),
    case("Agreement-term", "Warning", 'ex:x a dkg:Agreement ; dkg:term "Japan funds a foundation."@en .',
         "ex:x a dkg:Agreement .", path=DKG.term),
    case("Visit-visitor", "Violation", "ex:x a dkg:Visit ; dkg:participant ex:abe .",
         "ex:x a dkg:Visit ; dkg:party ex:japan .", path=DKG.participant),
    case("Visit-place", "Warning", "ex:x a dkg:Visit ; dkg:place ex:yasukuni .", "ex:x a dkg:Visit .", path=DKG.place),
    case("Ceremony-place", "Warning", "ex:x a dkg:Ceremony ; dkg:place ex:square .", "ex:x a dkg:Ceremony .",
         path=DKG.place),
    case("Ceremony-attendee", "Info", "ex:x a dkg:Ceremony ; dkg:participant ex:lee .", "ex:x a dkg:Ceremony ."),
    # ---- gatherings ----
    case("Gathering-label", "Violation", 'ex:x a dkg:Gathering ; skos:prefLabel "Munich Security Conference"@en .',
         "ex:x a dkg:Gathering ."),
    case("Gathering-dated", "Info", 'ex:x a dkg:Gathering ; dkg:date "2023-02-17"^^xsd:date .',
         "ex:x a dkg:Gathering ."),
    case("Gathering-place", "Violation", "ex:x a dkg:Gathering ; dkg:place ex:p . ex:p a dkg:Place .",
         "ex:x a dkg:Gathering ; dkg:place ex:p . ex:p a dkg:Person .", path=DKG.place),
    case("Entity-wikidata", "Info", "ex:x a dkg:Gathering ; dkg:wikidata wd:Q1 .",
         "ex:x a dkg:Gathering .", path=DKG.wikidata, variant="Gathering"),
    # ---- statements ----
    case("Statement-evidence", "Violation", "ex:x a dkg:Statement ; dkg:evidence ex:ev . ex:ev a dkg:Evidence .",
         "ex:x a dkg:Statement ."),
    case("Statement-evidenceClass", "Violation", "ex:x a dkg:Statement ; dkg:evidence ex:ev . ex:ev a dkg:Evidence .",
         "ex:x a dkg:Statement ; dkg:evidence ex:ev .", path=DKG.evidence),
    case("Statement-paraphrase", "Violation", "ex:x a dkg:Statement ; dkg:paraphrase true .",
         'ex:x a dkg:Statement ; dkg:paraphrase "yes" .', path=DKG.paraphrase),
    # ---- the resolved layer ----
    case("ResolvedValue-subject", "Violation", RESOLVED, RESOLVED.replace("rdf:subject ex:e ;", ""),
         path=RDF.subject),
    case("ResolvedValue-predicate", "Violation", RESOLVED, RESOLVED.replace("rdf:predicate dkg:date ;", ""),
         path=RDF.predicate),
    case("ResolvedValue-object", "Violation", RESOLVED,
         RESOLVED.replace('rdf:object "2017-09-22"', 'rdf:object "2017-09-22", "2021-09-22"'), path=RDF.object),
    case("ResolvedValue-rank", "Violation", RESOLVED, RESOLVED.replace("dkg:rank dkg:Corrected", "dkg:rank dkg:Held"),
         path=DKG.rank),
    case("ResolvedValue-source", "Violation", RESOLVED, RESOLVED.replace("prov:wasDerivedFrom ex:correction", ""),
         path=URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")),
    case("Statement-content", "Violation", 'ex:x a dkg:Statement ; dkg:content "It is retaliation."@en .',
         "ex:x a dkg:Statement .", path=DKG.content, variant="missing"),
    case("Statement-content", "Violation", 'ex:x a dkg:Statement ; dkg:content "It is retaliation."@en .',
         'ex:x a dkg:Statement ; dkg:content "It is retaliation."@en, "It is not."@en .', path=DKG.content,
         variant="two"),
    case("Statement-speaker", "Warning", "ex:x a dkg:Statement ; dkg:speaker ex:observers .", "ex:x a dkg:Statement .",
         path=DKG.speaker),
    case("Statement-topic", "Violation", "ex:x a dkg:Statement ; dkg:topic ex:t . ex:t a dkg:Issue .",
         "ex:x a dkg:Statement ; dkg:topic ex:t .", path=DKG.topic),
    case("Statement-claimPredicate", "Violation", "ex:x a dkg:Statement ; dkg:claimPredicate dkg:retaliationFor .",
         'ex:x a dkg:Statement ; dkg:claimPredicate "retaliation for" .', path=DKG.claimPredicate),
    case("ClaimComplete", "Violation",
         "ex:x a dkg:Statement ; dkg:claimSubject ex:m ; dkg:claimPredicate dkg:retaliationFor ;"
         " dkg:claimObject ex:r .",
         "ex:x a dkg:Statement ; dkg:claimSubject ex:m ; dkg:claimPredicate dkg:retaliationFor .",
         path=DKG.claimObject, variant="object"),
    case("ClaimComplete", "Violation", "ex:x a dkg:Statement ; dkg:content \"no claim here\" .",
         "ex:x a dkg:Statement ; dkg:claimPredicate dkg:responsibilityOf ; dkg:claimObject ex:korea .",
         path=DKG.claimSubject, variant="subject"),
    # ---- corrections ----
    case("Correction-article", "Violation", f"{CORRECTION} ; {SOURCE} .",
         f"{CORRECTION} ; {SOURCE} . ex:x dkg:correctsArticle ex:ceremony .", path=DKG.correctsArticle),
    case("Correction-subject", "Violation", f"{CORRECTION} ; {SOURCE} .",
         f"ex:x a dkg:Correction ; dkg:correctsArticle ex:article ; {SOURCE} .", path=DKG.correctionSubject),
    case("Correction-property", "Violation", f"{CORRECTION} ; {SOURCE} .",
         f'ex:x a dkg:Correction ; dkg:correctedProperty "date" ; {SOURCE} .', path=DKG.correctedProperty),
    case("Correction-value", "Violation", f'{CORRECTION} ; rdfs:comment "It was unveiled in 2017."@en ; {SOURCE} .',
         f"{CORRECTION} ; {SOURCE} ."),
    case("Correction-source", "Violation", f'{CORRECTION} ; dkg:correctValue "2017-09-22"^^xsd:date ; {SOURCE} .',
         f'{CORRECTION} ; dkg:correctValue "2017-09-22"^^xsd:date .', path=DCTERMS.source),
    # ---- memberships ----
    case("Membership-member", "Violation", MEMBERSHIP,
         "ex:x a org:Membership ; org:member ex:p, ex:q .", path=ORG.member),
    case("Membership-organization", "Violation",
         MEMBERSHIP,
         "ex:x a org:Membership ; org:member ex:p .", path=ORG.organization),
    case("Membership-role", "Warning", MEMBERSHIP,
         "ex:x a org:Membership ; org:member ex:p ; org:organization ex:o .",
         path=ORG.role),
    case("Membership-during", "Violation", MEMBERSHIP,
         "ex:x a org:Membership ; org:memberDuring ex:i, ex:j .", path=ORG.memberDuring),
    case("Membership-dates", "Violation",
         membership('time:inXSDDate "2021-02-09"^^xsd:date', 'time:inXSDgYearMonth "2022-05"^^xsd:gYearMonth'),
         membership('time:inXSDDate "2021-02-09"', 'time:inXSDDate "2022-05-12"^^xsd:date')),
    case("MembershipEndNotBeforeStart", "Violation",
         membership('time:inXSDgYearMonth "2021-02"^^xsd:gYearMonth', 'time:inXSDDate "2021-02-09"^^xsd:date'),
         membership('time:inXSDDate "2021-02-09"^^xsd:date', 'time:inXSDDate "2021-02-08"^^xsd:date')),
    # ---- articles ----
    case("Article-sha256", "Violation", f"{ARTICLE} .", 'ex:x a dkg:Article ; dkg:sha256 "70CC7974" .',
         path=DKG.sha256, variant="not-hex"),
    case("Article-sha256", "Violation", f"{ARTICLE} .", "ex:x a dkg:Article .", path=DKG.sha256, variant="missing"),
    case("Article-publisher", "Warning", f"{ARTICLE} .", "ex:x a dkg:Article .", path=DKG.publisher),
    case("Article-dated", "Info", f"{ARTICLE} .", "ex:x a dkg:Article .", path=DKG.publicationDate),
    case("Article-textLength", "Violation", f'{ARTICLE} ; dkg:textLength "2334"^^xsd:nonNegativeInteger .',
         f"{ARTICLE} ; dkg:textLength 2334 .", path=DKG.textLength),
    case("Article-machineTranslated", "Violation", f"{ARTICLE} ; dkg:machineTranslated true .",
         f'{ARTICLE} ; dkg:machineTranslated "yes" .', path=DKG.machineTranslated),
    # ---- evidence ----
    case("Evidence-body", "Violation", evidence(), evidence().replace("oa:hasBody ex:fact ;", ""),
         path=OA.hasBody),
    case("Evidence-target", "Violation", evidence(), evidence(target="oa:hasSource ex:article"),
         path=OA.hasTarget),
    case("Evidence-source", "Violation", evidence(), evidence(target="a oa:SpecificResource ; oa:hasSource ex:other"),
         variant="not-an-article"),
    case("Evidence-source", "Violation", evidence(),
         evidence(target="a oa:SpecificResource ; oa:hasSource ex:article, ex:a2") + "ex:a2 a dkg:Article .",
         variant="two"),
    case("Evidence-quote", "Violation", evidence(), evidence(quote='a oa:TextQuoteSelector ; oa:exact "x"') + """
         ex:target oa:hasSelector ex:quote2 . ex:quote2 a oa:TextQuoteSelector ; oa:exact "y" .""",
         variant="two-selectors"),
    case("Evidence-quote", "Violation", evidence(), evidence(quote='oa:exact "held talks"'), covers="TextQuote-type"),
    case("Evidence-quote", "Violation", evidence(quote='a oa:TextQuoteSelector ; oa:exact "held talks"'),
         evidence(quote='a oa:TextQuoteSelector ; oa:exact "held talks", "talks"'), covers="TextQuote-exact",
         variant="two"),
    case("Evidence-quote", "Violation", evidence(), evidence(quote='a oa:TextQuoteSelector ; oa:exact "held talks"@en'),
         covers="TextQuote-exact", variant="language-tagged"),
    case("Evidence-quote", "Violation", evidence(), evidence(quote='a oa:TextQuoteSelector ; oa:exact ""'),
         covers="TextQuote-exact", variant="empty"),
    case("Evidence-quote", "Violation", evidence(quote='a oa:TextQuoteSelector ; oa:exact "The two" ; oa:prefix ""'),
         evidence(quote='a oa:TextQuoteSelector ; oa:exact "held talks" ; oa:prefix "They ", "We "'),
         covers="TextQuote-prefix"),
    case("Evidence-quote", "Violation", evidence(),
         evidence(quote='a oa:TextQuoteSelector ; oa:exact "held talks" ; oa:suffix 1'), covers="TextQuote-suffix"),
    case("Evidence-position", "Violation", evidence(),
         evidence(position='oa:start "10"^^xsd:nonNegativeInteger ; oa:end "20"^^xsd:nonNegativeInteger'),
         covers="TextPosition-type"),
    case("Evidence-position", "Violation", evidence(),
         evidence(position='a oa:TextPositionSelector ; oa:start 10 ; oa:end "20"^^xsd:nonNegativeInteger'),
         covers="TextPosition-start"),
    case("Evidence-position", "Violation", evidence(),
         evidence(position='a oa:TextPositionSelector ; oa:start "10"^^xsd:nonNegativeInteger'),
         covers="TextPosition-end"),
    case("Evidence-position", "Violation", evidence(),
         evidence(position=('a oa:TextPositionSelector ; oa:start "20"^^xsd:nonNegativeInteger ; '
                            'oa:end "10"^^xsd:nonNegativeInteger')), covers="TextPosition-order"),
    case("Evidence-position", "Violation", evidence(), evidence() + """
         ex:target oa:hasSelector ex:position2 . ex:position2 a oa:TextPositionSelector ;
             oa:start "0"^^xsd:nonNegativeInteger ; oa:end "5"^^xsd:nonNegativeInteger .""", variant="two-selectors"),
    case("Evidence-supports", "Violation", evidence(supports="dkg:date, dkg:place"), evidence(supports='"date"'),
         path=DKG.supports),
]


def date_cases() -> list:
    """Dates: at most one value, of one of the three date datatypes, on every class that has one."""
    cases = []
    for name, (cls, prop) in DATE_PROPERTIES.items():
        curie = "dkg:" + prop.removeprefix(str(DKG._NS))
        cases += [
            case(name, "Violation", f'ex:x a {cls} ; {curie} "2019-07"^^xsd:gYearMonth .',
                 f'ex:x a {cls} ; {curie} "July 2019" .', path=prop, variant="not-a-date"),
            case(name, "Violation", f'ex:x a {cls} ; {curie} "2019-07-04"^^xsd:date .',
                 f'ex:x a {cls} ; {curie} "2019-07-04"^^xsd:date, "2019-07-05"^^xsd:date .', path=prop,
                 variant="two"),
        ]
    return cases + [
        case("Event-date", "Violation", 'ex:x a dkg:Meeting ; dkg:date "2019"^^xsd:gYear .',
             'ex:x a dkg:Meeting ; dkg:date "2019-07-04T00:00:00"^^xsd:dateTime .', path=DKG.date,
             variant="datetime"),
        # rdflib drops the timezone of an xsd:date when it parses one; other stores keep it.
        case("Event-date", "Violation", 'ex:x a dkg:Meeting ; dkg:date "2019-07"^^xsd:gYearMonth .',
             'ex:x a dkg:Meeting ; dkg:date "2019-07+09:00"^^xsd:gYearMonth .', path=DKG.date,
             variant="timezone"),
    ]


def entity_cases() -> list:
    """Entities of the register share their constraints; each class is checked to be a target."""
    cases = [case("Entity-prefLabel", "Violation", f'ex:x a {cls} ; skos:prefLabel "Seoul"@en, "서울"@ko .',
                  f"ex:x a {cls} .", path=SKOS.prefLabel, variant=f"{name}-missing")
             for name, cls in ENTITIES.items()]
    return cases + [
        case("Entity-prefLabel", "Violation",
             'ex:x a dkg:Place ; skos:prefLabel "Seoul"@en ; skos:altLabel "Soul"@en .',
             'ex:x a dkg:Place ; skos:prefLabel "Seoul"@en, "Soul"@en .', path=SKOS.prefLabel, variant="two"),
        case("Entity-prefLabel", "Violation", 'ex:x a dkg:State ; skos:prefLabel "Korea"@en-GB .',
             'ex:x a dkg:State ; skos:prefLabel "한국"@ko .', path=SKOS.prefLabel, variant="not-english"),
        case("Entity-wikidata", "Info", "ex:x a dkg:Person ; dkg:wikidata wd:Q359480 .",
             "ex:x a dkg:Person .", path=DKG.wikidata, variant="Person"),
        case("Entity-wikidata", "Info", "ex:x a dkg:Company ; dkg:wikidata wd:Q1 .",
             "ex:x a dkg:Company .", path=DKG.wikidata, variant="Company"),
        case("Entity-wikidataValue", "Violation", "ex:x a dkg:Place ; dkg:wikidata wd:Q8684 .",
             "ex:x a dkg:Place ; dkg:wikidata <https://www.wikidata.org/wiki/Q8684> .", path=DKG.wikidata,
             variant="page-not-entity"),
        case("Entity-wikidataValue", "Violation", "ex:x a dkg:Issue ; dkg:wikidata wd:Q8684 .",
             'ex:x a dkg:Issue ; dkg:wikidata "Q8684" .', path=DKG.wikidata, variant="literal"),
    ]


CASES += date_cases() + entity_cases()


def data_graph(turtle: str) -> Graph:
    return Graph().parse(data=PREFIXES + turtle, format="turtle")


@pytest.mark.parametrize("c", CASES)
def test_failing_example_is_reported(c: Case) -> None:
    found = results_of(validate(data_graph(c.failing)), DKGSH[c.constraint])
    assert found, f"{c.constraint} did not report the failing example"
    for result in found:
        assert result.severity == c.severity
        if c.path is not None:
            assert result.path == c.path
        assert result.message and "{" not in result.message, result.message


@pytest.mark.parametrize("c", CASES)
def test_passing_example_is_not_reported(c: Case) -> None:
    found = results_of(validate(data_graph(c.passing)), DKGSH[c.constraint])
    assert not found, [r.message for r in found]


def test_complete_graph_has_no_violation_or_warning() -> None:
    report = validate(Graph().parse(FIXTURES / "complete.ttl", format="turtle"))
    serious = [(report.value(r, SH.focusNode), report.value(r, SH.resultMessage))
               for r in report.subjects(RDF.type, SH.ValidationResult)
               if report.value(r, SH.resultSeverity) != SH.Info]
    assert serious == []


def test_complete_graph_infos_are_only_missing_wikidata_links() -> None:
    report = validate(Graph().parse(FIXTURES / "complete.ttl", format="turtle"))
    shapes_reported = {report.value(r, SH.sourceShape) for r in report.subjects(RDF.type, SH.ValidationResult)}
    assert shapes_reported <= {DKGSH["Entity-wikidata"]}


# ---- the shapes themselves ----

def constraints() -> dict[URIRef, set[URIRef]]:
    """Every property shape and SPARQL constraint, mapped to the shapes that hold it."""
    g = shapes()
    held: dict[URIRef, set[URIRef]] = {}
    for holder, _p, constraint in [*g.triples((None, SH.property, None)), *g.triples((None, SH.sparql, None))]:
        held.setdefault(constraint, set()).add(holder)
    return held


def test_every_constraint_is_named() -> None:
    unnamed = [holders for constraint, holders in constraints().items() if not isinstance(constraint, URIRef)]
    assert unnamed == []


def test_every_constraint_has_message_and_severity() -> None:
    g = shapes()
    for constraint, holders in constraints().items():
        assert g.value(constraint, SH.message) is not None, constraint
        if g.value(constraint, SH.select) is None:
            assert g.value(constraint, SH.severity) in SEVERITIES.values(), constraint
        else:  # a SPARQL constraint takes the severity of the shape that holds it
            assert {g.value(holder, SH.severity) for holder in holders} <= set(SEVERITIES.values()), constraint
            assert None not in {g.value(holder, SH.severity) for holder in holders}, constraint


def test_every_constraint_has_a_passing_and_a_failing_case() -> None:
    covered = {DKGSH[c.values[0].covers or c.values[0].constraint] for c in CASES}
    assert set(constraints()) - covered == set()
    assert covered - set(constraints()) == set()


def test_node_shapes_are_documented_and_carry_no_message() -> None:
    g = shapes()
    for shape in g.subjects(RDF.type, SH.NodeShape):
        assert g.value(shape, RDFS.label) is not None, shape
        assert g.value(shape, RDFS.comment) is not None, shape
        # pySHACL would repeat a node shape's message on every result of its property shapes.
        assert g.value(shape, SH.message) is None, shape


def test_every_data_class_has_a_node_shape() -> None:
    targeted = set(shapes().objects(None, SH.targetClass))
    classes = {DKG.Event, DKG.Meeting, DKG.Ruling, DKG.TradeMeasure, DKG.Agreement, DKG.Visit, DKG.Ceremony,
               DKG.Statement, DKG.Correction, DKG.Person, DKG.State, DKG.Organisation, DKG.Place, DKG.Issue,
               DKG.Article, DKG.Evidence, DKG.Gathering, DKG.GovernmentBody, DKG.Court, DKG.Company}
    assert classes - targeted == set()


@pytest.mark.parametrize(("constraint", "scheme"), [("Event-status", DKG.statusScheme),
                                                    ("Meeting-levelValue", DKG.levelScheme),
                                                    ("Meeting-mode", DKG.modeScheme)])
def test_sh_in_lists_are_the_concept_schemes(constraint: str, scheme: URIRef) -> None:
    g = shapes()
    listed = set(Collection(g, g.value(DKGSH[constraint], SH["in"])))
    assert listed == set(ontology().subjects(SKOS.inScheme, scheme))


# ---- the ontology ----

def dkg_terms() -> set[URIRef]:
    """Every IRI of the dkg namespace that dkg.ttl mentions, as subject or object."""
    ns = str(DKG._NS)
    return {term for triple in ontology() for term in triple if isinstance(term, URIRef) and term.startswith(ns)}


def test_ontology_terms_are_the_vocab_names() -> None:
    ns = str(DKG._NS)
    assert {term[len(ns):] for term in dkg_terms()} == set(DKG.__annotations__)


def test_every_term_is_declared_labelled_and_defined() -> None:
    g = ontology()
    for term in dkg_terms():
        assert set(g.objects(term, RDF.type)), f"{term} has no rdf:type"
        labels = list(g.objects(term, RDFS.label))
        definitions = list(g.objects(term, SKOS.definition))
        assert len(labels) == 1 and labels[0].language == "en", term
        assert len(definitions) == 1 and definitions[0].language == "en", term
        assert str(definitions[0]).endswith("."), term
        assert (term, RDFS.isDefinedBy, ONTOLOGY_IRI) in g, term


def test_terms_have_the_right_kind() -> None:
    g = ontology()
    kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property, SKOS.Concept, SKOS.ConceptScheme}
    for term in dkg_terms():
        assert set(g.objects(term, RDF.type)) & kinds, term
    for name in ("Held", "Planned", "Expected", "NotHeld", "InPerson", "Telephone", "Summit", "Ministerial",
                 "ViceMinisterial", "DirectorGeneral", "Ambassadorial", "EnvoyLevel", "WorkingLevel"):
        concept = DKG[name]
        assert (concept, RDF.type, SKOS.Concept) in g
        assert g.value(concept, SKOS.prefLabel) is not None
        scheme = g.value(concept, SKOS.inScheme)
        assert (scheme, RDF.type, SKOS.ConceptScheme) in g
        assert (concept, RDF.type, {DKG.statusScheme: DKG.EventStatus, DKG.levelScheme: DKG.Level,
                                    DKG.modeScheme: DKG.MeetingMode}[scheme]) in g


def test_ontology_header() -> None:
    g = ontology()
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in g
    assert g.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef("https://w3id.org/kg-service/ontology/0.1.0")
    assert str(g.value(ONTOLOGY_IRI, OWL.versionInfo)) == "0.1.0"
    for prop in ("title", "description", "license", "created"):
        assert g.value(ONTOLOGY_IRI, URIRef("http://purl.org/dc/terms/" + prop)) is not None, prop
    assert g.value(ONTOLOGY_IRI, URIRef("http://purl.org/dc/terms/created")).datatype == XSD.date
