"""The RDF term of a checked mapping value, as the field registry types it.

One place decides how each field type becomes RDF (fields.py says which type a field has): a key
becomes the IRI it names, a date a literal at its own precision (`xsd:date`, `xsd:gYearMonth`,
`xsd:gYear`), text an English literal, a count an `xsd:nonNegativeInteger`, a choice the concept it
stands for. The compiler types the fields of events and statements and the correct values of
corrections with it, so a correction's value is typed exactly as the field it corrects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rdflib import XSD, Literal, URIRef

from .dates import date_literal, is_date_text
from .fields import BOOL, CHOICE_VALUES, COUNT, DATE, DECIMAL, DURATION, KEY, KEYS, TEXT, TEXTS, FieldSpec

_PLAIN = {"award_currency"}


def field_terms(name: str, spec: FieldSpec, value: Any,
                resolve: Callable[[str], URIRef | None]) -> list[URIRef | Literal]:
    """The RDF terms of one checked value of field `name`, as its type in the registry says.

    Keys go through `resolve`, which answers None for a key it does not know (and reports it): such a
    key gives no term.

    >>> field_terms("date", FieldSpec(DATE), "2019-07", {}.get)[0].datatype == XSD.gYearMonth
    True
    >>> field_terms("participants", FieldSpec(KEYS), ("moon", "nobody"), {"moon": URIRef("urn:moon")}.get)
    [rdflib.term.URIRef('urn:moon')]
    """
    if name in CHOICE_VALUES:
        return [CHOICE_VALUES[name][value]]
    if spec.type in (KEY, KEYS):
        found = (resolve(key) for key in ((value,) if spec.type == KEY else value))
        return [iri for iri in found if iri is not None]
    if spec.type == DATE:
        return [date_literal(value)]
    if spec.type in (TEXT, TEXTS):
        return [Literal(text) if name in _PLAIN else Literal(text, lang="en")
                for text in ((value,) if spec.type == TEXT else value)]
    if spec.type == DURATION:
        return [Literal(value, datatype=XSD.duration)]
    if spec.type == COUNT:
        return [Literal(value, datatype=XSD.nonNegativeInteger)]
    if spec.type == DECIMAL:
        return [Literal(str(value), datatype=XSD.decimal)]
    if spec.type == BOOL:
        return [Literal(bool(value))]
    return []


def value_literal(text: str) -> Literal:
    """A stated or correct value: typed as a date when it is one, plain text otherwise.

    >>> value_literal("2017-09-22").datatype == XSD.date, value_literal("Nippon Steel").datatype
    (True, None)
    """
    if is_date_text(text):
        return date_literal(text)
    return Literal(text, lang="en")
