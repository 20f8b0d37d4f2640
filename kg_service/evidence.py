"""Evidence: each quote of a mapping located in the verbatim text and written as a Web Annotation.

A fact that matters points to the exact passage it rests on (DESIGN: evidence on every fact). The
quote is found by code point (quotes.py), at the occurrence the author picks or at the offset they
give, and becomes a `dkg:Evidence` / `oa:Annotation` whose target selects the passage twice: by its
words with some context (`oa:TextQuoteSelector`) and by its offsets (`oa:TextPositionSelector`), so
the article page can mark it and a text edited after mapping is caught. A quote that is not where the
mapping says becomes a finding at its line, never a guess. The compiler (compiler.py) calls this for
every quote of an event or a statement.
"""

from __future__ import annotations

from typing import Protocol

from rdflib import RDF, XSD, Literal, URIRef

from .compiled import CompiledArticle
from .entries import Quote
from .fields import PREDICATES
from .quotes import CONTEXT, Located, count, locate, not_found_hint
from .vocab import DKG, OA, article_iri, mint


class Note(Protocol):
    """Where a problem goes: the compiler's findings, at a mapping line, about a node and a property."""

    def __call__(self, severity: str, line: int, message: str, focus: URIRef | None = None,
                 path: URIRef | None = None) -> None: ...


class EvidenceWriter:
    """Writes the evidence of one article's quotes into its compiled graph, noting what does not match."""

    def __init__(self, text: str, out: CompiledArticle, note: Note):
        self.text, self.out, self.note = text, out, note
        self.article_iri = article_iri(out.article_id)
        self.searched = 0  # quotes not found so far: only the first few get a closest-passage search

    def add(self, fact: URIRef, quote: Quote, where: str, fields: set[str]) -> None:
        """The evidence of `fact` (an event or statement) from one of its quotes; `fields` are the fact's
        field names, which the quote's `supports` may name."""
        found = locate(self.text, quote.text, quote.occurrence)
        if quote.start is not None:
            found = self.at_offset(fact, quote, where, found)
            if found is None:
                return
        elif found is None:
            times = count(self.text, quote.text)
            message = (f"{where}.evidence: the quote occurs {times} time(s), not {quote.occurrence}" if times else
                       f"{where}.evidence: quote not found in the text; "
                       f"{not_found_hint(self.text, quote.text, self.searched)}")
            self.searched += not times
            self.note("Violation", quote.line, message, fact, DKG.evidence)
            return
        if quote.start is None and quote.occurrence == 1 and count(self.text, quote.text) > 1:
            self.note("Warning", quote.line, f"{where}.evidence: the quote occurs {count(self.text, quote.text)} "
                      "times; the first is used: add occurrence: N to pick another", fact, DKG.evidence)
        ev = mint("evidence", self.out.article_id, f"{found.start}-{found.end}")
        target, quote_sel, pos_sel = URIRef(ev + "#target"), URIRef(ev + "#quote"), URIRef(ev + "#position")
        for node in (ev, target, quote_sel, pos_sel):  # a SHACL result about the evidence points at its quote
            self.out.lines.setdefault(node, (quote.line, {}))
        graph = self.out.graph
        graph.add((fact, DKG.evidence, ev))
        graph.add((ev, RDF.type, DKG.Evidence))
        graph.add((ev, RDF.type, OA.Annotation))
        graph.add((ev, OA.motivatedBy, OA.describing))
        graph.add((ev, OA.hasBody, fact))
        graph.add((ev, OA.hasTarget, target))
        graph.add((target, RDF.type, OA.SpecificResource))
        graph.add((target, OA.hasSource, self.article_iri))
        graph.add((target, OA.hasSelector, quote_sel))
        graph.add((target, OA.hasSelector, pos_sel))
        graph.add((quote_sel, RDF.type, OA.TextQuoteSelector))
        graph.add((quote_sel, OA.exact, Literal(quote.text)))
        graph.add((quote_sel, OA.prefix, Literal(found.prefix)))
        graph.add((quote_sel, OA.suffix, Literal(found.suffix)))
        graph.add((pos_sel, RDF.type, OA.TextPositionSelector))
        graph.add((pos_sel, OA.start, Literal(found.start, datatype=XSD.nonNegativeInteger)))
        graph.add((pos_sel, OA.end, Literal(found.end, datatype=XSD.nonNegativeInteger)))
        for name in quote.supports:
            if name not in fields or name not in PREDICATES:
                self.note("Violation", quote.line, f"{where}.evidence.supports: {name!r} is not a field here")
                continue
            graph.add((ev, DKG.supports, PREDICATES[name]))

    def at_offset(self, fact: URIRef, quote: Quote, where: str, found: Located | None) -> Located | None:
        """The quote at the author's own offset, or a finding saying what the text holds there."""
        start, end = quote.start or 0, (quote.start or 0) + len(quote.text)
        if self.text[start:end] == quote.text:
            return Located(start, end, self.text[max(0, start - CONTEXT):start], self.text[end:end + CONTEXT])
        there = self.text[start:end]
        elsewhere = f"; the quote is at offset {found.start}" if found else ""
        self.note("Violation", quote.line, f"{where}.evidence.start: offset {start} does not match the quote: "
                  f"the text there reads {there!r}{elsewhere}", fact, DKG.evidence)
        return None
