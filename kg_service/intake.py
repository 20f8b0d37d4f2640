"""Read what a user hands in (a mapping file and its text, or RDF made by another tool) safely.

Every input is bytes from a file or an upload. This module decodes it (UTF-8, or an error with
line and column), refuses what could make the service read files or fetch URLs (RDF/XML with a
DOCTYPE or entities, JSON-LD with a remote or imported ``@context``), and parses RDF with Oxigraph,
whose parsers never load anything, into an rdflib dataset for the validator. `owl:imports` is data
here, never followed. Errors are `InputError` (unreadable) or `UnsupportedType`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset

from .errors import InputError, Location, UnsupportedType
from .formats import DATASET, FORMATS, GRAPH, Format, find_format, format_for_file

MAPPING_SUFFIXES = (".yaml", ".yml")
_DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def decode(data: bytes, name: str) -> str:
    """The text of a file or upload: UTF-8, not empty; a wrong encoding says at which line and column.

    >>> decode(b"a\\nb\\xe9", "x.txt")
    Traceback (most recent call last):
    kg_service.errors.InputError: x.txt:2:2: not UTF-8: byte 0xe9 cannot start or continue a character; save the file as UTF-8
    """  # noqa: E501
    if not data.strip():
        raise InputError("the file is empty", Location(name, 1, 1))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
        raise InputError(f"not UTF-8: byte 0x{data[exc.start]:02x} cannot start or continue a character; save "
                         "the file as UTF-8", Location(name, line, column)) from None


def rdf_format(name: str) -> Format:
    """The RDF format of a file suffix or a media type; raises UnsupportedType for anything else.

    >>> rdf_format("graph.trig").name, rdf_format("application/ld+json").name
    ('trig', 'jsonld')
    """
    fmt = format_for_file(name) if Path(name).suffix else find_format(name)
    if fmt is None or fmt.kind not in (GRAPH, DATASET):
        accepted = ", ".join(f.media_type for f in FORMATS if f.kind in (GRAPH, DATASET))
        raise UnsupportedType(f"cannot validate {name!r}: send a mapping (.yaml) with its text, or RDF as one of "
                              f"{accepted}")
    return fmt


def parse_rdf(data: bytes, fmt: Format, name: str) -> Dataset:
    """Parse RDF in `fmt` without loading anything it names; raises InputError with line and column."""
    text = decode(data, name)
    if fmt.name == "rdfxml":
        _refuse_doctype(text, name)
        _refuse_deep_nesting(text, name)
    elif fmt.name == "jsonld":
        _refuse_remote_context(text, name)
    try:
        quads = list(ox.parse(data, format=fmt.rdf))
    except SyntaxError as exc:
        raise InputError(f"not valid {fmt.label}: {_reason(exc)}",
                         Location(name, exc.lineno, exc.offset)) from None
    dataset = Dataset()
    if quads:
        dataset.parse(data=ox.serialize(quads, format=ox.RdfFormat.N_QUADS), format="nquads")
    return dataset


def _reason(exc: SyntaxError) -> str:
    """Oxigraph's message without its own position prefix (the location carries it)."""
    return re.sub(r"^Parser error at line \d+ (?:column \d+|between columns \d+ and \d+): ", "", str(exc.msg))


MAX_XML_DEPTH = 256
_TAG = re.compile(r"<(/?)[A-Za-z_][^<>]*?(/?)>")


def _refuse_deep_nesting(text: str, name: str) -> None:
    """Elements nested thousands deep cost the parser seconds per upload (under the validation lock);
    no RDF/XML a person or a tool writes nests more than a few dozen levels.

    >>> _refuse_deep_nesting("<a><b/><c>x</c></a>", "f.rdf")
    >>> _refuse_deep_nesting("<a>" * 300, "f.rdf")
    Traceback (most recent call last):
    kg_service.errors.InputError: f.rdf:1:769: the RDF/XML nests elements more than 256 deep; write it flatter
    """
    depth = 0
    for tag in _TAG.finditer(text):
        if tag.group(1):
            depth -= 1
        elif not tag.group(2):
            depth += 1
            if depth > MAX_XML_DEPTH:
                line = text.count("\n", 0, tag.start()) + 1
                column = tag.start() - (text.rfind("\n", 0, tag.start()) + 1) + 1
                raise InputError(f"the RDF/XML nests elements more than {MAX_XML_DEPTH} deep; write it flatter",
                                 Location(name, line, column))


def _refuse_doctype(text: str, name: str) -> None:
    """A DTD can declare external entities (file:///etc/passwd, URLs) or expand without bound: refuse it."""
    found = _DOCTYPE.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        raise InputError("RDF/XML with a DOCTYPE or entity declaration is refused: entities could read files "
                         "or fetch URLs; remove the DTD and write the values out", Location(name, line, column))


def _refuse_remote_context(text: str, name: str) -> None:
    """JSON-LD may name its @context by URL (or @import one); we never fetch: the context must be inline."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON-LD: {exc.msg}", Location(name, exc.lineno, exc.colno)) from None
    except RecursionError:
        raise InputError("not valid JSON-LD: nested too deeply", Location(name)) from None
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "@context" and _remote(value):
                    raise InputError("JSON-LD with a remote @context is refused: the service fetches nothing; "
                                     "put the context inline (an object)", Location(name, None, None, "@context"))
                stack.append(value)


def _remote(context: object) -> bool:
    """Whether a @context value names something to load (a string, or an object with @import).

    >>> _remote("https://schema.org/"), _remote({"name": "http://x/name"}), _remote([{"@import": "x"}])
    (True, False, True)
    """
    if isinstance(context, list):
        return any(_remote(c) for c in context)
    if isinstance(context, dict):
        return "@import" in context
    return isinstance(context, str)
