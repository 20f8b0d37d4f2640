"""An embedded persistent store: the built dataset kept in a folder, so a restart does not rebuild it.

`serve --store FOLDER` opens the folder when it holds the dataset built from the same inputs (the
seeds, the ontology and this package's code, or the `--data` file) and rebuilds it when they changed.
The inputs are hashed, not built, so an unchanged restart costs a hash and an open, whatever the
size of the graph. A marker file written last, atomically, says the folder is complete: a load that
crashed leaves no marker, and the next start rebuilds. The exact N-Quads (with the datatypes as
validated, which Oxigraph's store normalises) sit beside the Oxigraph store for dumps.

The marker also keeps a SHA-256 of every file the folder holds (the N-Quads and each RocksDB file but
its log and lock), checked at every start: a cut-off `dataset.nq`, a damaged or missing RocksDB file
is never served as whole; the folder is rebuilt from its inputs, with a warning that says which file
was wrong. A store RocksDB cannot open is rebuilt the same way.

One server per folder: workers open the store read-only, which RocksDB allows only while nobody
writes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .errors import InputError, Location
from .store import KnowledgeGraph, default_graph_quads, has_resolved_layer

MARKER = "kg-service.json"
STORE_DIR = "oxigraph"
EXACT = "dataset.nq"
LAYOUT = 2  # bump when the folder layout changes, so old folders are rebuilt, not misread
CODE_DIR = Path(__file__).resolve().parent
UNCHECKED = ("LOG", "LOCK")  # RocksDB's own log and lock file change without the data changing
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Marker:
    """What a complete folder holds: which inputs it was built from, its content version and size."""

    source: str
    version: str
    union_default_graph: bool
    quads: int
    layout: int = LAYOUT
    checksums: dict[str, str] = field(default_factory=dict)  # file (relative to the folder) -> SHA-256


def files_digest(paths: Iterable[Path], *, salt: str = "") -> str:
    """A hash of the files' names and contents: equal inputs give an equal key, any change a new one."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def seeds_source(seeds_dir: Path, ontology_dir: Path, *, union_default_graph: bool) -> str:
    """The key of a build from the seeds: mappings, texts, ontology files and the code that compiles them."""
    inputs = [p for folder in (seeds_dir, ontology_dir) for p in folder.iterdir() if p.is_file()]
    inputs += CODE_DIR.glob("*.py")
    return files_digest(inputs, salt=f"seeds union={union_default_graph}")


def file_source(path: Path, *, union_default_graph: bool) -> str:
    return files_digest([path], salt=f"file {path.suffix.lower()} union={union_default_graph}")


def read_marker(folder: Path) -> Marker | None:
    """The folder's marker, or None when it is missing, unreadable or of another layout."""
    try:
        values = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        marker = Marker(**values)
    except (OSError, ValueError, TypeError):
        return None
    return marker if marker.layout == LAYOUT else None


def open_or_build(folder: Path, *, source: str, union_default_graph: bool,
                  build: Callable[[], tuple[bytes, str]]) -> KnowledgeGraph:
    """The persistent dataset in `folder`: opened when its marker matches `source`, else rebuilt.

    `build()` returns the exact N-Quads and the content version; it is called only on a rebuild.
    Raises InputError when the folder cannot be written or opened.
    """
    marker = read_marker(folder)
    if marker is not None and marker.source == source and marker.union_default_graph == union_default_graph:
        problem = damage(folder, marker)
        if problem is None:
            try:
                return open_folder(folder, marker)
            except InputError as exc:
                problem = exc.message
        log.warning("the store in %s is damaged (%s): rebuilding it", folder, problem)
    data, version = build()
    marker = _write(folder, data, source=source, version=version, union_default_graph=union_default_graph)
    return open_folder(folder, marker)


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of the N-Quads and of every RocksDB file but its log and lock, by path relative to `folder`."""
    files = [folder / EXACT] + sorted(p for p in (folder / STORE_DIR).iterdir()
                                      if p.is_file() and not p.name.startswith(UNCHECKED))
    sums = {}
    for path in files:
        with path.open("rb") as handle:
            sums[path.relative_to(folder).as_posix()] = hashlib.file_digest(handle, "sha256").hexdigest()
    return sums


def damage(folder: Path, marker: Marker) -> str | None:
    """What is wrong with the folder's files against its marker (the first file found), or None."""
    try:
        found = checksums(folder)
    except OSError as exc:
        return f"cannot read {exc.filename}: {exc.strerror}"
    for name, digest in marker.checksums.items():
        if name not in found:
            return f"{name} is missing"
        if found[name] != digest:
            return f"{name} is not the file that was written (its checksum differs)"
    extra = sorted(set(found) - set(marker.checksums))
    if extra or not marker.checksums:
        return f"unexpected files: {', '.join(extra)}" if extra else "the marker lists no checksums"
    return None


def open_folder(folder: Path, marker: Marker) -> KnowledgeGraph:
    """Open a complete folder read-only; the exact copy is parsed only if a dump or graph read needs it."""
    try:
        store = ox.Store.read_only(str(folder / STORE_DIR))
    except (OSError, RuntimeError) as exc:  # RocksDB reports corruption as either
        raise InputError(f"cannot open the store: {exc}", Location(str(folder))) from None
    exact = folder / EXACT
    return KnowledgeGraph(store, union_default_graph=marker.union_default_graph, version=marker.version,
                          quads=lambda: ox.Dataset(ox.parse(path=exact, format=ox.RdfFormat.N_QUADS)),
                          materialised=True, size=marker.quads)


def _write(folder: Path, data: bytes, *, source: str, version: str, union_default_graph: bool) -> Marker:
    """Replace the folder's content; the marker goes last, so an interrupted write is never taken as whole."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).unlink(missing_ok=True)
        shutil.rmtree(folder / STORE_DIR, ignore_errors=True)
        exact = folder / EXACT
        _write_atomically(exact, data)
        store = ox.Store(str(folder / STORE_DIR))
        store.bulk_load(path=exact, format=ox.RdfFormat.N_QUADS)
        size = len(store)
        if union_default_graph:
            store.bulk_extend(default_graph_quads(ox.parse(path=exact, format=ox.RdfFormat.N_QUADS),
                                                  resolved=has_resolved_layer(store)))
        store.flush()
        store.optimize()
        del store  # closes RocksDB before anyone opens it read-only
        marker = Marker(source, version, union_default_graph, size, checksums=checksums(folder))
        _write_atomically(folder / MARKER, json.dumps(asdict(marker), indent=2).encode())
    except OSError as exc:
        raise InputError(f"cannot write the store: {exc}", Location(str(folder))) from None
    return marker


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
