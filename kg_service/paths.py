"""Where the data the service ships with lives: the ontology, the named queries and the seed articles.

In a checkout they are the top-level folders ``ontology/``, ``sparql/`` and ``seeds/`` (the layout the
README documents, and what an editable install runs from). A wheel carries the same folders as package
data under ``kg_service/_data/`` (`setup.py` maps them there), so an installed ``kg-service`` finds them
wherever it runs. Settings read their defaults from here; nothing else should know either layout.
"""

from __future__ import annotations

from pathlib import Path

from .errors import Location, ReadOnly

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "_data"  # present in a built wheel only
CHECKOUT = PACKAGE.parent
DATA_FOLDERS = ("ontology", "seeds", "sparql")


def bundled(name: str) -> Path:
    """The shipped folder `name` (one of `DATA_FOLDERS`): inside the installed package, else the checkout's.

    >>> bundled("ontology").name
    'ontology'
    """
    if name not in DATA_FOLDERS:
        raise ValueError(f"no bundled folder {name!r}")
    inside = BUNDLED / name
    return inside if inside.is_dir() else CHECKOUT / name


def default_seeds(cwd: Path | None = None) -> Path:
    """The articles folder when none is given: ``./seeds`` where the command runs, when there is one,
    else the seeds shipped with the package. Called when a command starts, never at import."""
    here = (cwd or Path.cwd()) / "seeds"
    return here if here.is_dir() else bundled("seeds")


def check_addable(seeds_dir: Path) -> None:
    """Refuse to add articles to the seeds inside an installed package: they would vanish on the next
    upgrade, or fail half-way on a read-only install. A checkout's own seeds are where articles go."""
    if BUNDLED.is_dir() and seeds_dir.resolve().is_relative_to(BUNDLED.resolve()):
        raise ReadOnly(f"{seeds_dir} holds the seeds shipped with kg-service, which never change: copy them to a "
                       "folder of your own and give it with --seeds DIR or KG_SEEDS_DIR (or work where ./seeds "
                       "is)", Location(field="seeds"))
