"""Read YAML safely, keeping the line of every node: the one reader of mappings and of the register.

ruamel.yaml (round-trip, pure Python) keeps positions, so every later error can say ``file:line``. Before
any value is built, the composed document is checked: what a mapping never needs and the reader would
half-understand (merge keys, tags, non-text keys, lone surrogates) is a MappingError at its line, and
aliases that would expand past a bound (an alias bomb) or brackets nested past a depth are refused as
InputError at their line, cheaply. Files are read as exact UTF-8. mapping.py and register.py use this.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from .errors import InputError, Location, MappingError


class _Constructor(RoundTripConstructor):
    """ruamel.yaml's round-trip constructor, except that an impossible date stays text."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        # ruamel.yaml raises a bare ValueError for 2021-02-30 written unquoted, losing the line; kept as
        # written, the date is reported by the schema check at its line instead.
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML keeping line numbers; a syntax error becomes an InputError at its line and column.

    The document is composed into nodes first and checked (`_check_nodes`) before any value is built,
    so an alias bomb (InputError), a merge key or a tag no mapping uses (MappingError: a schema error
    of the report) is refused at its line, cheaply, instead of being expanded or half-understood.
    """
    _refuse_deep_flow(text, path)
    yaml = YAML(typ="rt", pure=True)
    yaml.Constructor = _Constructor
    try:
        node = yaml.compose(text)
        if node is None:
            return None
        _check_nodes(node, path)
        return yaml.constructor.construct_document(node)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"YAML syntax error: {problem}", Location(str(path), line, column)) from None
    except ReaderError as exc:  # a control character: not a MarkedYAMLError, but it has a position
        before = text[:exc.position]
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise InputError(f"YAML syntax error: the character U+{code:04X} is not allowed in YAML",
                         Location(str(path), before.count("\n") + 1, len(before) - before.rfind("\n"))) from None
    except YAMLError as exc:
        raise InputError(f"YAML syntax error: {exc}", Location(str(path))) from None
    except RecursionError:  # ruamel.yaml composes recursively: deep nesting exhausts the stack
        raise InputError("YAML nested too deeply to be a mapping", Location(str(path))) from None


# The most values a document may hold once its aliases are expanded. The register, the largest file
# read here, holds about 5,000; nine aliases nested eight deep would hold 43 million.
MAX_EXPANDED_NODES = 200_000
_CORE = "tag:yaml.org,2002:"
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}


def _check_nodes(root: Node, path: Path) -> None:
    """Refuse what the mapping reader would not read faithfully, at its line: a merge key (``<<:``),
    a tag other than YAML's plain ones (``!!set``, ``!!binary``, ``!foo``), a key that is not plain
    text, and aliases expanding past `MAX_EXPANDED_NODES` values (each distinct node is sized once,
    so the check is linear in the text however deep the aliases nest).

    >>> _check_nodes(YAML(typ="rt", pure=True).compose("a: &x [1, 2]\\nb: *x\\n"), Path("m.yaml"))
    >>> _check_nodes(YAML(typ="rt", pure=True).compose("a: &x [*x]\\n"), Path("m.yaml"))
    Traceback (most recent call last):
    kg_service.errors.InputError: m.yaml:1:4: a YAML alias refers to a node that contains it (an infinite value)
    >>> _check_nodes(YAML(typ="rt", pure=True).compose("a: &x {b: 1}\\nc:\\n  <<: *x\\n"), Path("m.yaml"))
    Traceback (most recent call last):
    kg_service.errors.MappingError: m.yaml:3:3: YAML merge keys (<<) are not read in a mapping: write the fields out
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being sized: meeting one again is a cycle
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done:
            if id(node) in open_:
                raise InputError("a YAML alias refers to a node that contains it "
                                 "(an infinite value)", _mark(node, path))
            _check_node(node, path)
            open_.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
            continue
        open_.discard(id(node))
        size = 1 + sum(sizes[id(child)] for child in _children(node))
        if size > MAX_EXPANDED_NODES:
            raise InputError(f"YAML aliases here expand to more than {MAX_EXPANDED_NODES:,} values: no mapping is "
                             "that large; write the values out instead of nesting aliases", _mark(node, path))
        sizes[id(node)] = size


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_node(node: Node, path: Path) -> None:
    tag = str(getattr(node.tag, "value", node.tag))
    if tag == _CORE + "merge":
        raise MappingError("YAML merge keys (<<) are not read in a mapping: write the fields out", _mark(node, path))
    if tag not in _PLAIN_TAGS:
        raise MappingError(f"YAML tag {tag!r} is not read in a mapping: remove it (quote the value if it is text)",
                         _mark(node, path))
    if isinstance(node, ScalarNode) and _SURROGATE.search(node.value):
        raise MappingError("a lone surrogate escape (\\ud800-\\udfff) is not a character: write the character "
                         "itself", _mark(node, path))
    if isinstance(node, MappingNode):
        for key, _value in node.value:
            if not isinstance(key, ScalarNode):
                raise MappingError("a YAML key must be plain text, not a list or a mapping", _mark(key, path))


def _mark(node: Node, path: Path) -> Location:
    mark = node.start_mark
    return Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))


MAX_FLOW_DEPTH = 64


def _refuse_deep_flow(text: str, path: Path) -> None:
    """``[[[[...`` a few thousand deep costs ruamel.yaml seconds before it fails; no mapping nests past a
    handful of levels, so refuse it at once (brackets inside quoted strings count too: harmless here).

    >>> _refuse_deep_flow("a: [[1, 2], {b: [3]}]", Path("m.yaml"))
    >>> _refuse_deep_flow("a: " + "[" * 100, Path("m.yaml"))
    Traceback (most recent call last):
    kg_service.errors.InputError: m.yaml:1:68: YAML syntax error: brackets nested more than 64 deep
    """
    depth = 0
    for i, char in enumerate(text):
        if char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                line = text.count("\n", 0, i) + 1
                raise InputError(f"YAML syntax error: brackets nested more than {MAX_FLOW_DEPTH} deep",
                                 Location(str(path), line, i - (text.rfind("\n", 0, i) + 1) + 1))
        elif char in "]}":
            depth = max(depth - 1, 0)


def read_text_file(path: Path) -> str:
    """Read a UTF-8 file exactly (no newline translation); a wrong encoding says where it broke."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", Location(str(path))) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
                         Location(str(path), line)) from None
