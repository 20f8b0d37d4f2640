"""Run the SHACL shapes over one graph and turn each result into a Finding, at its mapping line when known.

The build validation (buildcheck.py) and the validation of new input (validate.py) both run pySHACL
through here. Two upstream pitfalls are handled once: pySHACL writes into the shapes graph it is
given (pySHACL #314), so every run gets its own copy; and rdflib re-parses the text of every SPARQL
constraint for every focus node with a slow, pure-Python parser (rdflib #618) that is not
thread-safe (rdflib #1282), so the data graph is a `PreparedGraph`, which translates each query once
per process, under a lock. The shapes themselves live in ``ontology/shapes.ttl``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping as NamespaceMap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SH
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.sparql import Query

from .compiled import CompiledArticle
from .report import Finding

if TYPE_CHECKING:
    from rdflib.query import Processor, Result
    from rdflib.term import Identifier


_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def load_shapes(ontology_dir: Path) -> Graph:
    shapes = Graph()
    shapes.parse(ontology_dir / "shapes.ttl", format="turtle")
    return shapes


_TRANSLATED: dict[tuple, Query] = {}
_TRANSLATED_MAX = 1024
_translate_lock = threading.Lock()  # rdflib's parser (pyparsing) is not thread-safe (rdflib #1282)


class PreparedGraph(Graph):
    """A graph that parses and translates each SPARQL text it is asked once per process, not once per call.

    pySHACL hands rdflib the text of a SPARQL constraint on every evaluation, once per focus node, and
    rdflib's pure-Python parser is slow (rdflib #618; pySHACL prepares no queries), so half of a build
    went into re-parsing the same few dozen queries. The data graph pySHACL queries is one of these
    (validated in place, `inplace=True`), so the cache lives in our own graphs only: nothing of rdflib
    is patched, and other users of rdflib in the process are untouched. The translated algebra is only
    read during evaluation, so sharing it between runs is safe; the reports are the same as without.
    """

    def query(self, query_object: str | Query, processor: str | Processor = "sparql",
              result: str | type[Result] = "sparql", initNs: NamespaceMap[str, Any] | None = None,  # noqa: N803
              initBindings: NamespaceMap[str, Identifier] | None = None,  # noqa: N803
              use_store_provided: bool = True, **kwargs: Any) -> Result:
        if isinstance(query_object, str):
            namespaces = dict(initNs or self.namespaces())
            key = (query_object, kwargs.get("base"), tuple(sorted(namespaces.items())))
            found = _TRANSLATED.get(key)
            if found is None:
                with _translate_lock:
                    found = translateQuery(parseQuery(query_object), kwargs.get("base"), namespaces)
                    if len(_TRANSLATED) < _TRANSLATED_MAX:
                        _TRANSLATED[key] = found
            query_object = found
        return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)


def shacl_findings(data: Graph, shapes: Graph, ontology: Graph,
                   compiled: CompiledArticle | None = None, file: str | None = None) -> list[Finding]:
    """Run pySHACL on `data` and turn each result into a Finding, with a mapping line when known.

    A `PreparedGraph` is validated as it is (the ontology is mixed into it); any other graph is copied."""
    shapes_copy = Graph()
    shapes_copy += shapes
    if isinstance(data, PreparedGraph):  # a throwaway graph made for this run: validated as it is
        target = data
    else:
        target = PreparedGraph()
        target += data
    # In place: pySHACL mixes the ontology into `target` and queries it, so `target` is what it queries.
    _conforms, results, _text = shacl_validate(target, shacl_graph=shapes_copy, ont_graph=ontology,
                                               inference="none", advanced=True, allow_warnings=True, inplace=True)
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        shape = results.value(result, SH.sourceShape)
        message = str(results.value(result, SH.resultMessage) or "constraint not met")
        line = compiled.line_for(str(focus), str(path) if isinstance(path, URIRef) else None) if compiled else None
        findings.append(Finding(_SEVERITY.get(results.value(result, SH.resultSeverity), "Violation"), message,
                                str(focus) if focus is not None else None,
                                str(path) if isinstance(path, URIRef) else None,
                                str(value) if value is not None else None,
                                file if line else None, line, str(shape) if isinstance(shape, URIRef) else "shacl"))
    return findings
