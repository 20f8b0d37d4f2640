"""What a `kg-service` command reads before it works: its settings, the graph of the seeds, its input files.

Every command module (cli_*.py) takes these from here so they behave alike: ``--seeds DIR`` works
before the command name or after it, the ``KG_*`` settings are read once per run, the graph is the one
`serve` would serve, and a file that cannot be read is the user's error (exit 2), never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from .errors import UsageError
from .settings import Settings


def _remember_seeds(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta["kg_service.seeds"] = value  # meta is shared by the group's context and the command's


_SEEDS_HELP = ("folder of articles (default: KG_SEEDS_DIR, else ./seeds when there is one, else the seeds "
               "shipped with kg-service)")


def seeds_option(command):  # noqa: ANN001, ANN201 - a click decorator
    """``--seeds DIR`` on a command, the same as before the command name (``kg-service --seeds DIR build``)."""
    return click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), expose_value=False,
                        callback=_remember_seeds, help=_SEEDS_HELP)(command)


def command_settings(*, seeds: bool = True) -> Settings:
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


def read_input(path: Path) -> bytes:
    """The bytes of an input file; one that cannot be read is an InputError naming it."""
    from .errors import InputError, Location

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", Location(str(path))) from None
