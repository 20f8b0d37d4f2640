"""The one hierarchy of errors of kg-service.

Every error the user can cause carries its message, where it happened (file, line, field), the HTTP
status the web layer answers with and the exit code the CLI ends with. Views and commands raise
these; one handler in each face renders them. Anything that is not a `KgError` is our fault: the
web layer answers 500 with a generic message and logs the traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where in the user's input an error is: file, 1-based line and column, mapping field."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        """Render as ``file:line:column: field`` with the parts that are known.

        >>> str(Location("seeds/a.yaml", 12, None, "events[0].date"))
        'seeds/a.yaml:12: events[0].date'
        >>> str(Location(field="query"))
        'query'
        """
        place = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        return ": ".join(p for p in (place, self.field) if p)

    def as_dict(self) -> dict[str, str | int]:
        return {k: v for k, v in vars(self).items() if v is not None}


class KgError(Exception):
    """Base of the errors a user can cause; the message is safe to show them."""

    http_status = 400
    exit_code = 2
    kind = "error"

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location or Location()

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.kind, "message": self.message, "status": self.http_status}
        if self.location.as_dict():
            body["location"] = self.location.as_dict()
        return body


class UsageError(KgError):
    """The command line or request is malformed (bad option, missing parameter)."""

    kind = "bad-request"


class InputError(KgError):
    """An input file or body cannot be read or parsed (encoding, YAML, Turtle syntax)."""

    kind = "unreadable-input"


class MappingError(InputError):
    """A mapping file is readable but does not follow the mapping schema."""

    kind = "mapping-error"


class MappingErrors(MappingError):
    """Several schema errors in one mapping, reported together so the author fixes them in one pass."""

    def __init__(self, errors: list[MappingError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors), errors[0].location if errors else None)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        body = super().as_dict()
        body["errors"] = [e.as_dict() for e in self.errors]
        return body


class NotFound(KgError):
    """The named resource (graph, query, article, entity) does not exist."""

    http_status = 404
    kind = "not-found"


class QueryError(KgError):
    """A SPARQL query is malformed or asks for something the endpoint refuses."""

    kind = "bad-query"


class ValidationFailed(KgError):
    """Validation found violations: the input is readable but not fit to join the graph."""

    http_status = 422
    exit_code = 1
    kind = "validation-failed"


class ReadOnly(KgError):
    """The request asks to change the graph; this endpoint only reads."""

    http_status = 403
    kind = "read-only"


class NotAcceptable(KgError):
    """No format the client accepts can carry this response."""

    http_status = 406
    kind = "not-acceptable"


class QueryTimeout(KgError):
    """The query ran out of time and was stopped.

    503, as Apache Jena Fuseki answers: the service could not answer this request with the resources
    it grants one query. Not 504 (no upstream gateway here) nor 408 (the client was not slow).
    """

    http_status = 503
    kind = "query-timeout"


class TooManyRows(KgError):
    """The result has more rows than allowed and the client asked for all or nothing (``strict=true``)."""

    http_status = 413
    kind = "too-many-rows"


class QueryMemory(KgError):
    """The query needed more memory than one query may use (`Settings.query_memory_mb`); its worker was stopped."""

    http_status = 503
    kind = "query-memory"


class WorkerLost(KgError):
    """The process running a query or update ended under it: the engine crashed or ran out of the memory a
    query may use. Only that process is lost; the service goes on answering."""

    http_status = 503
    kind = "worker-lost"


class ResultTooLarge(KgError):
    """The serialised result is larger than `Settings.max_result_bytes` (the row cap bounds rows, not bytes)."""

    http_status = 413
    kind = "result-too-large"


class ClientGone(KgError):
    """The client closed the connection; its query was stopped (nginx's 499)."""

    http_status = 499
    kind = "client-gone"


class BodyTimeout(KgError):
    """The request body did not arrive in time (a client trickling it holds a request of the front)."""

    http_status = 408
    kind = "request-timeout"


class TooLarge(KgError):
    """The upload is larger than the service accepts (`Settings.max_upload_bytes`)."""

    http_status = 413
    kind = "too-large"


class UnsupportedType(KgError):
    """The body's Content-Type (or a file's suffix) names no format this operation reads."""

    http_status = 415
    kind = "unsupported-media-type"


class Unauthorized(KgError):
    """A write without the right token; the message never repeats what was sent."""

    http_status = 401
    kind = "unauthorized"


class WriteDisabled(KgError):
    """No write token is configured: this service is read-only (set KG_WRITE_TOKEN to allow adds)."""

    http_status = 403
    kind = "write-disabled"


class Conflict(KgError):
    """The article already exists in the seeds; an add never overwrites."""

    http_status = 409
    exit_code = 1
    kind = "conflict"


class DamagedSeeds(KgError):
    """The seeds folder holds an add's journal that cannot be trusted (unreadable, or naming files outside
    the folder): nothing is deleted, and no add runs until someone looks at it."""

    http_status = 503
    kind = "damaged-seeds"


class Busy(KgError):
    """Every slot for this kind of work is taken; the client may retry after `retry_after` seconds."""

    http_status = 503
    kind = "busy"

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class ArticleRefused(ValidationFailed):
    """An add refused because validation found violations; carries the report for the client."""

    def __init__(self, message: str, report: Any):  # a report.Report (errors.py imports nothing of ours)
        super().__init__(message)
        self.report = report

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "report": self.report.as_dict()}


class RemoteUnavailable(KgError):
    """The remote store cannot be reached, or failed in a way that is not the query's fault."""

    http_status = 502
    kind = "bad-gateway"


class RemoteTimeout(QueryTimeout):
    """The remote store did not answer within the query's time limit."""

    http_status = 504
    kind = "gateway-timeout"


class CarriedError(KgError):
    """A user error raised in a query worker process, carried back with its status and kind."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.http_status, self.kind = status, kind
