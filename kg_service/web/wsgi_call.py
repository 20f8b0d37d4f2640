"""Running a WSGI app for a request that came through an RSGI server (a front's granian, `native`).

`environ_of` builds the PEP 3333 environ from the RSGI scope; `call_app` runs the app (on a pool thread)
and hands back its status, headers and body: a list when the app gave one (sent whole), else its iterable
with the first piece already taken (a generator has called start_response only by then).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def call_app(app: WSGIApplication, environ: dict) -> tuple[int, list[tuple[str, str]], Iterable[bytes]]:
    """Run the WSGI app: its status, headers and body (a list when it gave one, else its iterable)."""
    started: list = []
    written: list[bytes] = []  # PEP 3333's legacy write(): what it is given goes before the body

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        started[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    if not isinstance(result, list):
        first = next(iter_result := iter(result), None)  # runs a generator to its start_response
        if first is None:
            getattr(result, "close", lambda: None)()
            result = []
        else:
            result = _prepend(first, iter_result, result)
    status, headers = started
    if written:
        result = [*written, *result] if isinstance(result, list) else _prepend(b"".join(written), iter(result), result)
    return int(status.split(" ", 1)[0]), headers, result


class _prepend:  # noqa: N801 - an iterator, named as one
    """An app's body iterator with its first piece put back; closes the app's iterable when closed."""

    def __init__(self, first: bytes, rest: Iterator[bytes], whole: Iterable[bytes]):
        self.first: bytes | None = first
        self.rest, self.whole = rest, whole

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return next(self.rest)

    def close(self) -> None:
        getattr(self.whole, "close", lambda: None)()


def environ_of(scope: Any) -> dict[str, Any]:
    """The WSGI environ of an RSGI request (PEP 3333: the path as latin-1 of its UTF-8 bytes)."""
    host, _, port = scope.server.rpartition(":")
    client = scope.client.rpartition(":")[0].strip("[]")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": host.strip("[]"),
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
