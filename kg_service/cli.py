"""The `kg-service` command: a thin face over the same functions the web layer calls.

Exit codes: 0 success, 1 validation failed, 2 bad usage or unreadable input. Errors print as one
line, ``error: file:line: field: message``, on stderr, never as a traceback; click's own usage errors
(an unknown option, a value of the wrong type) are shortened to one such line too (`main`).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from .errors import KgError, Location, UsageError
from .formats import DATASET, GRAPH, RESULTS, Format, find_format, names
from .settings import Settings


class _Group(click.Group):
    """Turn our errors into a message and their exit code, as one handler for every command."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KgError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _remember_seeds(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta["kg_service.seeds"] = value  # meta is shared by the group's context and the command's


_SEEDS_HELP = ("folder of articles (default: KG_SEEDS_DIR, else ./seeds when there is one, else the seeds "
               "shipped with kg-service)")


def seeds_option(command):  # noqa: ANN001, ANN201 - a click decorator
    """``--seeds DIR`` on a command, the same as before the command name (``kg-service --seeds DIR build``)."""
    return click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), expose_value=False,
                        callback=_remember_seeds, help=_SEEDS_HELP)(command)


@seeds_option
@click.group(cls=_Group, help="A knowledge graph of the disputes and talks between South Korea and Japan.\n\n"
             "Settings come from KG_* environment variables: " + "; ".join(
                 f"{k}: {v}" for k, v in Settings.documentation().items()))
@click.version_option(package_name="kg-service")
def cli() -> None:
    pass


def _settings(*, seeds: bool = True) -> Settings:
    """The settings of this run: ``KG_*`` variables, then ``--seeds``; with `seeds`, the folder must exist
    (a missing one would otherwise build an empty graph without a word)."""
    ctx = click.get_current_context(silent=True)
    chosen = ctx.meta.get("kg_service.seeds") if ctx is not None else None
    settings = Settings.from_env(**({"seeds_dir": chosen} if chosen is not None else {}))
    if seeds and not settings.seeds_dir.is_dir():
        origin = "--seeds" if chosen is not None else "KG_SEEDS_DIR" if "KG_SEEDS_DIR" in os.environ else "the default"
        raise UsageError(f"{settings.seeds_dir}: no such folder of articles ({origin}): give --seeds DIR")
    return settings


def load_graph(settings: Settings):  # noqa: ANN201 - a KnowledgeGraph, imported lazily for a fast --help
    """The seeds as `serve` serves them: `backends.open_graph` (compiled, validated, stored)."""
    from .backends import open_graph

    return open_graph(settings)


@cli.command(help="Compile all seeds, validate them, print counts per class and the report summary. "
             "Exit 1 on any SHACL or check violation.")
@seeds_option
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
             "RDF/XML get the default graph (for the seeds: what is known, the resolved layer with the register).")
@click.option("--format", "fmt", type=click.Choice(names(DATASET, GRAPH)), default="trig", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default stdout)")
@seeds_option
def dump(fmt: str, output: Path | None) -> None:
    import shutil
    import tempfile

    from .progress import progress
    from .web.reads import ReadFiles

    if output is not None and not output.parent.is_dir():  # checked before the build, not after it
        raise UsageError(f"{output.parent}: no such folder to write {output.name} into", Location(field="--output"))
    kg = load_graph(_settings())
    table = find_format(fmt)
    assert table is not None  # click.Choice offers only names from the table
    with tempfile.TemporaryDirectory(prefix="kg-service-dump-") as folder:
        # Written as the server writes /dump.EXT (canonical order), so both give the same bytes.
        with progress("Serialising", total=1, unit="dump") as step:
            read = ReadFiles(Path(folder)).file(kg, "*" if table.kind == DATASET else None, table)
            step()
        if output is None:
            with read.path.open("rb") as data:
                shutil.copyfileobj(data, sys.stdout.buffer)
            return
        tmp = output.with_name(output.name + ".tmp")
        try:
            shutil.copyfile(read.path, tmp)
        except OSError as exc:
            raise UsageError(f"cannot write the dump: {exc.strerror}", Location(str(output))) from None
        tmp.replace(output)


@cli.command(help="Run a SPARQL query on the seed graph, exactly as /sparql runs it (same guard, limits and "
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
    settings = _settings()
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


@cli.command(help="Serve the graph over HTTP (SPARQL 1.1 Protocol, Graph Store reads, dumps) with waitress. "
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

    settings = _settings(seeds=data is None)
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


@cli.command(help="Validate a new article's mapping (with its text) against the shapes, the entity register "
             "and the graph of the seeds, or an RDF file made by another tool (Turtle, TriG, N-Quads, N-Triples, "
             "JSON-LD, RDF/XML). Exit 0 when it conforms (warnings shown), 1 on violations, 2 when the input "
             "cannot be read.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text", "text_path", type=click.Path(dir_okay=False, path_type=Path),
              help="the article text (default: the file the mapping names in article.text, beside it)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True,
              help="report as lines of file:line: severity: message, as JSON, or as a W3C sh:ValidationReport")
@seeds_option
def validate(path: Path, text_path: Path | None, fmt: str) -> None:
    from .intake import MAPPING_SUFFIXES, decode, parse_rdf, rdf_format
    from .progress import progress
    from .validate import load_context, validate_mapping, validate_rdf

    data = _read(path)
    if path.suffix.lower() in MAPPING_SUFFIXES:
        source = decode(data, str(path))
        text_file = text_path or _text_beside(path, source)
        text = decode(_read(text_file), str(text_file)) if text_file else ""
        report, _mapping = validate_mapping(load_context(_settings()), source, path, text)
    else:  # RDF from another tool may be large: parsing and SHACL are the long steps
        with progress("Validating", total=3, unit="step") as step:
            dataset = parse_rdf(data, rdf_format(path.name), str(path))
            step()
            rdf_text = decode(_read(text_path), str(text_path)) if text_path else None
            context = load_context(_settings())
            step()
            report = validate_rdf(context, dataset, str(path), rdf_text)
            step()
    _echo_report(report, fmt)
    sys.exit(0 if report.conforms else 1)


@cli.command(help="Validate a new article and, when it has no violation, add its text and mapping to the seeds "
             "folder (KG_SEEDS_DIR) atomically; concurrent adds wait for each other. Refuses an article id that "
             "exists. Exit 0 when added, 1 when refused, 2 when the input cannot be read.")
@click.argument("mapping", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text", "text_path", type=click.Path(dir_okay=False, path_type=Path),
              help="the article text (default: the file the mapping names in article.text, beside it)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True,
              help="how to print the validation report")
@seeds_option
def add(mapping: Path, text_path: Path | None, fmt: str) -> None:
    from .errors import ArticleRefused
    from .intake import decode
    from .seeds import add_article
    from .validate import load_context

    settings = _settings()
    source = _read(mapping)
    text_file = text_path or _text_beside(mapping, decode(source, str(mapping)))
    if text_file is None:
        raise UsageError(f"{mapping}: the mapping names no article text (article.text): give --text")
    try:
        report, added = add_article(load_context(settings), settings.seeds_dir, source, str(mapping),
                                    _read(text_file), str(text_file))
    except ArticleRefused as exc:
        _echo_report(exc.report, fmt)
        raise
    _echo_report(report, fmt)
    click.echo(f"Added article {added.article_id}: {added.text_path}, {added.mapping_path}", err=True)


@cli.command(help="Draft a mapping from an article's text: article block, mentions of register entities, candidate "
             "events and statements, each guess marked '# check:', the id of a known event proposed for reuse. "
             "Never adds anything: edit the draft, then `kg-service validate` it. Exit 2 when the text cannot be read.")
@click.argument("article", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default stdout)")
def draft(article: Path, output: Path | None) -> None:
    from .draft import draft_mapping
    from .intake import decode
    from .search_index import load_index

    text = decode(_read(article), str(article))
    kg = load_graph(_settings())
    result = draft_mapping(text, load_index(kg), text_name=article.name)
    if output is None:
        click.echo(result.text, nl=False)
    else:
        _write_text(output, result.text)
    reused = sum(1 for e in result.events if e.match)
    to_check = sum(1 for m in result.mentions if m.near)
    named = sum(1 for m in result.mentions if not m.short)
    click.echo(f"Drafted {named} mentions ({to_check} to check), {len(result.events)} candidate "
               f"events ({reused} known), {len(result.statements)} statements.", err=True)


@cli.command(help="Search what the graph knows: events and register entities by label or spelling (fuzzy), "
             "class, date range (resolved dates, corrections included) and participant, each with the id to "
             "paste into a mapping.")
@click.argument("text", default="")
@click.option("--class", "cls", help="an event class (Meeting, Ruling, TradeMeasure, Agreement, Visit, Ceremony) "
              "or an entity kind (person, state, org, group, place, issue, gathering)")
@click.option("--from", "date_from", metavar="DATE", help="events on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD)")
@click.option("--to", "date_to", metavar="DATE", help="events on or before DATE (YYYY, YYYY-MM or YYYY-MM-DD)")
@click.option("--who", metavar="KEY", help="events this entity took part in (a key, or a spelling)")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="most results")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def find(text: str, cls: str | None, date_from: str | None, date_to: str | None, who: str | None, limit: int,
         fmt: str) -> None:
    import json

    from .search import find as search
    from .search_index import load_index

    kg = load_graph(_settings())
    hits = search(load_index(kg), text, cls=cls, date_from=date_from, date_to=date_to, who=who, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([h.as_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    for hit in hits:
        what = f"{hit.cls} {hit.date or 'undated'}" if hit.kind == "event" else hit.kind
        notes = f"  ({'; '.join(hit.why)})" if hit.why else ""
        click.echo(f"{hit.key:<48} {what:<24} {hit.label}{notes}")
    if not hits:
        click.echo("nothing found", err=True)


def _write_text(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all; an unwritable place is the user's error, not a traceback."""
    from .errors import InputError, Location

    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write file: {exc.strerror}", Location(str(path))) from None


def _read(path: Path) -> bytes:
    from .errors import InputError, Location

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", Location(str(path))) from None


def _text_beside(mapping: Path, source: str) -> Path | None:
    """The text file a mapping names in article.text, beside it; an error names the line when it is missing."""
    from .errors import InputError, Location
    from .mapping import parse_yaml

    doc = parse_yaml(source, mapping)
    article: Any = doc.get("article") if hasattr(doc, "get") else None  # a ruamel.yaml node, untyped
    name = article.get("text") if hasattr(article, "get") else None
    if not isinstance(name, str):
        return None  # the schema check reports the missing field
    path = mapping.parent / Path(name).name
    if not path.is_file():
        line = article.lc.key("text")[0] + 1
        raise InputError(f"the article text {name!r} is missing: put it beside the mapping or give --text",
                         Location(str(mapping), line, None, "article.text"))
    return path


def _echo_report(report, fmt: str) -> None:  # noqa: ANN001 - a report.Report, imported lazily
    import json

    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    elif fmt == "turtle":
        click.echo(report.as_graph().serialize(format="turtle"))
    else:
        click.echo(report.as_text())


def _parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--param {text!r}: write NAME=VALUE")
    return name.lstrip("?$"), value


def main() -> None:
    """Run the command; every usage mistake, click's own included, ends as one line and exit 2."""
    try:
        code = cli.main(prog_name="kg-service", standalone_mode=False)
    except click.ClickException as exc:  # an unknown option, a bad value, a missing argument
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:  # Ctrl-C at a prompt, or a closed stdin
        click.echo("aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
