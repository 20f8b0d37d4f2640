"""The errors waitress answers itself, before the app sees the request, in the service's JSON error body.

waitress refuses a body over ``max_request_body_size`` (413), a malformed request (400) or oversized
headers (431) on its own, as plain text. Every refusal of the service is the documented JSON body
(``{"error", "message", "status"}``, errors.py) with the same security headers as the app's, so the
server's channel makes its error responses with `JsonErrorTask` instead.
"""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

# waitress's error -> the kind the service's JSON bodies use for it (errors.py)
_KINDS = {413: "too-large", 431: "too-large", 400: "bad-request", 501: "not-implemented"}
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff"),
                    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")]


class JsonErrorTask(ErrorTask):
    """waitress's error response, as the JSON error body with the security headers."""

    def execute(self) -> None:
        error = self.request.error
        message = f"{error.reason}: {error.body}".rstrip(": ") if error.body else error.reason
        body = json.dumps({"error": _KINDS.get(error.code, "error"), "message": message,
                           "status": error.code}).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def use_json_errors(server: Any) -> None:
    """Make `server` (a waitress server from `create_server`) answer its own errors in JSON."""
    server.channel_class = JsonErrorChannel
