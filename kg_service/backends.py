"""Where the served graph lives: backends chosen by name from a small registry, as rdflib registers stores.

- ``memory``: the seeds, built and validated at start, in an in-memory Oxigraph store (adds allowed);
- ``file``: an RDF dataset file (``serve --data``) in memory (SPARQL Update allowed where settings open it);
- ``folder``: the seeds or a dataset file kept in a folder (``--store PATH``), reopened without a
  rebuild while its inputs are unchanged (persistent);
- ``remote``: a SPARQL 1.1 server with the Graph Store Protocol (``--store URL``); the graph is
  pushed there and queried through it (persistent, on its side).

Each declares what it allows (`Allows`) and how query workers reach it (`Backend.worker_source`:
the loaded store, shared with the workers by fork; a folder they open read-only; a remote they
forward to). The rest of the service asks the backend, never which kind of graph it holds.
`open_graph()` is the one way in, for the CLI, the app factory and `serve`, and it runs the
pipeline of `kg-service build`: compile, validate (refusing to serve a build that does not
conform), then store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pyoxigraph as ox

from .errors import InputError, Location, UsageError
from .remote import RemoteStore
from .settings import Settings
from .store import KnowledgeGraph, content_version, dataset_nquads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Allows:
    """What a backend lets the service do to the graph it holds."""

    updates: bool = False  # SPARQL Update on /sparql (still only where the settings open it)
    adds: bool = False  # POST /articles (the graph is rebuilt from the seeds)
    persistent: bool = False  # survives a restart without a rebuild


@dataclass(frozen=True)
class GraphSpec:
    """What `serve` (or the app factory) was asked to serve."""

    data: Path | None = None  # a dataset file instead of the seeds
    store: str | None = None  # a folder or the URL of a remote store
    union_default_graph: bool | None = None  # None: on for the seeds, off for a data file

    @property
    def union(self) -> bool:
        return (self.data is None) if self.union_default_graph is None else self.union_default_graph

    @property
    def backend_name(self) -> str:
        """The registry name this spec asks for.

        >>> GraphSpec().backend_name, GraphSpec(store="http://h/sparql").backend_name
        ('memory', 'remote')
        >>> GraphSpec(data=Path("x.nq")).backend_name, GraphSpec(store="kept").backend_name
        ('file', 'folder')
        >>> GraphSpec(store="virtuoso+http://h:8890").backend_name
        'remote'

        """
        if self.store:  # virtuoso+http://... names the remote engine
            return "remote" if re.match(r"(?:[a-z]+\+)?https?://", self.store) else "folder"
        return "file" if self.data is not None else "memory"


class Backend:
    """One place a graph can live; subclasses register under `name` and say what they `allows`."""

    name: ClassVar[str]
    allows: ClassVar[Allows]
    serves: ClassVar[str]  # what a user would call it, for messages: "a dataset file (serve --data FILE)"

    def __init__(self, spec: GraphSpec = GraphSpec()):
        self.spec = spec

    def open(self, settings: Settings) -> KnowledgeGraph:
        raise NotImplementedError

    def worker_source(self, kg: KnowledgeGraph) -> ox.Store | str | RemoteStore:
        """How query workers reach `kg`: its loaded store (they share it by fork)."""
        return kg.store

    def __str__(self) -> str:
        return self.name


BACKENDS: dict[str, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    BACKENDS[cls.name] = cls
    return cls


def open_graph(settings: Settings, spec: GraphSpec = GraphSpec()) -> KnowledgeGraph:
    """Open the graph `spec` asks for, with the backend registered under its name."""
    backend = BACKENDS[spec.backend_name](spec)
    kg = backend.open(settings)
    kg.backend = backend
    return kg


def built_seeds(settings: Settings) -> bytes:
    """The seeds compiled and validated, as N-Quads; refuses a build that does not conform, as
    `kg-service build` exits 1 for it. An add killed midway is finished or undone first."""
    from .build import build_dataset
    from .buildcheck import validate_build
    from .seeds import recover, seeds_lock
    from .shacl import load_shapes

    with seeds_lock(settings.seeds_dir):
        recover(settings.seeds_dir)
    build = build_dataset(settings)
    report = validate_build(build, load_shapes(settings.ontology_dir))
    if not report.conforms:
        first = next(f for f in report.sorted() if f.severity == "Violation")
        raise InputError(f"the seeds do not conform ({report.counts().get('Violation', 0)} violations; "
                         f"run kg-service build): first: {first.where()}: {first.message}",
                         Location(str(settings.seeds_dir)))
    return dataset_nquads(build.dataset)


@register
class Memory(Backend):
    name = "memory"
    allows = Allows(adds=True)
    serves = "the seeds in memory (kg-service serve)"

    def open(self, settings: Settings) -> KnowledgeGraph:
        return KnowledgeGraph.from_nquads(built_seeds(settings), union_default_graph=self.spec.union)


@register
class DataFile(Backend):
    name = "file"
    allows = Allows(updates=True)
    serves = "a dataset file (serve --data FILE), not the seeds"

    def open(self, settings: Settings) -> KnowledgeGraph:
        if self.spec.data is None:
            raise UsageError("the file backend needs a data file (serve --data FILE)")
        return KnowledgeGraph.from_file(self.spec.data, union_default_graph=self.spec.union)

    def __str__(self) -> str:
        return f"file {self.spec.data}"


@register
class Folder(Backend):
    name = "folder"
    allows = Allows(persistent=True)
    serves = "a persistent store (serve --store PATH)"

    def open(self, settings: Settings) -> KnowledgeGraph:
        from . import stores

        assert self.spec.store is not None  # backend_name chose this class for it
        folder, data, union = Path(self.spec.store), self.spec.data, self.spec.union
        build: Callable[[], tuple[bytes, str]]
        if data is not None:
            source = stores.file_source(data, union_default_graph=union)

            def build() -> tuple[bytes, str]:
                return _file_nquads(data)
        else:
            if not (settings.seeds_dir.is_dir() and settings.ontology_dir.is_dir()):
                raise InputError("the seeds or ontology folder is missing", Location(str(settings.seeds_dir)))
            source = stores.seeds_source(settings.seeds_dir, settings.ontology_dir, union_default_graph=union)

            def build() -> tuple[bytes, str]:
                nquads = built_seeds(settings)
                return nquads, content_version(nquads)
        return stores.open_or_build(folder, source=source, union_default_graph=union, build=build)

    def worker_source(self, kg: KnowledgeGraph) -> str:
        from .stores import STORE_DIR

        return str(Path(str(self.spec.store)) / STORE_DIR)  # opened read-only by each worker

    def __str__(self) -> str:
        return f"folder {self.spec.store}"


@register
class Remote(Backend):
    name = "remote"
    allows = Allows(persistent=True)
    serves = "a remote store (serve --store URL)"

    def __init__(self, spec: GraphSpec = GraphSpec(), remote: RemoteStore | None = None):
        super().__init__(spec)
        self.remote = remote

    def open(self, settings: Settings) -> KnowledgeGraph:
        from .push import push, state_file
        from .remote import connect

        local = DataFile(self.spec) if self.spec.data is not None else Memory(self.spec)
        kg = local.open(settings)
        assert self.spec.store is not None  # backend_name chose this class for it
        remote = connect(self.spec.store)
        log.info("pushing the graphs of %d quads that changed to %s (%s)", len(kg), remote.store_url,
                 remote.engine.name)
        pushed = push(remote, kg.store, state=state_file(remote, settings.remote_state_dir.expanduser()))
        log.info("%d graphs put, %d deleted; the remote holds %d quads", pushed.put, pushed.deleted, pushed.held)
        self.remote = pushed.remote
        return kg

    def worker_source(self, kg: KnowledgeGraph) -> RemoteStore:
        assert self.remote is not None, "a remote backend is opened before it is served"
        return self.remote

    def __str__(self) -> str:
        return f"remote {self.remote}"


def _file_nquads(data: Path) -> tuple[bytes, str]:
    """A dataset file as the N-Quads a folder keeps; an .nq file is checked, not rewritten."""
    if data.suffix.lower() == ".nq":
        nquads = data.read_bytes()
        try:
            for _quad in ox.parse(nquads, format=ox.RdfFormat.N_QUADS):
                pass
        except SyntaxError as exc:
            raise InputError(f"not valid N-Quads: {exc.msg}", Location(str(data), exc.lineno, exc.offset)) from None
        return nquads, content_version(nquads)
    kg = KnowledgeGraph.from_file(data, union_default_graph=False)
    return written_nquads(kg), kg.version


def written_nquads(kg: KnowledgeGraph) -> bytes:
    from .formats import find_format

    nq = find_format("nq")
    assert nq is not None  # in the table
    return kg.dump(nq)
