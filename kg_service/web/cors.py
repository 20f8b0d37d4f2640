"""Cross-origin access (CORS): browser tools on other origins (YASGUI, notebooks, a page of one's own)
may read everything and send the write token.

Every response allows any origin with ``*`` and never ``Access-Control-Allow-Credentials``: no
cookie or HTTP authentication is ever sent along, which is what ``*`` requires. The write token
travels in an explicit ``Authorization`` header instead, which a preflight must list by name (the
``*`` wildcard of ``Access-Control-Allow-Headers`` does not cover it), so it is listed here with the
other headers SPARQL and Graph Store clients send. A preflight (OPTIONS with
``Access-Control-Request-Method``) learns the methods and headers and may cache them for a day.
"""

from __future__ import annotations

from flask import Request, Response

ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
ALLOW_HEADERS = ("Accept, Authorization, Content-Type, If-None-Match, If-Modified-Since, Cache-Control, "
                 "X-Requested-With")
EXPOSE_HEADERS = "X-KG-Truncated, X-KG-Rows, Warning, ETag, Last-Modified, Location, Content-Disposition"
MAX_AGE_S = 86400
CORS_HEADERS = (("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSE_HEADERS))  # on every one


def add_cors(request: Request, response: Response) -> None:
    """Set the CORS headers of `response` in place (preflight headers on a preflight only)."""
    response.headers.update(CORS_HEADERS)
    response.headers.pop("Access-Control-Allow-Credentials", None)  # never with "*": no view may set it
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = str(MAX_AGE_S)
