"""Settings as data: one frozen dataclass, each field with its help text, read from ``KG_*`` variables.

Nothing is read at import time: `Settings.from_env()` is called by the CLI and the app factory, so
tests build settings explicitly. The paths default to the folders shipped with the package (the
checkout's own in a checkout, see `paths`); `from_env` takes ``./seeds`` instead when the command runs
beside one, so `kg-service serve` in a folder of articles serves those.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from .errors import Location, UsageError
from .paths import bundled, default_seeds

T = TypeVar("T")

def _setting(default: T, help: str) -> T:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    seeds_dir: Path = _setting(bundled("seeds"), "folder of article texts (*.txt) and their mappings (*.yaml); "
                                                 "default ./seeds when there is one, else the seeds kg-service ships")
    ontology_dir: Path = _setting(bundled("ontology"), "folder of dkg.ttl, shapes.ttl and entities.yaml")
    queries_dir: Path = _setting(bundled("sparql"), "folder of named queries (*.rq)")
    query_timeout_s: float = _setting(10.0, "longest a SPARQL query may run, in seconds; clients may ask for less")
    max_rows: int = _setting(10000, "most result rows a query returns; clients may ask for fewer")
    query_workers: int = _setting(2, "query worker processes kept ready (they share one copy of the graph)")
    query_memory_mb: int = _setting(2048, "memory one query may use beyond the shared graph, in MiB (its worker's "
                                          "address space is capped there); 0: no cap")
    max_result_bytes: int = _setting(64 << 20, "largest serialised query result, in bytes")
    web_processes: int = _setting(0, "processes answering HTTP for a read-only graph held in memory (forked from "
                                     "the one that loaded it; they run queries themselves); 0: one per core up to "
                                     "250,000 quads, one above (each may come to hold a copy of the graph). A "
                                     "writable service (write token or updates) runs one process with query workers")
    query_burst: int = _setting(8, "most queries running at once: workers beyond query_workers are forked on demand, "
                                   "so a light query is not queued behind runaway ones")
    write_token: str = _setting("", "token that allows POST /articles and SPARQL updates; empty: no adds, and "
                                    "updates only where KG_ALLOW_UPDATES opens them (on 127.0.0.1)")
    max_upload_bytes: int = _setting(2_000_000, "largest request body accepted (any POST), in bytes")
    max_validations: int = _setting(2, "validations POST /validate runs at once; more get 503 with Retry-After "
                                       "(adds are not counted: they wait only for each other)")
    max_query_chars: int = _setting(100_000, "longest SPARQL query text /sparql accepts, in characters")
    dataset_name: str = _setting("ds", "the dataset name in Fuseki-style URLs (/NAME/sparql, /NAME/query, "
                                       "/NAME/update, /NAME/data, /NAME/get), for clients set up for Fuseki")
    public_url: str = _setting("", "the service's public base URL (https://kg.example.org), used in every generated "
                                   "link; empty: the address the server listens on. The Host header is never used")
    allow_updates: bool = _setting(False, "accept SPARQL Update on /sparql (only for a --data dataset without the "
                                          "union default graph; with a write token set, updates need it too)")
    remote_state_dir: Path = _setting(Path("~/.cache/kg-service"), "folder keeping the content hash of each graph "
                                      "pushed to a remote store (serve --store URL), so a restart pushes only the "
                                      "graphs that changed")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``KG_<FIELD>`` variables (e.g. ``KG_QUERY_TIMEOUT_S=5``), then apply `overrides`.

        >>> Settings.from_env({"KG_MAX_ROWS": "50"}).max_rows
        50
        >>> Settings.from_env({"KG_MAX_ROWS": "many"})
        Traceback (most recent call last):
        kg_service.errors.UsageError: KG_MAX_ROWS: KG_MAX_ROWS='many' is not a whole number: most result rows a query returns; clients may ask for fewer
        """  # noqa: E501
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"seeds_dir": default_seeds()}  # each value has its field's type (`_parse`)
        for f in fields(cls):
            raw = env.get("KG_" + f.name.upper())
            if raw is None:
                continue
            try:
                values[f.name] = _parse(raw, f.default)
            except ValueError:
                kind = {bool: "yes/no value", int: "whole number", float: "number"}.get(type(f.default), "value")
                raise UsageError(f"KG_{f.name.upper()}={raw!r} is not a {kind}: {f.metadata['help']}",
                                 Location(field="KG_" + f.name.upper())) from None
        return replace(cls(**values), **overrides)

    @staticmethod
    def documentation() -> dict[str, str]:
        """Every setting with its environment variable and help text (for --help and the README)."""
        return {"KG_" + f.name.upper(): f.metadata["help"] for f in fields(Settings)}


def _parse(raw: str, default: object) -> object:
    """A variable's text as the type of the field's default (``bool("0")`` would be True).

    >>> _parse("off", False), _parse("1", False), _parse("2.5", 1.0)
    (False, True, 2.5)
    """
    if isinstance(default, bool):
        if raw.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ValueError(f"not a yes/no value: {raw!r}")
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, int | float | str):
        return type(default)(raw)
    raise TypeError(f"no parser for a {type(default).__name__} setting")
