"""Per-query limits: how long a query may run and how many rows it may return.

The operator sets the ceilings (`Settings.query_timeout_s`, `Settings.max_rows`); a client may ask
for less (``timeout=`` seconds, ``limit=``/``max-rows=`` rows), never more, so one careless client
cannot take the service from everyone else. The worker pool (`kg_service.web.workers`) enforces them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import Location, TooLarge, UsageError
from .settings import Settings

TIMEOUT_PARAMS = ("timeout",)
ROW_PARAMS = ("limit", "max-rows", "maxrows")


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    max_rows: int
    strict: bool = False


def limits_for(settings: Settings, params: Mapping[str, str]) -> Limits:
    """The limits for one request: the settings, lowered by the client's parameters.

    >>> s = Settings(query_timeout_s=10.0, max_rows=100)
    >>> limits_for(s, {"timeout": "2.5", "limit": "500"})
    Limits(timeout_s=2.5, max_rows=100, strict=False)
    >>> limits_for(s, {"timeout": "0"})
    Traceback (most recent call last):
    kg_service.errors.UsageError: timeout: must be a positive number of seconds, got '0'
    """
    timeout = settings.query_timeout_s
    for name in TIMEOUT_PARAMS:
        if params.get(name):
            timeout = min(timeout, _positive(name, params[name], float, "a positive number of seconds"))
    rows = settings.max_rows
    for name in ROW_PARAMS:
        if params.get(name):
            rows = min(rows, int(_positive(name, params[name], int, "a positive whole number of rows")))
    strict = (params.get("strict") or "").lower() in ("1", "true", "yes")
    return Limits(timeout, rows, strict)


def _positive(name: str, raw: str, kind: type, what: str) -> float:
    try:
        value = kind(raw.strip())
    except ValueError:
        value = 0
    if not value > 0 or value != value:  # also refuses NaN
        raise UsageError(f"must be {what}, got {raw!r}", Location(field=name))
    return value


def check_length(text: str, settings: Settings, field: str = "query") -> None:
    """Refuse a query or update longer than `Settings.max_query_chars` (413), before any parsing.

    >>> check_length("ASK {}", Settings(max_query_chars=5), "update")
    Traceback (most recent call last):
    kg_service.errors.TooLarge: update: the update has 6 characters; the most this endpoint accepts is 5
    """
    if len(text) > settings.max_query_chars:
        raise TooLarge(f"the {field} has {len(text)} characters; the most this endpoint accepts is "
                       f"{settings.max_query_chars}", Location(field=field))
