"""`kg-service draft` and `find`: help for an analyst writing a new article's mapping.

`draft` proposes a mapping from the text (draft.py), `find` searches the events and entities the
graph already knows (search.py) for the ids to reuse; both read the same index (search_index.py),
so what a draft proposes is what a search finds.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_inputs import command_settings, load_graph, read_input


@click.command(help="Draft a mapping from an article's text: article block, mentions of register entities, candidate "
             "events and statements, each guess marked '# check:', the id of a known event proposed for reuse. "
             "Never adds anything: edit the draft, then `kg-service validate` it. Exit 2 when the text cannot be read.")
@click.argument("article", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default stdout)")
def draft(article: Path, output: Path | None) -> None:
    from .draft import draft_mapping
    from .intake import decode
    from .search_index import load_index

    text = decode(read_input(article), str(article))
    kg = load_graph(command_settings())
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


@click.command(help="Search what the graph knows: events and register entities by label or spelling (fuzzy), "
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

    kg = load_graph(command_settings())
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
