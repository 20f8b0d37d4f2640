"""Compile one checked mapping and its verbatim text into RDF: the article's named graph and metadata.

The compiler mints stable IRIs from the mapping's keys (compiled.py), resolves entity and event keys
through a `Catalogue` (catalogue.py: the register plus the events already known), types every value
as its field says (terms.py), locates every evidence quote in the text by code point (evidence.py),
and records problems as `Finding`s with the mapping line instead of stopping, so the validator can
report everything at once. It never guesses: an unknown key or a quote that is not in the text
produces no triple, only a finding. This module walks the mapping: the article's metadata, the
spellings it uses, its events and statements with their claims, and its corrections.
"""

from __future__ import annotations

import hashlib
from typing import Any

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, SKOS

from .catalogue import Catalogue
from .compiled import CompiledArticle, correction_iri, event_iri, statement_iri
from .dates import date_literal
from .entries import Entry
from .evidence import EvidenceWriter
from .fields import ADDED_EVENT, ARTICLE_FIELDS, PREDICATES, STATEMENT_FIELDS, FieldSpec, correctable, event_fields
from .mapping import Mapping
from .report import Finding
from .terms import field_terms, value_literal
from .vocab import CLAIM_RELATIONS, DKG, EVENT_CLASSES, article_graph, article_iri


def added_events(mapping: Mapping) -> dict[str, Entry]:
    """The events a mapping's corrections add (`field: event`), by key."""
    return {e.values["subject"]: e.values["correct"] for e in mapping.corrections
            if e.values.get("field") == ADDED_EVENT and isinstance(e.values.get("correct"), Entry)}


def compile_article(mapping: Mapping, text: str, catalogue: Catalogue) -> CompiledArticle:
    """Turn a checked mapping and its article text into triples and findings (never raises on content)."""
    aid = mapping.article_id
    out = CompiledArticle(aid, article_graph(aid), Graph(), Graph(), Graph(), [], {})
    compiler = _Compiler(mapping, text, catalogue, out)
    compiler.article()
    compiler.mentions()
    for entry in mapping.events:
        compiler.event(entry)
    for entry in mapping.statements:
        compiler.statement(entry)
    for entry in mapping.corrections:
        compiler.correction(entry)
    for key, entry in added_events(mapping).items():
        iri = event_iri(key)
        out.added.add((iri, RDF.type, EVENT_CLASSES[entry.values["class"]]))
        compiler.fields(iri, entry, f"corrections.{key}.correct", out.added)
    return out


class _Compiler:
    def __init__(self, mapping: Mapping, text: str, catalogue: Catalogue, out: CompiledArticle):
        self.mapping, self.text, self.catalogue, self.out = mapping, text, catalogue, out
        self.article_iri = article_iri(out.article_id)
        self.local = {e.values["id"]: statement_iri(out.article_id, e.values["id"]) for e in mapping.statements}
        self.local |= {e.values["id"]: event_iri(e.values["id"]) for e in mapping.events}
        self.local |= {key: event_iri(key) for key in added_events(mapping)}
        self.evidence = EvidenceWriter(text, out, self.finding)

    def finding(self, severity: str, line: int, message: str, focus: URIRef | None = None,
                path: URIRef | None = None) -> None:
        self.out.findings.append(Finding(severity, message, str(focus) if focus else None,
                                         str(path) if path else None, None, str(self.mapping.path), line))

    def ref(self, key: str, line: int, where: str, focus: URIRef) -> URIRef | None:
        iri = self.local.get(key) or self.catalogue.resolve(key)
        if iri is None:
            hint = [self.catalogue.describe(k) for k in self.catalogue.suggest(key)]
            self.finding("Violation", line, f"{where}: unknown key {key!r}"
                         + (f"; did you mean {', '.join(hint)}?" if hint else "; add it to the entity register"),
                         focus, PREDICATES.get(where.rsplit(".", 1)[-1]))
        return iri

    def article(self) -> None:
        values, meta, art = self.mapping.article.values, self.out.meta, self.article_iri
        self.out.lines[art] = (self.mapping.article.line, self.mapping.article.lines)
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        if values["sha256"] != digest:
            self.finding("Violation", self.mapping.article.line_of("sha256"),
                         f"article.sha256: the text's checksum is {digest}: the text is not the one mapped", art,
                         DKG.sha256)
        meta.add((art, RDF.type, DKG.Article))
        meta.add((art, DCTERMS.title, Literal(values["title"], lang="en")))
        meta.add((art, RDFS.label, Literal(values["title"], lang="en")))
        meta.add((art, DKG.sha256, Literal(digest)))
        meta.add((art, DKG.textLength, Literal(len(self.text), datatype=XSD.nonNegativeInteger)))
        meta.add((art, DKG.sourceFile, Literal(values["text"])))
        meta.add((self.out.graph_iri, PROV.wasDerivedFrom, art))
        meta.add((self.out.graph_iri, RDFS.label, Literal(f"What the article {self.out.article_id} says", lang="en")))
        if "publisher" in values and (pub := self.ref(values["publisher"], self.mapping.article.line_of("publisher"),
                                                      "article.publisher", art)):
            meta.add((art, DKG.publisher, pub))
        if "published" in values:
            meta.add((art, DKG.publicationDate, date_literal(values["published"])))
        for name in ("dateline_place", "source_agency"):  # register keys the article names
            spec = ARTICLE_FIELDS[name]
            if name in values and spec.predicate is not None and (target := self.ref(
                    values[name], self.mapping.article.line_of(name), f"article.{name}", art)):
                meta.add((art, spec.predicate, target))
        for name, prop in (("dateline", DKG.dateline), ("date_note", DKG.dateNote)):
            if name in values:
                meta.add((art, prop, Literal(values[name], lang="en")))
        if "dateline" in values and values["dateline"] not in self.text:
            self.finding("Violation", self.mapping.article.line_of("dateline"),
                         "article.dateline: does not occur in the text", art, DKG.dateline)
        if "language" in values:
            meta.add((art, DCTERMS.language, Literal(values["language"])))
        if "machine_translated" in values:
            meta.add((art, DKG.machineTranslated, Literal(values["machine_translated"])))

    def mentions(self) -> None:
        for key, spellings in self.mapping.mentions.items():
            line = self.mapping.mention_lines[key]
            iri = self.ref(key, line, f"mentions.{key}", self.article_iri)
            entry = self.catalogue.register.entries.get(key)
            for spelling in spellings:
                if spelling not in self.text:
                    self.finding("Violation", line, f"mentions.{key}: {spelling!r} does not occur in the text")
                    continue
                # A spelling the register lacks is the article's news: its graph records it (skos:altLabel in
                # graph:article/ID, which says who wrote it so), and the entity's page shows it with that source.
                if iri is not None:
                    self.out.graph.add((iri, SKOS.altLabel if entry is None or spelling != entry.name
                                        else SKOS.prefLabel, Literal(spelling, lang="en")))

    def event(self, entry: Entry) -> None:
        iri = event_iri(entry.values["id"])
        cls = entry.values["class"]
        self.out.graph.add((iri, RDF.type, EVENT_CLASSES[cls]))
        self.fields(iri, entry, f"events.{entry.values['id']}")
        for other in entry.values.get("distinct_from", ()):  # the author's word that a lookalike is another event
            self.out.graph.add((iri, OWL.differentFrom, event_iri(other.id)))
            self.out.graph.add((iri, SKOS.editorialNote, Literal(f"Not {other.id}: {other.reason}", lang="en")))

    def statement(self, entry: Entry) -> None:
        iri = self.local[entry.values["id"]]
        self.out.graph.add((iri, RDF.type, DKG.Statement))
        self.fields(iri, entry, f"statements.{entry.values['id']}")
        claim = entry.values.get("claim")
        if claim:
            for prop, key in ((DKG.claimSubject, claim.subject), (DKG.claimObject, claim.object)):
                target = self.ref(key, claim.line, f"statements.{entry.values['id']}.claim", iri)
                if target is not None:
                    self.out.graph.add((iri, prop, target))
            self.out.graph.add((iri, DKG.claimPredicate, CLAIM_RELATIONS[claim.relation]))

    def fields(self, iri: URIRef, entry: Entry, where: str, graph: Graph | None = None) -> None:
        specs = STATEMENT_FIELDS if entry.kind == "statement" else event_fields(entry.values["class"])
        self.out.lines.setdefault(iri, (entry.line, entry.lines))
        graph = self.out.graph if graph is None else graph
        for name, value in entry.values.items():
            spec, line = specs[name], entry.line_of(name)
            if spec.predicate is None or name in ("evidence", "claim"):
                continue
            for term in self.terms(name, spec, value, line, f"{where}.{name}", iri):
                graph.add((iri, spec.predicate, term))
        if "date_phrase" in entry.values and entry.values["date_phrase"] not in self.text:
            self.finding("Violation", entry.line_of("date_phrase"),
                         f"{where}.date_phrase: {entry.values['date_phrase']!r} does not occur in the text",
                         iri, DKG.datePhrase)
        for quote in entry.values.get("evidence", ()):
            self.evidence.add(iri, quote, where, set(specs))

    def terms(self, name: str, spec: FieldSpec, value: Any, line: int, where: str,
              focus: URIRef) -> list[URIRef | Literal]:
        """The RDF terms of one checked field value (terms.py); an unknown key becomes a finding and no term."""
        return field_terms(name, spec, value, lambda key: self.ref(key, line, where, focus))

    def correction(self, entry: Entry) -> None:
        """The correction as data in graph:corrections: what it corrects, the typed correct value (an
        entity, a date, a status...) and its published source. The resolver (resolve.py) applies it."""
        values = entry.values
        iri = correction_iri(self.out.article_id, values["subject"], values["field"])
        self.out.lines[iri] = (entry.line, entry.lines)
        graph = self.out.corrections
        graph.add((iri, RDF.type, DKG.Correction))
        graph.add((iri, DKG.correctsArticle, self.article_iri))
        subject = self.ref(values["subject"], entry.line_of("subject"), "corrections.subject", iri)
        if subject is not None:
            graph.add((iri, DKG.correctionSubject, subject))
        spec = correctable(values["field"])
        if values["field"] == ADDED_EVENT:
            graph.add((iri, DKG.correctedProperty, RDF.type))
            graph.add((iri, DKG.correctValue, EVENT_CLASSES[values["correct"].values["class"]]))
        elif spec is not None and spec.predicate is not None:
            graph.add((iri, DKG.correctedProperty, spec.predicate))
            for term in self.terms(values["field"], spec, values["correct"], entry.line_of("correct"),
                                   f"corrections.{values['subject']}.correct", iri):
                graph.add((iri, DKG.correctValue, term))
        else:
            graph.add((iri, DKG.correctValue, value_literal(str(values["correct"]))))
        if "stated" in values:
            graph.add((iri, DKG.statedValue, value_literal(values["stated"])))
        graph.add((iri, DCTERMS.source, URIRef(values["source"])))
        label = f"Correction of {values['field']} of {values['subject']} in article {self.out.article_id}"
        graph.add((iri, RDFS.label, Literal(label, lang="en")))
        if "note" in values:
            graph.add((iri, RDFS.comment, Literal(values["note"], lang="en")))
