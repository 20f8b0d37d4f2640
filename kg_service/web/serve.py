"""`kg-service serve`: load the graph, start the query workers, serve the app with waitress.

Where the graph lives is chosen here, once: in memory (the default), in a persistent folder
(`--store PATH`, reopened without a rebuild while the inputs are unchanged), or on a remote SPARQL
server (`--store URL`, pushed at start and queried through). The app sees one `KnowledgeGraph` in
every case.

waitress is pure Python (no build step) and robust; its threads answer requests while the heavy
work runs in the worker processes. ``channel_request_lookahead`` lets waitress notice a client that
has gone away, so its query is stopped at once instead of at the time limit.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pyoxigraph as ox

from ..errors import InputError, KgError, Location
from ..formats import find_format
from ..settings import Settings
from ..store import KnowledgeGraph, content_version, dataset_nquads

log = logging.getLogger("kg_service.web")


def load_kg(settings: Settings, *, data: Path | None, union_default_graph: bool | None,
            store_url: str | None = None) -> KnowledgeGraph:
    """The seeds (union default graph on unless told otherwise) or the dataset file `data` (off), in
    memory, in the persistent folder `store_url`, or pushed to the remote store at `store_url`."""
    union = (data is None) if union_default_graph is None else union_default_graph
    if data is None:
        from ..seeds import recover, seeds_lock

        with seeds_lock(settings.seeds_dir):  # an add killed midway is finished or undone before the build
            recover(settings.seeds_dir)
    if store_url and not re.match(r"(?:[a-z]+\+)?https?://", store_url):  # virtuoso+http://... names the engine
        return _open_persistent(settings, Path(store_url), data=data, union=union)
    if data is not None:
        kg = KnowledgeGraph.from_file(data, union_default_graph=union)
    else:
        from ..build import build_dataset

        kg = KnowledgeGraph.from_dataset(build_dataset(settings).dataset, union_default_graph=union)
    if store_url:
        from ..push import push, state_file
        from ..remote import connect

        remote = connect(store_url)
        log.info("pushing the graphs of %d quads that changed to %s (%s)", len(kg), remote.store_url,
                 remote.engine.name)
        pushed = push(remote, kg.store, state=state_file(remote, settings.remote_state_dir.expanduser()))
        log.info("%d graphs put, %d deleted; the remote holds %d quads", pushed.put, pushed.deleted, pushed.held)
        kg.remote = pushed.remote
    return kg


def _open_persistent(settings: Settings, folder: Path, *, data: Path | None, union: bool) -> KnowledgeGraph:
    from .. import stores

    if data is not None:
        source = stores.file_source(data, union_default_graph=union)

        def build() -> tuple[bytes, str]:
            if data.suffix.lower() == ".nq":  # already what the folder keeps: checked, not copied
                nquads = data.read_bytes()
                try:
                    for _quad in ox.parse(nquads, format=ox.RdfFormat.N_QUADS):
                        pass
                except SyntaxError as exc:
                    raise InputError(f"not valid N-Quads: {exc.msg}", Location(str(data), exc.lineno,
                                                                            exc.offset)) from None
                return nquads, content_version(nquads)
            kg = KnowledgeGraph.from_file(data, union_default_graph=False)
            nq = find_format("nq")
            assert nq is not None  # in the table
            return kg.dump(nq), kg.version
    else:
        source = stores.seeds_source(settings.seeds_dir, settings.ontology_dir, union_default_graph=union)

        def build() -> tuple[bytes, str]:
            from ..build import build_dataset

            nquads = dataset_nquads(build_dataset(settings).dataset)
            return nquads, content_version(nquads)
    return stores.open_or_build(folder, source=source, union_default_graph=union, build=build)


def make_server(settings: Settings, kg: KnowledgeGraph, *, host: str = "127.0.0.1", port: int = 8000):  # noqa: ANN201
    """A waitress server for the app, bound but not yet serving (``port=0`` picks a free port)."""
    from waitress.server import create_server

    from . import create_app
    from .server_errors import use_json_errors

    app = create_app(settings, kg)
    app.extensions["kg_service"].pool.warm_up(kg.version)
    # waitress would otherwise buffer up to 1 GB of body (to disk) before the app could answer 413.
    server = create_server(app, host=host, port=port, threads=8, channel_request_lookahead=5,
                           ident="kg-service", max_request_body_size=settings.max_upload_bytes)
    use_json_errors(server)  # a body over the limit is waitress's 413: in the JSON error body too
    return app, server


def run_server(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, data: Path | None = None,
               store_url: str | None = None, union_default_graph: bool | None = None) -> None:
    """Serve until interrupted; the worker processes are stopped on the way out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kg = load_kg(settings, data=data, union_default_graph=union_default_graph, store_url=store_url)
    app, server = make_server(settings, kg, host=host, port=port)
    where = kg.remote or kg.path or "memory"
    log.info("serving %d quads (%s) at http://%s:%s/sparql", len(kg), where, server.effective_host,
             server.effective_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.extensions["kg_service"].pool.close()


__all__ = ["KgError", "load_kg", "make_server", "run_server"]
