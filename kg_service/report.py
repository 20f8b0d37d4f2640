"""Findings and validation reports: what is wrong, how badly, on which node, at which line of which file.

Compiler checks, extra checks and SHACL results all become `Finding`s in one `Report`, so the user
reads one list, in file order, and the CLI and web layer render the same data as text, JSON or a
W3C `sh:ValidationReport` in Turtle.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH

SEVERITIES = ("Violation", "Warning", "Info")
# A report lists at most this many findings, worst first within each file; the counts stay whole and
# the rest is counted as omitted, so a hostile input cannot make a report of hundreds of megabytes.
MAX_SHOWN = 1000
SH_SEVERITY = {"Violation": SH.Violation, "Warning": SH.Warning, "Info": SH.Info}


@dataclass(frozen=True)
class Finding:
    """One problem. `file`/`line` point into the mapping when the problem comes from one."""

    severity: str
    message: str
    focus: str | None = None
    path: str | None = None
    value: str | None = None
    file: str | None = None
    line: int | None = None
    source: str = "check"  # "check" for our own checks, or the SHACL source shape

    def where(self) -> str:
        """``file:line`` or the focus node, whichever says more to the reader.

        >>> Finding("Violation", "no date", file="a.yaml", line=3).where()
        'a.yaml:3'
        """
        if self.file:
            return f"{self.file}:{self.line}" if self.line else self.file
        return self.focus or ""

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    context: str | None = None  # what the input was validated against, when that is worth saying

    @property
    def conforms(self) -> bool:
        return not any(f.severity == "Violation" for f in self.findings)

    def counts(self) -> dict[str, int]:
        counted = Counter(f.severity for f in self.findings)
        return {s: counted.get(s, 0) for s in SEVERITIES}

    def sorted(self) -> list[Finding]:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(self.findings, key=lambda f: (f.file or "~", f.line or 0, rank[f.severity], f.message,
                                                    f.focus or "", f.path or "", f.value or ""))

    def shown(self) -> list[Finding]:
        """The findings a report lists: all of them up to `MAX_SHOWN`, violations before the others."""
        found = self.sorted()
        if len(found) <= MAX_SHOWN:
            return found
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        keep = set(map(id, sorted(found, key=lambda f: rank[f.severity])[:MAX_SHOWN]))
        return [f for f in found if id(f) in keep]

    @property
    def omitted(self) -> int:
        return max(0, len(self.findings) - MAX_SHOWN)

    def as_dict(self) -> dict[str, object]:
        results = [f.as_dict() for f in self.shown()]
        body: dict[str, object] = {"conforms": self.conforms, "counts": self.counts(), "results": results}
        if self.context:
            body["context"] = self.context
        if self.omitted:
            body["omitted"] = self.omitted
        return body

    def as_text(self) -> str:
        lines = [f"{f.where()}: {f.severity}: {f.message}"
                 + (f" (value: {f.value})" if f.value else "")
                 + (f" [{f.focus}{' ' + f.path if f.path else ''}]" if f.file and f.focus else "")
                 for f in self.shown()]
        if self.omitted:
            lines.append(f"... and {self.omitted} more finding{'s' if self.omitted != 1 else ''} not shown "
                         f"(a report lists {MAX_SHOWN}); fix these and validate again")
        counts = self.counts()
        if self.context:
            lines.append(f"Validated in the context of {self.context}")
        lines.append(("Conforms" if self.conforms else "Does not conform") + ": "
                     + ", ".join(f"{n} {s.lower()}{'s' if n != 1 else ''}" for s, n in counts.items()))
        return "\n".join(lines)

    def as_graph(self) -> Graph:
        """The report as a W3C SHACL validation report graph."""
        graph = Graph()
        graph.bind("sh", SH)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add((report, SH.conforms, Literal(self.conforms)))
        if self.context:
            graph.add((report, RDFS.comment, Literal(f"Validated in the context of {self.context}")))
        if self.omitted:
            graph.add((report, RDFS.comment, Literal(f"{self.omitted} more results not listed")))
        for finding in self.shown():
            result = BNode()
            graph.add((report, SH.result, result))
            graph.add((result, RDF.type, SH.ValidationResult))
            graph.add((result, SH.resultSeverity, SH_SEVERITY[finding.severity]))
            where = f"{finding.where()}: " if finding.file else ""
            graph.add((result, SH.resultMessage, Literal(where + finding.message)))
            if finding.focus:
                graph.add((result, SH.focusNode, _term(finding.focus)))
            if finding.path:
                graph.add((result, SH.resultPath, URIRef(finding.path)))
            if finding.value:
                graph.add((result, SH.value, Literal(finding.value)))
            if finding.source.startswith(("http://", "https://")):
                graph.add((result, SH.sourceShape, URIRef(finding.source)))
        return graph


def _term(text: str) -> URIRef | Literal:
    return URIRef(text) if text.startswith(("http://", "https://", "urn:")) else Literal(text)
