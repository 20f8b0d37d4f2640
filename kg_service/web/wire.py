"""What happens on the wire before the app sees a request: waitress's parser and its own error pages.

Three gaps of waitress 3.0 are closed here by subclassing its channel (``server.channel_class``), so
they hold for every request the server reads:

- a request whose declared body is already too large (``Content-Length`` over
  `Settings.max_upload_bytes`) is answered 413 at once, even with ``Expect: 100-continue``; waitress
  sends ``100 Continue`` first and then waits for the whole body it has already decided to refuse;
- a chunk size larger than the body limit (``ffffffffffffffffffff``) is a 400 that closes the
  connection at once, instead of holding it open waiting for that many bytes;
- the error pages waitress writes itself (400, 413, 431, 500 ...) carry the same security headers as
  the app's responses and the app's JSON error body (``{"error", "message", "status"}``).

The HTTP-level tests (``tests/test_hostile.py``) run against a real ``kg-service serve``, so they keep
checking whichever WSGI server is used.
"""

from __future__ import annotations

import json

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.task import ErrorTask
from waitress.utilities import BadRequest

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("Access-Control-Allow-Origin", "*"),
)


class BoundedParser(HTTPRequestParser):
    """A request parser that refuses at once what it would refuse after reading the body."""

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        body = self.body_rcv
        if (getattr(self, "error", None) is None and isinstance(body, ChunkedReceiver)
                and body.chunk_remainder > self.adj.max_request_body_size):
            self.error = BadRequest(f"chunk size over the {self.adj.max_request_body_size}-byte body limit")
            self.completed = True
        if getattr(self, "error", None) is not None:
            self.expect_continue = False  # never invite a body that is refused already
        return consumed


class JsonErrorTask(ErrorTask):
    """waitress's own error response, as the app's JSON error body with the app's security headers."""

    def execute(self) -> None:
        error = self.request.error
        kind = {413: "too-large", 431: "headers-too-large"}.get(error.code, error.reason.lower().replace(" ", "-"))
        body = json.dumps({"error": kind, "message": error.body, "status": error.code}).encode() + b"\n"
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class BoundedChannel(HTTPChannel):
    parser_class = BoundedParser
    error_task_class = JsonErrorTask
