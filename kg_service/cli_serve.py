"""`kg-service serve`: the options checked, then a thin call into the serving core (web.serve.run_server).

What can be refused before anything loads is refused here, as one line and exit 2: a port that is
taken, updates asked for where they cannot apply or without a token on a public address.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from .cli_inputs import command_settings, seeds_option
from .errors import UsageError


@click.command(help="Serve the graph over HTTP (SPARQL 1.1 Protocol, Graph Store reads, dumps) with waitress. "
             "Without --data it serves the seeds; their default graph is what is known (the resolved layer, "
             "register, metadata, corrections, ontology), each article's claims stay in its named graph.")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=int, help="port to listen on")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="serve this RDF dataset file (N-Quads, TriG, Turtle, N-Triples, RDF/XML) instead of the seeds")
@click.option("--store", "store_url", metavar="PATH-or-URL",
              help="a folder (persistent embedded store, reopened without a rebuild while the inputs are unchanged) "
                   "or the URL of a SPARQL 1.1 server with the Graph Store Protocol (the graph is pushed there and "
                   "queried through it; virtuoso+http://user:password@host:8890/ names the engine and the "
                   "credentials for writing)")
@click.option("--union-default-graph/--no-union-default-graph", default=None,
              help="default graph = union of the named graphs (default: on for the seeds, off for --data)")
@click.option("--allow-updates", is_flag=True,
              help="accept SPARQL Update and Graph Store writes (with --data and no union default graph; same as "
                   "KG_ALLOW_UPDATES)")
@seeds_option
def serve(host: str, port: int, data: Path | None, store_url: str | None, union_default_graph: bool | None,
          allow_updates: bool) -> None:
    from dataclasses import replace

    from .listen import check_listen

    settings = command_settings(seeds=data is None)
    check_listen(host, port)  # before the load: a taken port is one line at once, not a traceback later
    if allow_updates or settings.allow_updates:
        if data is None or union_default_graph:
            raise UsageError("--allow-updates needs --data FILE without --union-default-graph: the seeds are "
                             "changed only by adding articles")
        if not settings.write_token and host not in ("127.0.0.1", "localhost", "::1"):
            raise UsageError(f"--allow-updates on {host} without KG_WRITE_TOKEN would let anyone change the data: "
                             "set a token, or listen on 127.0.0.1")
        settings = replace(settings, allow_updates=True)
    from .web.serve import run_server  # Flask and the rest only once the arguments are known to be good

    run_server(settings, host=host, port=port, data=data, store_url=store_url,
               union_default_graph=union_default_graph)
    # Workers, zygote and sockets are closed and nothing is left to write (the store is in memory or opened
    # read-only): end now, instead of letting the interpreter free a million quads object by object (16 s).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
