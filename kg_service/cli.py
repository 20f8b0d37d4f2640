"""The `kg-service` command: a thin face over the same functions the web layer calls.

Exit codes: 0 success, 1 validation failed, 2 bad usage or unreadable input. Errors print as one
line, ``error: file:line: field: message``, on stderr, never as a traceback; click's own usage errors
(an unknown option, a value of the wrong type) are shortened to one such line too (`main`).

The commands live in modules by what they work on: cli_graph (build, dump), cli_query (query),
cli_serve (serve), cli_articles (validate, add) and cli_authoring (draft, find), with what they all
read in cli_inputs. This module is the group they hang on, the one place our errors become a message
and an exit code, and `main`, the console script.
"""

from __future__ import annotations

import sys

import click

from .cli_articles import add, validate
from .cli_authoring import draft, find
from .cli_graph import build, dump
from .cli_inputs import seeds_option
from .cli_query import query
from .cli_serve import serve
from .errors import KgError
from .settings import Settings


class _Group(click.Group):
    """Turn our errors into a message and their exit code, as one handler for every command."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KgError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@seeds_option
@click.group(cls=_Group, help="A knowledge graph of the disputes and talks between South Korea and Japan.\n\n"
             "Settings come from KG_* environment variables: " + "; ".join(
                 f"{k}: {v}" for k, v in Settings.documentation().items()))
@click.version_option(package_name="kg-service")
def cli() -> None:
    pass


for _command in (build, dump, query, serve, validate, add, draft, find):
    cli.add_command(_command)


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
