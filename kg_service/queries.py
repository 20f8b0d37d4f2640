"""Named queries: the competency questions of the graph, one `.rq` file each under `sparql/`.

Each file opens with a comment header the service shows to people and checks parameters against:

    # title: Meetings between two states in a period
    # description: Every meeting with both states as parties, with level and outcome.
    # param: from (date, default 2010-01-01) earliest date
    # param: state (iri, default <https://w3id.org/kg-service/id/state/japan>) one of the states

Parameters are variables of the query, bound to values by substitution (SEP-0007) when it runs,
never spliced into the text, so a parameter value cannot change what the query does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .dates import is_date_text
from .errors import Location, UsageError
from .vocab import PREFIXES

TYPES = ("iri", "date", "string", "integer")
_PARAM = re.compile(r"^(?P<name>\w+)\s*\((?P<type>\w+)(?:,\s*default\s+(?P<default>[^)]+))?\)\s*(?P<help>.*)$")
XSD = "http://www.w3.org/2001/XMLSchema#"


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    text: str

    def bindings(self, values: Mapping[str, str]) -> dict[str, ox.NamedNode | ox.Literal]:
        """Typed terms for the parameters: given values, else defaults. Raises UsageError for an
        unknown parameter or a value of the wrong type, naming the parameter."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UsageError(f"unknown parameter(s) {', '.join(unknown)}; {self.name} takes: "
                             f"{', '.join(known) or 'none'}", Location(field=unknown[0]))
        terms = {}
        for param in self.params:
            value = values.get(param.name, param.default)
            if value is None or value == "":
                continue
            terms[param.name] = typed_term(param, value)
        return terms


def typed_term(param: Param, value: str) -> ox.NamedNode | ox.Literal:
    """The term for one parameter value, checked against the parameter's type.

    >>> typed_term(Param("from", "date", None, ""), "2021-09").datatype.value
    'http://www.w3.org/2001/XMLSchema#gYearMonth'
    >>> typed_term(Param("who", "iri", None, ""), "id:person/park-jin").value
    'https://w3id.org/kg-service/id/person/park-jin'
    >>> typed_term(Param("who", "iri", None, ""), "<http://example.org/x\\n>")
    Traceback (most recent call last):
    kg_service.errors.UsageError: who: '<http://example.org/x\\n>' is not an IRI
    >>> typed_term(Param("n", "integer", None, ""), "ten")
    Traceback (most recent call last):
    kg_service.errors.UsageError: n: 'ten' is not an integer
    """
    value = value.strip()
    if param.type == "iri":
        iri = value[1:-1] if value.startswith("<") and value.endswith(">") else value
        prefix, sep, local = iri.partition(":")
        if sep and prefix in PREFIXES:
            iri = PREFIXES[prefix] + local
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*:[^\s<>\"{}|\\^`]*", iri, re.I):  # in full: `$` passes a final newline
            raise UsageError(f"{value!r} is not an IRI", Location(field=param.name))
        return ox.NamedNode(iri)
    if param.type == "date":
        if not is_date_text(value):
            raise UsageError(f"{value!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)", Location(field=param.name))
        datatype = {10: "date", 7: "gYearMonth", 4: "gYear"}[len(value)]
        return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))
    if param.type == "integer":
        if not re.fullmatch(r"-?\d+", value):
            raise UsageError(f"{value!r} is not an integer", Location(field=param.name))
        return ox.Literal(value, datatype=ox.NamedNode(XSD + "integer"))
    return ox.Literal(value)


def parse_query_file(path: Path) -> NamedQuery:
    """Read one `.rq` file and its header; a malformed header is an error at its line."""
    text = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    params = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        key, sep, value = line.lstrip("# ").partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "param":
            match = _PARAM.match(value)
            if not match or match["type"] not in TYPES:
                raise UsageError(f"param: write 'NAME (TYPE[, default VALUE]) description' with TYPE one of "
                                 f"{', '.join(TYPES)}", Location(str(path), number, None, "param"))
            params.append(Param(match["name"], match["type"], match["default"], match["help"]))
        elif key in ("title", "description"):
            fields[key] = (fields.get(key, "") + " " + value).strip()
    if "title" not in fields:
        raise UsageError("the header has no '# title:' line", Location(str(path), 1, None, "title"))
    return NamedQuery(path.stem, fields["title"], fields.get("description", ""), tuple(params), text)


def load_queries(folder: Path) -> dict[str, NamedQuery]:
    return {q.name: q for q in (parse_query_file(p) for p in sorted(folder.glob("*.rq")))}
