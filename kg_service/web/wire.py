"""What waitress would let through before the app sees a request: bodies it has already refused.

Two gaps of waitress 3.0 are closed here by its request parser (``BoundedChannel.parser_class``), so they
hold for every request the server reads:

- a request whose declared body is already too large (``Content-Length`` over
  `Settings.max_upload_bytes`) is answered 413 at once, even with ``Expect: 100-continue``; waitress
  sends ``100 Continue`` first and then waits for the whole body it has already decided to refuse;
- a chunk size larger than the body limit (``ffffffffffffffffffff``) is a 400 that closes the
  connection at once, instead of holding it open waiting for that many bytes.

The channel keeps `server_errors`' JSON error pages with the security headers. This is the one-process
server's (a writable graph, or one in a folder); the fronts run granian, which refuses the same requests
itself (`native`). The HTTP-level tests (``tests/test_hostile.py``) run against a real ``kg-service
serve`` of both kinds.
"""

from __future__ import annotations

from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.utilities import BadRequest

from .server_errors import JsonErrorChannel


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


class BoundedChannel(JsonErrorChannel):
    parser_class = BoundedParser
