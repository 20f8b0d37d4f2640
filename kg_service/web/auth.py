"""The one check of the write token, for adding articles and for SPARQL updates.

The token is compared in constant time (`hmac.compare_digest`) and never logged nor echoed; a 401
carries ``WWW-Authenticate`` (set by the app's error handler for every `Unauthorized`).
"""

from __future__ import annotations

import hmac

from flask import request

from ..errors import Unauthorized, WriteDisabled


def require_token(token: str, action: str, *, open_without_token: bool = False) -> None:
    """Raise unless the request carries ``Authorization: Bearer <token>``.

    Without a configured token, `action` is refused (403), unless `open_without_token`: a dataset
    served with updates explicitly allowed and no token is a sandbox anyone on it may change.
    """
    if not token:
        if open_without_token:
            return
        raise WriteDisabled(f"{action} is disabled on this service: it has no write token (KG_WRITE_TOKEN)")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized(f"{action} needs the header Authorization: Bearer <token>")
