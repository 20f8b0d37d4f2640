"""`kg-service serve`: load the graph, start the query workers, serve the app with waitress.

waitress is pure Python (no build step) and robust; its threads answer requests while the heavy
work runs in the worker processes. ``channel_request_lookahead`` lets waitress notice a client that
has gone away, so its query is stopped at once instead of at the time limit.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import KgError, UsageError
from ..settings import Settings
from ..store import KnowledgeGraph

log = logging.getLogger("kg_service.web")


def load_kg(settings: Settings, *, data: Path | None, union_default_graph: bool | None) -> KnowledgeGraph:
    """The seeds (union default graph on unless told otherwise) or the dataset file `data` (off)."""
    if data is not None:
        return KnowledgeGraph.from_file(data, union_default_graph=bool(union_default_graph))
    from ..build import build_dataset

    union = True if union_default_graph is None else union_default_graph
    return KnowledgeGraph.from_dataset(build_dataset(settings).dataset, union_default_graph=union)


def make_server(settings: Settings, kg: KnowledgeGraph, *, host: str = "127.0.0.1", port: int = 8000):  # noqa: ANN201
    """A waitress server for the app, bound but not yet serving (``port=0`` picks a free port)."""
    from waitress.server import create_server

    from . import create_app

    app = create_app(settings, kg)
    app.extensions["kg_service"].pool.warm_up(kg.version)
    server = create_server(app, host=host, port=port, threads=8, channel_request_lookahead=5,
                           ident="kg-service")
    return app, server


def run_server(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, data: Path | None = None,
               store_url: str | None = None, union_default_graph: bool | None = None) -> None:
    """Serve until interrupted; the worker processes are stopped on the way out."""
    if store_url:
        raise UsageError("--store is not yet supported: serve the seeds or a --data file")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kg = load_kg(settings, data=data, union_default_graph=union_default_graph)
    app, server = make_server(settings, kg, host=host, port=port)
    log.info("serving %d triples at http://%s:%s/sparql", len(kg), server.effective_host, server.effective_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.extensions["kg_service"].pool.close()


__all__ = ["KgError", "load_kg", "make_server", "run_server"]
