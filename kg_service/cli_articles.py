"""`kg-service validate` and `add`: a new article checked against the shapes and the graph, then added to the seeds.

Both take a mapping with its text (found beside it through article.text when not given), or, for
`validate`, RDF made by another tool, and print the validation report as text, JSON or Turtle. `add`
writes the article into the seeds only when the report has no violation (seeds.add_article).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .cli_inputs import command_settings, read_input, seeds_option
from .errors import UsageError


@click.command(help="Validate a new article's mapping (with its text) against the shapes, the entity register "
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

    data = read_input(path)
    if path.suffix.lower() in MAPPING_SUFFIXES:
        source = decode(data, str(path))
        text_file = text_path or _text_beside(path, source)
        text = decode(read_input(text_file), str(text_file)) if text_file else ""
        report, _mapping = validate_mapping(load_context(command_settings()), source, path, text)
    else:  # RDF from another tool may be large: parsing and SHACL are the long steps
        with progress("Validating", total=3, unit="step") as step:
            dataset = parse_rdf(data, rdf_format(path.name), str(path))
            step()
            rdf_text = decode(read_input(text_path), str(text_path)) if text_path else None
            context = load_context(command_settings())
            step()
            report = validate_rdf(context, dataset, str(path), rdf_text)
            step()
    _echo_report(report, fmt)
    sys.exit(0 if report.conforms else 1)


@click.command(help="Validate a new article and, when it has no violation, add its text and mapping to the seeds "
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

    settings = command_settings()
    source = read_input(mapping)
    text_file = text_path or _text_beside(mapping, decode(source, str(mapping)))
    if text_file is None:
        raise UsageError(f"{mapping}: the mapping names no article text (article.text): give --text")
    try:
        report, added = add_article(load_context(settings), settings.seeds_dir, source, str(mapping),
                                    read_input(text_file), str(text_file))
    except ArticleRefused as exc:
        _echo_report(exc.report, fmt)
        raise
    _echo_report(report, fmt)
    click.echo(f"Added article {added.article_id}: {added.text_path}, {added.mapping_path}", err=True)


def _text_beside(mapping: Path, source: str) -> Path | None:
    """The text file a mapping names in article.text, beside it; an error names the line when it is missing."""
    from .errors import InputError, Location
    from .yamlread import parse_yaml

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
