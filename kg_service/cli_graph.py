"""`kg-service build` and `dump`: the seeds compiled and validated, and the graph written out.

`build` is the check an author runs after editing the seeds (counts per class, the validation
summary, exit 1 on a violation); `dump` writes the graph as the server writes ``/dump.EXT``, so both
give the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_inputs import command_settings, load_graph, seeds_option
from .errors import Location, UsageError
from .formats import DATASET, GRAPH, find_format, names


@click.command(help="Compile all seeds, validate them, print counts per class and the report summary. "
             "Exit 1 on any SHACL or check violation.")
@seeds_option
@click.option("--verbose", "-v", is_flag=True, help="list every finding, not only violations")
def build(verbose: bool) -> None:
    from .build import build_dataset, class_counts
    from .buildcheck import validate_build
    from .shacl import load_shapes

    settings = command_settings()
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


@click.command(help="Write the whole graph. Dataset formats keep the named graphs; Turtle, N-Triples and "
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
    kg = load_graph(command_settings())
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
