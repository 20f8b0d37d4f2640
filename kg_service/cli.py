"""The `kg-service` command: a thin face over the same functions the web layer calls.

Exit codes: 0 success, 1 validation failed, 2 bad usage or unreadable input. Errors print as
``file:line: field: message`` on stderr, never as a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import KgError, UsageError
from .formats import DATASET, GRAPH, find_format, names
from .settings import Settings


class _Group(click.Group):
    """Turn our errors into a message and their exit code, as one handler for every command."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KgError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, help="A knowledge graph of the disputes and talks between South Korea and Japan.\n\n"
             "Settings come from KG_* environment variables: " + "; ".join(
                 f"{k}: {v}" for k, v in Settings.documentation().items()))
@click.version_option(package_name="kg-service")
def cli() -> None:
    pass


def _settings() -> Settings:
    return Settings.from_env()


def load_graph(settings: Settings):  # noqa: ANN201 - (Build, KnowledgeGraph), imported lazily for a fast --help
    from .build import build_dataset
    from .store import KnowledgeGraph

    build = build_dataset(settings)
    return build, KnowledgeGraph.from_dataset(build.dataset)


@cli.command(help="Compile all seeds, validate them, print counts per class and the report summary. "
             "Exit 1 on any SHACL or check violation.")
@click.option("--verbose", "-v", is_flag=True, help="list every finding, not only violations")
def build(verbose: bool) -> None:
    from .build import build_dataset, class_counts
    from .validate import load_shapes, validate_build

    settings = _settings()
    result = build_dataset(settings)
    report = validate_build(result, load_shapes(settings.ontology_dir))
    counts = class_counts(result.dataset)
    click.echo(f"Built {len(result.articles)} articles, {len(list(result.dataset.quads()))} quads "
               f"in {len(list(result.dataset.graphs())) - 1} named graphs.")
    click.echo("Resources per class:")
    for name, count in counts.items():
        click.echo(f"  {name:<16} {count:>5}")
    shown = [f for f in report.sorted() if verbose or f.severity == "Violation"]
    for finding in shown:
        click.echo(f"{finding.where()}: {finding.severity}: {finding.message}")
    summary = ", ".join(f"{n} {s.lower()}{'s' if n != 1 else ''}" for s, n in report.counts().items())
    click.echo(f"Validation: {'conforms' if report.conforms else 'DOES NOT CONFORM'} ({summary})")
    sys.exit(0 if report.conforms else 1)


@cli.command(help="Write the whole graph. Dataset formats keep the named graphs; Turtle, N-Triples and "
             "RDF/XML get the union of all graphs.")
@click.option("--format", "fmt", type=click.Choice(names(DATASET, GRAPH)), default="trig", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default stdout)")
def dump(fmt: str, output: Path | None) -> None:
    _build, kg = load_graph(_settings())
    data = kg.dump(find_format(fmt))
    if output is None:
        sys.stdout.buffer.write(data)
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(output)


@cli.command(help="Run a SPARQL query (text, or a .rq file) on the seed graph.")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "tsv", "xml"]), default="table",
              show_default=True)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="bind a variable of the query to a value (an IRI in <...>, otherwise a string)")
def query(query: str, fmt: str, params: tuple[str, ...]) -> None:
    from .queries import parse_query_file
    from .results import render_table, run_query, term_from_text

    values = dict(_parse_param(p) for p in params)
    if query.endswith(".rq") and Path(query).is_file():
        named = parse_query_file(Path(query))  # header defaults apply, and parameters are type-checked
        text, bindings = named.text, named.bindings(values)
    else:
        text, bindings = query, {name: term_from_text(value) for name, value in values.items()}
    _build, kg = load_graph(_settings())
    result = run_query(kg, text, bindings=bindings)
    if fmt == "table":
        click.echo(render_table(result))
    else:
        sys.stdout.buffer.write(result.serialize(find_format(fmt)))


@cli.command(help="Serve the graph over HTTP (SPARQL 1.1 Protocol, Graph Store reads, dumps) with waitress. "
             "Without --data it serves the seeds, with the union of the named graphs as the default graph.")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=int, help="port to listen on")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="serve this RDF dataset file (N-Quads, TriG, Turtle, N-Triples, RDF/XML) instead of the seeds")
@click.option("--store", "store_url", help="remote SPARQL server URL or store folder (not yet supported)")
@click.option("--union-default-graph/--no-union-default-graph", default=None,
              help="default graph = union of the named graphs (default: on for the seeds, off for --data)")
def serve(host: str, port: int, data: Path | None, store_url: str | None, union_default_graph: bool | None) -> None:
    from .web.serve import run_server

    run_server(_settings(), host=host, port=port, data=data, store_url=store_url,
               union_default_graph=union_default_graph)


def _parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--param {text!r}: write NAME=VALUE")
    return name.lstrip("?$"), value


def main() -> None:
    cli(prog_name="kg-service")


if __name__ == "__main__":
    main()
