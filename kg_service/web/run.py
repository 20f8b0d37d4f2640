"""The one query orchestration: parameters -> guard -> format -> dataset -> run -> serialise -> headers.

Every face that runs a query calls it: the protocol endpoint (`sparql`), the named queries (`named`),
the query page (`query_page`) and the CLI's ``kg-service query`` (with an in-process runner instead of
the worker pool), so the same request gives the same bytes and the same errors everywhere. `plan`
decides everything from the request alone (no Flask request needed); `answer` is the web's runner
and response. The calls into the worker pool are here and nowhere else in the web layer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Response, g, request

from ..errors import KgError, Location, NotAcceptable, QueryTimeout, TooManyRows, UsageError
from ..formats import DATASET, GRAPH, RESULTS, Format
from ..guard import QueryShape, query_shape
from ..limits import Limits, check_length, limits_for
from ..negotiation import choose_format
from ..settings import Settings
from .state import Service, service
from .workers import Answer, Job

FORMAT_PARAMS = ("format", "output", "results")
_POSITION = re.compile(r"\berror at (\d+):(\d+)")
Runner = Callable[[Job, float], Answer]  # runs a job within a time limit (the pool, or in-process)


@dataclass(frozen=True)
class QueryRequest:
    """A query and its protocol options, however they came (GET, form POST, direct POST, a named query,
    the query page or the command line)."""

    text: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    bindings: tuple[tuple[str, ox.NamedNode | ox.Literal], ...] = ()
    params: Mapping[str, Sequence[str]] = field(default_factory=dict)  # format=, timeout=, limit=, strict=
    accept: str | None = None
    base_iri: str | None = None
    cacheable: bool = False  # a GET: the answer may carry an ETag


@dataclass(frozen=True)
class Plan:
    """What will run and how it is answered, decided before anything runs."""

    job: Job
    fmt: Format
    limits: Limits
    shape: QueryShape
    etag: str | None


@dataclass(frozen=True)
class Result:
    """The serialised answer and the headers every face gives it."""

    body: bytes
    headers: dict[str, str]
    answer: Answer


def format_overrides(params: Mapping[str, Sequence[str]]) -> list[str]:
    """Every ``format=``/``output=``/``results=`` value, in order (SPARQLWrapper sends several)."""
    return [v for name in FORMAT_PARAMS for v in params.get(name, ())]


def plan(query: QueryRequest, settings: Settings, version: str) -> Plan:
    """Check `query` (length, dataset IRIs, guard), negotiate its format and set its limits; raises the
    located error of the first check that fails, before anything runs."""
    check_length(query.text, settings)
    check_iris("default-graph-uri", query.default_graphs)
    check_iris("named-graph-uri", query.named_graphs)
    shape = query_shape(query.text)
    kinds = [GRAPH, DATASET] if shape.is_graph else [RESULTS]
    try:
        fmt = choose_format(query.accept, kinds, format_overrides(query.params))
    except NotAcceptable:
        if shape.form is not None:
            raise
        fmt = choose_format(None, kinds)  # not a query at all: let the parser's 400 speak
    limits = limits_for(settings, {k: v[0] for k, v in query.params.items() if v})
    job = Job(query.text, fmt.name, limits.max_rows, query.default_graphs, query.named_graphs, query.bindings,
              base_iri=query.base_iri, volatile=shape.volatile)
    etag = None
    if query.cacheable and not shape.volatile:  # NOW, RAND, UUID, STRUUID: two runs may differ
        etag = hashlib.sha256(repr((version, job, limits.strict)).encode()).hexdigest()[:32]
    return Plan(job, fmt, limits, shape, etag)


def execute(plan: Plan, runner: Runner) -> Result:
    """Run a planned query and give its bytes with the headers that describe them."""
    try:
        answer = runner(plan.job, plan.limits.timeout_s)
    except KgError as exc:
        raise located(exc) from None
    return finish(plan, answer)


def located(exc: KgError) -> KgError:
    """A parse error's position is in the engine's message: carried as the error's location."""
    exc.location = syntax_location(exc.message, exc.location)
    return exc


def finish(plan: Plan, answer: Answer) -> Result:
    """The answer of a planned query with the headers that describe it (or 413 past a strict row cap)."""
    if answer.truncated and plan.limits.strict:
        raise TooManyRows(f"the result has more than {plan.limits.max_rows} rows; ask for fewer (LIMIT) or drop "
                          "strict")
    headers = {"Content-Type": _content_type(plan.fmt.media_type), "Vary": "Accept", "X-KG-Rows": str(answer.rows)}
    if answer.truncated:
        headers["X-KG-Truncated"] = "true"
        headers["Warning"] = f'199 kg-service "result truncated to the first {plan.limits.max_rows} rows"'
    if plan.etag is not None:
        headers["ETag"] = f'"{plan.etag}"'
        headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return Result(answer.body, headers, answer)


def web_request(text: str, params: Mapping[str, Sequence[str]], *, default_graphs: Sequence[str] = (),
                named_graphs: Sequence[str] = (),
                bindings: tuple[tuple[str, ox.NamedNode | ox.Literal], ...] = ()) -> QueryRequest:
    """A `QueryRequest` from the current HTTP request's headers and the given parameters."""
    return QueryRequest(text, tuple(default_graphs), tuple(named_graphs), bindings, params,
                        request.headers.get("Accept"), base_iri=request.url_root + "sparql",
                        cacheable=request.method in ("GET", "HEAD"))


def run_on_pool(query: QueryRequest) -> tuple[Plan, Result | None]:
    """Plan `query` and run it on the worker pool; no result when the client's ETag still matches."""
    svc = service()
    g.query_text = query.text
    version = svc.kg.version  # read once: an add or update meanwhile must not mix two versions
    planned = plan(query, svc.settings, version)
    if planned.etag is not None and request.if_none_match.contains(planned.etag):
        return planned, None  # same query, same data: nothing is run
    return planned, run_planned(svc, version, planned, client_gone(request.environ))


GONE_KEY = "kg_service.client_gone"  # in a request's environ: a callable, has its client hung up?


def client_gone(environ: Mapping[str, object]) -> Callable[[], bool]:
    """Whether the client of a request has hung up, as its server tells (a front's, `native`, under
    GONE_KEY; waitress under its own key); never, for a server that cannot tell."""
    gone = environ.get(GONE_KEY) or environ.get("waitress.client_disconnected")
    return gone if callable(gone) else _never


def _never() -> bool:
    return False


def run_planned(svc: Service, version: str, planned: Plan, gone: Callable[[], bool]) -> Result:
    """Run a planned query on `svc`'s pool and count it in its metrics; no Flask request needed (the lean
    path of `lean` calls it too)."""

    def runner(job: Job, timeout_s: float) -> Answer:
        return svc.pool.run(version, job, timeout_s=timeout_s, gone=gone)

    try:
        result = execute(planned, runner)
    except QueryTimeout:
        svc.metrics.add("timeouts")
        raise
    return counted(svc, result)


async def arun_planned(svc: Service, version: str, planned: Plan, gone: Callable[[], bool]) -> Result:
    """`run_planned` on a front's event loop (`native`): the same pool, checks, headers and metrics."""
    try:
        answer = await svc.pool.arun(version, planned.job, timeout_s=planned.limits.timeout_s, gone=gone)
    except QueryTimeout:
        svc.metrics.add("timeouts")
        raise
    except KgError as exc:
        raise located(exc) from None
    return counted(svc, finish(planned, answer))


def counted(svc: Service, result: Result) -> Result:
    svc.metrics.observe_query(result.answer.seconds)
    if result.answer.truncated:
        svc.metrics.add("truncated")
    return result


def answer(query: QueryRequest) -> Response:
    """The HTTP response to `query`: its result, or 304 when the client's copy is current."""
    planned, result = run_on_pool(query)
    if result is None:
        response = Response(status=304)
        response.set_etag(planned.etag or "")
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
        return response
    return Response(result.body, headers=result.headers)


def syntax_location(message: str, known: Location) -> Location:
    """The line and column the engine names in a syntax error's message (``error at 2:9: ...``), added to
    what is known, so they survive the hop from the worker process.

    >>> syntax_location("SPARQL syntax error: error at 2:9: expected ...", Location(field="query"))
    Location(file=None, line=2, column=9, field='query')
    """
    match = _POSITION.search(message)
    if known.line is not None or match is None:
        return known
    return Location(known.file, int(match[1]), int(match[2]), known.field or "query")


def check_iris(field: str, iris: Sequence[str]) -> None:
    """Refuse a malformed dataset IRI here: in the worker it would be our crash, not the client's 400.
    The IRIs only name graphs of the store; nothing is ever fetched from them."""
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as exc:
            raise UsageError(f"not an absolute IRI: {iri!r} ({exc})", Location(field=field)) from None


def _content_type(media_type: str) -> str:
    return media_type + "; charset=utf-8" if media_type.startswith("text/") else media_type
