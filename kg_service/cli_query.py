"""`kg-service query`: one SPARQL query on the seeds, run exactly as /sparql runs it.

The query (text, a file, or stdin; a named query file's header types its ``--param`` values) is
planned and executed by the web layer's own functions (web/run.py, web/workers.py), so the guard,
the limits and the bytes are the endpoint's; ``--format table`` reads the answer back as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_inputs import command_settings, load_graph
from .errors import Location, UsageError
from .formats import GRAPH, RESULTS, Format, names


@click.command(help="Run a SPARQL query on the seed graph, exactly as /sparql runs it (same guard, limits and "
             "bytes). QUERY is a query file (.rq, with or without a header), '-' for stdin, or the query text.")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", *names(RESULTS, GRAPH)]), default="table",
              show_default=True)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="bind a variable of the query to a value (an IRI in <...>, otherwise a string)")
def query(query: str, fmt: str, params: tuple[str, ...]) -> None:
    import pyoxigraph as ox

    from .results import render_table, short, term_from_text
    from .web.run import QueryRequest, execute, plan
    from .web.workers import execute as execute_job

    values = dict(_parse_param(p) for p in params)
    text, bindings = _query_text(query, values)
    bindings = bindings if bindings is not None else {n: term_from_text(v) for n, v in values.items()}
    settings = command_settings()
    request = QueryRequest(text, bindings=tuple(bindings.items()),
                           params={"format": [fmt]} if fmt != "table" else {}, accept=TABLE_ACCEPT,
                           base_iri=(settings.public_url or "http://localhost").rstrip("/") + "/sparql")
    planned = plan(request, settings, "")  # refuses what the endpoint refuses (SERVICE, LOAD, the guard's bounds)
    kg = load_graph(settings)
    # The store itself, as the query workers use it (they share the served store by fork): the engine's row
    # order, and so the order of GROUP_CONCAT's values, follows the load order, and the bytes must be the
    # endpoint's.
    store = kg.store
    result = execute(planned, lambda job, _timeout_s: execute_job(store, job))
    if result.answer.truncated:
        click.echo(f"warning: {result.headers['Warning']}", err=True)
    if fmt != "table":
        sys.stdout.buffer.write(result.body)
        return
    if planned.shape.is_graph:
        for quad in ox.parse(result.body, format=planned.fmt.rdf):
            click.echo(f"{short(quad.subject)} {short(quad.predicate)} {short(quad.object)}")
        return
    click.echo(render_table(read_result(result.body, planned.fmt)))


TABLE_ACCEPT = "application/sparql-results+json, application/n-triples"  # what the table is read back from


def _query_text(query: str, values: dict[str, str]):  # noqa: ANN202 - (str, bindings or None)
    """The query text, and its bindings when a query file's header types its parameters."""
    from .queries import parse_query_file

    if query == "-":
        return sys.stdin.read(), None
    path = Path(query)
    if query.endswith(".rq") or _is_file(path):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the query file: {getattr(exc, 'strerror', None) or exc}",
                             Location(query)) from None
        if any(line.lower().startswith("# title:") for line in text.splitlines()[:20]):
            named = parse_query_file(path)  # header defaults apply, and parameters are type-checked
            return named.text, named.bindings(values)
        return text, None
    return query, None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # query text too long to be a file name
        return False


def read_result(body: bytes, fmt: Format):  # noqa: ANN201 - a results.QueryResult
    """Read serialised solutions or a boolean back as a result to show as a table."""
    import pyoxigraph as ox

    from .results import BINDINGS, BOOLEAN, QueryResult

    raw = ox.parse_query_results(body, format=fmt.results)
    return QueryResult(BOOLEAN if isinstance(raw, ox.QueryBoolean) else BINDINGS, raw)


def _parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--param {text!r}: write NAME=VALUE")
    return name.lstrip("?$"), value
