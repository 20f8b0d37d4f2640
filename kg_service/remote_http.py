"""HTTP to a remote store: every request with its credentials, every failure as one of our errors.

The remote store (remote.py) and the push (push.py) send their requests through `call`, which
answers the server's Basic or Digest challenge with the credentials of the store's URL and turns
the outcome into the remote's fault or the user's: a query the server refuses is a 400 with its
message, a server that cannot be reached or fails is a 502, one that does not answer in time a 504,
one that stops the query at its own time limit a 503; never a traceback. Writes (`send_write`,
`put_graph`) carry their Authorization header from the start, so a large body is sent only once.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import lru_cache
from http.client import HTTPResponse
from typing import TYPE_CHECKING

from .errors import Location, QueryError, QueryTimeout, RemoteTimeout, RemoteUnavailable

if TYPE_CHECKING:  # remote.py sends its queries through this module
    from .remote import RemoteStore


def call(remote: RemoteStore, request: urllib.request.Request, timeout_s: float, *,
          query: bool = False) -> HTTPResponse:
    try:
        return _opener(remote.user, remote.password, remote.query_url).open(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        message = exc.read(2000).decode("utf-8", "replace").strip()
        exc.close()
        if query and "estimated execution time" in message:  # Virtuoso's MaxQueryCostEstimationTime
            raise QueryTimeout(f"the remote store refused a query it estimates too long: {message[:300]}") from None
        if query and message.startswith("Virtuoso S1T00"):  # its MaxQueryExecutionTime, when nothing is partial
            raise QueryTimeout("the remote store stopped the query at its own time limit") from None
        if exc.code == 500 and ("40001" in message or "SR172" in message):  # Virtuoso: a transaction deadlocked
            raise Deadlocked(f"the remote store ran into a deadlock: {message[:300]}") from None
        if query and 400 <= exc.code < 500 and exc.code not in (401, 403, 407):
            raise QueryError(f"the remote store refused the query: {message}", Location(field="query")) from None
        raise RemoteUnavailable(f"the remote store answered {exc.code} to {request.get_method()} "
                                f"{request.full_url}: {message[:300]}") from None
    except TimeoutError:
        raise RemoteTimeout(f"the remote store did not answer within {timeout_s:g} s") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise RemoteTimeout(f"the remote store did not answer within {timeout_s:g} s") from None
        raise RemoteUnavailable(f"cannot reach the remote store at {request.full_url}: {reason}") from None


@lru_cache(maxsize=16)
def _opener(user: str | None, password: str | None, url: str) -> urllib.request.OpenerDirector:
    """An opener answering the server's Basic or Digest challenge with the URL's credentials."""
    if user is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    parts = urllib.parse.urlsplit(url)
    passwords.add_password(None, f"{parts.scheme}://{parts.netloc}/", user, password or "")
    return urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords),
                                       urllib.request.HTTPDigestAuthHandler(passwords))


# (store URL, user) -> the digest handler (it counts the uses of a nonce) and the server's last challenge
_CHALLENGES: dict[tuple[str, str], tuple[urllib.request.HTTPDigestAuthHandler | None, dict[str, str]]] = {}


class Deadlocked(RemoteUnavailable):
    """The server gave up a write in a deadlock with another of its transactions (SQL state 40001): the
    write did nothing and may simply be sent again."""


DEADLOCK_RETRIES = (0.2, 0.5, 1.0)  # seconds to wait before each new try


def send_write(remote: RemoteStore, request: urllib.request.Request, timeout_s: float) -> None:
    """Send a PUT, DELETE or setup query with its credentials; a write lost in a deadlock is sent again (up to
    three times), a refused challenge is fetched anew once."""
    for pause in DEADLOCK_RETRIES:
        try:
            return _send_write(remote, request, timeout_s)
        except Deadlocked:
            time.sleep(pause)
    _send_write(remote, request, timeout_s)


def _send_write(remote: RemoteStore, request: urllib.request.Request, timeout_s: float) -> None:
    try:
        call(remote, _authorized(remote, request, timeout_s), timeout_s).close()
    except Deadlocked:
        raise
    except RemoteUnavailable:
        if remote.user is None or (remote.store_url, remote.user) not in _CHALLENGES:
            raise
        _CHALLENGES.pop((remote.store_url, remote.user), None)  # a stale nonce: ask for a new one
        call(remote, _authorized(remote, request, timeout_s), timeout_s).close()


def _authorized(remote: RemoteStore, request: urllib.request.Request, timeout_s: float) -> urllib.request.Request:
    """`request` with its Authorization header computed before it is sent.

    Answering the challenge after sending, as urllib does, sends a large body twice, and Virtuoso
    closes the connection on its 401 before reading the body, so the client gets a broken pipe, not
    the challenge. The challenge is fetched by a HEAD of the same URL instead, which carries no body,
    and reused (the nonce counted up) until the server refuses it.
    """
    if remote.user is None:
        return request
    key = (remote.store_url, remote.user)
    if key not in _CHALLENGES:
        try:
            urllib.request.urlopen(urllib.request.Request(request.full_url, method="HEAD"),  # noqa: S310 - ours
                                   timeout=timeout_s).close()
            return request  # no credentials asked for
        except urllib.error.HTTPError as exc:
            challenge = exc.headers.get("WWW-Authenticate", "")
            exc.close()
        except (urllib.error.URLError, OSError):
            return request  # the write itself reports why the server cannot be reached
        scheme, _, params = challenge.partition(" ")
        handler = None
        if scheme.lower() == "digest":
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            passwords.add_password(None, remote.store_url, remote.user, remote.password or "")
            handler = urllib.request.HTTPDigestAuthHandler(passwords)
        elif scheme.lower() != "basic":
            return request
        _CHALLENGES[key] = (handler, urllib.request.parse_keqv_list(urllib.request.parse_http_list(params)))
    handler, fields = _CHALLENGES[key]
    if handler is None:
        token = base64.b64encode(f"{remote.user}:{remote.password or ''}".encode()).decode("ascii")
        request.add_unredirected_header("Authorization", "Basic " + token)
    else:
        value = handler.get_authorization(request, fields)
        if value:
            request.add_unredirected_header("Authorization", "Digest " + value)
    return request


def put_graph(remote: RemoteStore, url: str, body: bytes, media_type: str, timeout_s: float, *,
         required: bool = False) -> bool:
    """PUT `body`; False when the server does not take this kind of PUT (and it is not `required`)."""
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": media_type})
    try:
        send_write(remote, request, timeout_s)
    except RemoteUnavailable:
        if required:
            raise
        return False
    return True
