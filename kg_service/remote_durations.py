"""Durations in a remote's answers written back as the embedded store writes them.

Virtuoso 7.2 keeps no lexical form of an xsd:duration and sends its number of seconds instead
("2100.0" for PT35M). `send_query` (remote.py) wraps the SPARQL JSON answers of such an engine in
`RestoredResponse`, which rewrites each duration as it streams past, so a query gives the same
answer from the remote as from the embedded store.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal, InvalidOperation
from http.client import HTTPMessage, HTTPResponse

# A duration as Virtuoso 7.2 writes it in SPARQL JSON: its number of seconds, as a double ("2100.0" for PT35M).
VIRTUOSO_DURATION = re.compile(rb'("datatype": "http://www\.w3\.org/2001/XMLSchema#duration", "value": ")'
                               rb'(-?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?)(")')


def duration_text(seconds: str) -> str | None:
    """The canonical xsd:duration (as Oxigraph writes it) for a number of seconds; None if it is no number.

    >>> duration_text("2100.0"), duration_text("90061.0"), duration_text("-1.5"), duration_text("0.0")
    ('PT35M', 'P1DT1H1M1S', '-PT1.5S', 'PT0S')
    """
    try:
        value = Decimal(seconds)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    sign, value = ("-" if value < 0 else ""), abs(value)
    days, rest = divmod(value, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    time = "".join(f"{int(n)}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    if rest:
        text = format(rest.normalize(), "f")
        time += f"{text}S"
    text = ("P" + (f"{int(days)}D" if days else "") + (f"T{time}" if time else "")) if days or time else "PT0S"
    return sign + text if text != "PT0S" else text


def _restore_durations(data: bytes) -> bytes:
    def restored(match: re.Match[bytes]) -> bytes:
        text = duration_text(match.group(2).decode("ascii"))
        return match.group(1) + text.encode("ascii") + match.group(3) if text else match.group(0)
    return VIRTUOSO_DURATION.sub(restored, data)


class _DurationsRestored(io.RawIOBase):
    """A SPARQL JSON answer from an engine that sends durations as seconds, with each written back as
    the ISO 8601 duration the embedded store answers (Virtuoso 7.2 keeps no lexical form of an
    xsd:duration: openlink/virtuoso-opensource issues 224 and 936). Rewritten line by line as it is
    read (Virtuoso writes one binding a line), so the answer still streams."""

    def __init__(self, response: HTTPResponse):
        super().__init__()
        self.response = response
        self._pending = b""
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._out:
            chunk = self.response.read(65536)
            if not chunk:
                self._out, self._pending = _restore_durations(self._pending), b""
                if not self._out:
                    return 0
                break
            data = self._pending + chunk
            cut = data.rfind(b"\n") + 1
            self._out, self._pending = _restore_durations(data[:cut]), data[cut:]
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def close(self) -> None:
        self.response.close()
        super().close()


class RestoredResponse(io.BufferedReader):
    """A remote's answer rewritten as it is read, with the response's headers."""

    def __init__(self, response: HTTPResponse):
        super().__init__(_DurationsRestored(response))
        self.headers: HTTPMessage = response.headers
