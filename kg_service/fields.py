"""The field registry: what every field of a mapping is, in one table.

Each `FieldSpec` says a field's type (how the reader checks it and the compiler types it), whether it
is required, its choices, the ontology property it becomes, the event classes that have it, whether an
agent it names takes part in the event (an *actor*: who met, ruled, imposed...), and how the resolver
(resolve.py) picks the best-known value when articles and corrections disagree. The reader
(fieldread.py), the compiler, the resolver, the checks, the pages and the timeline all read this table,
and a correction's value is typed by the spec of the field it corrects: adding a field is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDFS, URIRef
from rdflib.namespace import SKOS

from .vocab import DKG, EVENT_CLASSES, LEVELS, MODES, STATUSES

# Field types. Each names how a value is read and checked; the compiler turns each into RDF.
KEY, KEYS, TEXT, TEXTS, DATE, DURATION, COUNT, DECIMAL, BOOL, QUOTES, CHOICE, URL, URLS, WIKIDATA, DISTINCT = (
    "key", "keys", "text", "texts", "date", "duration", "count", "decimal", "bool", "quotes", "choice", "url", "urls",
    "wikidata", "distinct")
MANY = frozenset({KEYS, TEXTS, QUOTES, URLS, DISTINCT})

# How the resolver chooses one value among the sources' (a correction always wins):
PRECISE = "precise"  # dates: the most precise value all sources agree on; 2019 and 2019-07-01 agree
SAME = "same"  # one value all sources give, else a disputed marker with each source's claim
STATUS = "status"  # the most advanced status: held, then not-held, planned, expected (later reports know more)
FIRST = "first"  # our own wording (a label): the first article's
UNION = "union"  # every value any source gives
OWN = "own"  # what only the article can say (its own words for a date): kept in its graph only


@dataclass(frozen=True)
class FieldSpec:
    """One field of the mapping schema."""

    type: str
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""
    predicate: URIRef | None = None  # the property the compiler writes; None: not a triple of its own
    actor: bool = False  # an agent named here takes part in the event (duplicate checks, timeline filter)
    resolve: str = ""  # how the resolved layer picks its value; "" means by type (see `rule`)

    @property
    def many(self) -> bool:
        """A field that holds a list: every value stands (never disputed, only corrected as a whole)."""
        return self.type in MANY

    @property
    def rule(self) -> str:
        """How this field resolves.

        >>> FieldSpec(DATE).rule, FieldSpec(KEYS).rule, FieldSpec(KEY).rule
        ('precise', 'union', 'same')
        """
        if self.resolve:
            return self.resolve
        return PRECISE if self.type == DATE else UNION if self.many else SAME


def _f(type_: str, predicate: URIRef | None = None, *, required: bool = False, choices: tuple[str, ...] = (),
       help: str = "", actor: bool = False, resolve: str = "") -> FieldSpec:
    return FieldSpec(type_, required, choices, help, predicate, actor, resolve)


COMMON_EVENT_FIELDS = {
    "id": _f(KEY, required=True, help="readable key of the event; the same key in two articles is one event"),
    "class": _f(CHOICE, required=True, choices=tuple(EVENT_CLASSES)),
    "label": _f(TEXT, RDFS.label, required=True, help="a short name for the event, in English", resolve=FIRST),
    "status": _f(CHOICE, DKG.status, required=True, choices=tuple(STATUSES), resolve=STATUS),
    "date": _f(DATE, DKG.date, help="YYYY-MM-DD, YYYY-MM or YYYY: the real precision"),
    "end_date": _f(DATE, DKG.endDate), "earliest_date": _f(DATE, DKG.earliestDate),
    "latest_date": _f(DATE, DKG.latestDate),
    "date_phrase": _f(TEXT, DKG.datePhrase, help="the article's own words for the date; must occur in the text",
                      resolve=OWN),
    "undated_because": _f(TEXT, DKG.undatedBecause, help="why nobody can date the event", resolve=UNION),
    "place": _f(KEY, DKG.place), "participants": _f(KEYS, DKG.participant, actor=True),
    "parties": _f(KEYS, DKG.party, actor=True), "topics": _f(KEYS, DKG.topic),
    "outcome": _f(TEXT, DKG.outcome, resolve=UNION), "note": _f(TEXT, SKOS.editorialNote, resolve=UNION),
    "part_of": _f(KEY, DKG.partOf, help="the event this one is an agenda item or sub-event of"),
    "agenda": _f(TEXTS, DKG.agendaItem, help="the items on a meeting's agenda, in the article's words"),
    "evidence": _f(QUOTES, DKG.evidence, required=True, help="exact quotes from the article text", resolve=OWN),
    # written by the compiler as owl:differentFrom plus an editorial note (compiler.event)
    "distinct_from": _f(DISTINCT, help="known events this one is not, though it looks like them: "
                                       "[{id: EVENT, reason: TEXT}]"),
}
EVENT_FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Meeting": {"level": _f(CHOICE, DKG.level, choices=tuple(LEVELS)),
                "mode": _f(CHOICE, DKG.mode, choices=tuple(MODES)),
                "sidelines_of": _f(KEY, DKG.sidelinesOf), "duration": _f(DURATION, DKG.duration)},
    "Ruling": {"court": _f(KEY, DKG.court, actor=True), "plaintiffs": _f(KEYS, DKG.plaintiff, actor=True),
               "plaintiff_description": _f(TEXT, DKG.plaintiffDescription),
               "plaintiff_count": _f(COUNT, DKG.plaintiffCount), "defendants": _f(KEYS, DKG.defendant, actor=True),
               "ruled_that": _f(TEXT, DKG.ruledThat, resolve=UNION),
               "award_per_plaintiff": _f(DECIMAL, DKG.awardPerPlaintiff),
               "award_currency": _f(TEXT, DKG.awardCurrency)},
    "TradeMeasure": {"imposed_by": _f(KEY, DKG.imposedBy, actor=True), "targets": _f(KEYS, DKG.targets, actor=True),
                     "products": _f(TEXTS, DKG.product), "announced_date": _f(DATE, DKG.announcedDate),
                     "effective_date": _f(DATE, DKG.effectiveDate, help="the day the measure took effect")},
    "Agreement": {"terms": _f(TEXTS, DKG.term)},
    "Visit": {}, "Ceremony": {}, "Dispute": {}, "Announcement": {},
}
STATEMENT_FIELDS = {
    "id": _f(KEY, required=True), "speaker": _f(KEY, DKG.speaker), "date": _f(DATE, DKG.date),
    "date_phrase": _f(TEXT, DKG.datePhrase, resolve=OWN), "occasion": _f(KEY, DKG.occasion),
    "about": _f(KEYS, DKG.about), "topics": _f(KEYS, DKG.topic),
    "content": _f(TEXT, DKG.content, required=True, help="what was said, paraphrased"),
    "paraphrase": _f(BOOL, DKG.paraphrase, help="true when the article reports the words indirectly, not as a quote"),
    "claim": _f("claim", DKG.claimPredicate, help="a relation the speaker asserts: {subject, relation, object}"),
    "evidence": _f(QUOTES, DKG.evidence, required=True, resolve=OWN),
}
CORRECTION_FIELDS = {
    "subject": _f(KEY, required=True, help="event, statement or entity key the correction is about"),
    "field": _f(TEXT, required=True, help="mapping field corrected, e.g. date; 'event' adds an event; or 'identity'"),
    "stated": _f(TEXT, help="what the article says (omit when it says nothing)"),
    "correct": _f("correction", required=True,
                  help="what published sources say, typed as the field is (a date, keys, a status...)"),
    "source": _f(URL, required=True, help="URL of the source"), "note": _f(TEXT),
}
ARTICLE_FIELDS = {
    "text": _f(TEXT, required=True, help="file name of the verbatim text, beside the mapping"),
    "sha256": _f(TEXT, required=True), "title": _f(TEXT, required=True), "publisher": _f(KEY, DKG.publisher),
    "published": _f(DATE, DKG.publicationDate), "dateline": _f(TEXT, DKG.dateline),
    "dateline_place": _f(KEY, DKG.datelinePlace, help="the place the dateline names"),
    "source_agency": _f(KEY, DKG.upstreamSource, help="the agency the article credits as its source"),
    "date_note": _f(TEXT, DKG.dateNote), "language": _f(TEXT), "machine_translated": _f(BOOL, DKG.machineTranslated),
}
# A correction with `field: event` adds an event the article leaves out: an event without quotes.
ADDED_EVENT = "event"


def event_fields(cls: str) -> dict[str, FieldSpec]:
    """The fields an event of class `cls` may have: the common ones and its class's own.

    >>> "court" in event_fields("Ruling"), "court" in event_fields("Meeting")
    (True, False)
    """
    return {**COMMON_EVENT_FIELDS, **EVENT_FIELDS.get(cls, {})}


def all_fields() -> dict[str, FieldSpec]:
    """Every event and statement field by name (one name has one type and property everywhere)."""
    found: dict[str, FieldSpec] = {}
    for specs in (COMMON_EVENT_FIELDS, *EVENT_FIELDS.values(), STATEMENT_FIELDS):
        for name, spec in specs.items():
            found.setdefault(name, spec)
    return found


def correctable(name: str) -> FieldSpec | None:
    """The spec that types a correction of field `name`, or None for a field the registry does not know
    (such as an entity's label or 'identity', whose correct value stays text).

    >>> correctable("date").type, correctable("participants").type, correctable("identity")
    ('date', 'keys', None)
    """
    spec = all_fields().get(name)
    return spec if spec is not None and spec.predicate is not None and spec.type != QUOTES else None


PREDICATES: dict[str, URIRef] = {name: spec.predicate for specs in (ARTICLE_FIELDS, COMMON_EVENT_FIELDS,
                                                                    *EVENT_FIELDS.values(), STATEMENT_FIELDS)
                                 for name, spec in specs.items() if spec.predicate is not None}
ACTOR_PREDICATES: tuple[URIRef, ...] = tuple(dict.fromkeys(
    spec.predicate for specs in (COMMON_EVENT_FIELDS, *EVENT_FIELDS.values()) for spec in specs.values()
    if spec.actor and spec.predicate is not None))
# The order a resource page lists facts in: the registry's order.
FACT_ORDER: tuple[URIRef, ...] = tuple(dict.fromkeys(
    spec.predicate for specs in (COMMON_EVENT_FIELDS, *EVENT_FIELDS.values(), STATEMENT_FIELDS)
    for spec in specs.values() if spec.predicate is not None))
CHOICE_VALUES = {"status": STATUSES, "level": LEVELS, "mode": MODES}
