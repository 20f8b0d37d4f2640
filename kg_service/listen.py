"""Whether `serve` can listen where it is asked to, checked before the graph is loaded.

Loading the seeds takes seconds to minutes; a port that is taken or out of range should be a one-line
usage error at once, not a traceback after the load (or, for ``--port 99999``, a server quietly
listening somewhere else). Any server (waitress today, another WSGI server tomorrow) can call
`check_listen` before binding. A port taken between this check and the bind is still the server's
own error: the check cannot reserve the port.
"""

from __future__ import annotations

import errno
import socket

from .errors import Location, UsageError

HIGHEST_PORT = 65535


def check_port(port: int) -> None:
    """Refuse a port no socket can have; 0 means any free port.

    >>> check_port(8000)
    >>> check_port(99999)
    Traceback (most recent call last):
    kg_service.errors.UsageError: --port: 99999 is not a port: choose one from 1 to 65535 (or 0 for any free port)
    """
    if not 0 <= port <= HIGHEST_PORT:
        raise UsageError(f"{port} is not a port: choose one from 1 to {HIGHEST_PORT} (or 0 for any free port)",
                         Location(field="--port"))


def check_listen(host: str, port: int) -> None:
    """Raise a UsageError unless a server could listen on `host`:`port` now (taken, unknown host, privileged)."""
    check_port(port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host!r}: {exc.strerror}", Location(field="--host")) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = f"port {port} on {host} is in use: stop the server there or choose another --port"
            elif exc.errno == errno.EACCES:
                message = f"port {port} needs privileges here: choose a port above 1023"
            else:
                message = f"cannot listen on {host}:{port}: {exc.strerror}"
            raise UsageError(message, Location(field="--port")) from None
