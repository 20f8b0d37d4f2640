"""Settings as data: one frozen dataclass, each field with its help text, read from ``KG_*`` variables.

Nothing is read at import time: `Settings.from_env()` is called by the CLI and the app factory, so
tests build settings explicitly. The paths default to the checkout this package lives in, which is
where `make serve` runs from; a deployment points them elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setting(default: object, help: str) -> object:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    seeds_dir: Path = _setting(ROOT / "seeds", "folder of article texts (*.txt) and their mappings (*.yaml)")
    ontology_dir: Path = _setting(ROOT / "ontology", "folder of dkg.ttl, shapes.ttl and entities.yaml")
    queries_dir: Path = _setting(ROOT / "sparql", "folder of named queries (*.rq)")
    query_timeout_s: float = _setting(10.0, "longest a SPARQL query may run, in seconds; clients may ask for less")
    max_rows: int = _setting(10000, "most result rows a query returns; clients may ask for fewer")
    query_workers: int = _setting(2, "worker processes that run SPARQL queries (each holds a copy of the graph)")
    write_token: str = _setting("", "token that allows POST /articles; empty means the service is read-only")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``KG_<FIELD>`` variables (e.g. ``KG_QUERY_TIMEOUT_S=5``), then apply `overrides`.

        >>> Settings.from_env({"KG_MAX_ROWS": "50"}).max_rows
        50
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("KG_" + f.name.upper())
            if raw is None:
                continue
            kind = type(f.default)
            values[f.name] = Path(raw) if isinstance(f.default, Path) else kind(raw)
        return replace(cls(**values), **overrides)

    @staticmethod
    def documentation() -> dict[str, str]:
        """Every setting with its environment variable and help text (for --help and the README)."""
        return {"KG_" + f.name.upper(): f.metadata["help"] for f in fields(Settings)}
