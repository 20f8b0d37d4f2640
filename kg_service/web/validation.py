"""Validate a new article over HTTP (``GET, POST /validate``) and add one (``POST /articles``).

``POST /validate`` takes a mapping and its text (multipart or form fields ``mapping`` and ``text``,
or a ``rdf`` file) or a raw RDF body with its Content-Type, and answers 200 with the report, its
``conforms`` true or false, as JSON, Turtle (``sh:ValidationReport``) or HTML by negotiation (or
``format=``). Validation runs against the seeds as built and never touches the served graph.
``POST /articles`` needs ``Authorization: Bearer <KG_WRITE_TOKEN>``; it validates, writes the
article into the seeds (seeds.py) and serves the rebuilt graph at once.

Adds are serialised by the add lock (they must not interleave). Validations never take it: at most
``KG_MAX_VALIDATIONS`` run at once, beside any add, and one more is refused at once with 503 and
``Retry-After``, so anonymous validations can neither queue without bound nor make an add wait.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from flask.blueprints import BlueprintSetupState

from ..build import build_dataset, mapping_paths
from ..errors import Busy, InputError, KgError, Location, NotAcceptable, TooLarge, UsageError, WriteDisabled
from ..intake import decode, parse_rdf, rdf_format
from ..negotiation import parse_accept, quality
from ..report import Report
from ..seeds import add_article
from ..store import KnowledgeGraph
from ..validate import MAX_RDF_SUBJECTS, Context, load_context, validate_mapping, validate_rdf
from ..vocab import article_graph
from .auth import require_token
from .slots import Slots
from .state import service

bp = Blueprint("validation", __name__)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
REPORT_TYPES = {"json": "application/json", "turtle": "text/turtle", "html": "text/html"}
_NAMES = {"json": "json", "turtle": "turtle", "ttl": "turtle", "text/turtle": "turtle", "html": "html",
          "application/json": "json", "text/html": "html"}


@dataclass
class Validation:
    """Per app: the validation context (built on first use, under `building`), the lock that serialises
    adds, and the slots of anonymous validations."""

    slots: Slots  # counted across processes: the front processes of a service share them
    context: Context | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    building: threading.Lock = field(default_factory=threading.Lock)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    slots = state.app.extensions["kg_service"].settings.max_validations
    state.app.extensions["kg_validation"] = Validation(Slots(max(1, slots)))


def _validation(app: Flask | None = None) -> Validation:
    return (app or current_app).extensions["kg_validation"]


def _seed_files(seeds_dir: Path) -> set[str]:
    return {p.name for p in mapping_paths(seeds_dir)}


def _context() -> Context:
    """The context, built from the seeds the first time it is needed; an add replaces it whole."""
    validation = _validation()
    with validation.building:
        if validation.context is None:
            validation.context = load_context(service().settings)
        return validation.context


RETRY_AFTER_S = 2


@contextmanager
def _slot() -> Iterator[None]:
    """One of the validation slots, or Busy (503, Retry-After) at once when all are taken."""
    slots = _validation().slots
    token = slots.take()
    if token is None:
        raise Busy(f"all {service().settings.max_validations} validation slots are busy; try again in a moment",
                   RETRY_AFTER_S)
    try:
        yield
    finally:
        slots.give_back(token)


@bp.route("/validate", methods=["GET"])
def form() -> str:
    return render_template("validate.html", report=None, name=None, error=None)


@bp.route("/validate", methods=["POST"])
def validate() -> Response | str:
    _limit_body()
    fmt = _report_format()
    try:
        with _slot():
            report, name, source = _validate_request(_context())
    except KgError as exc:
        if fmt != "html":
            raise
        # A browser user gets the form back with the problem above it, under the same status.
        page = Response(render_template("validate.html", report=None, name=None, error=str(exc)), exc.http_status,
                        content_type="text/html; charset=utf-8")
        if isinstance(exc, Busy):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    return _render(report, fmt, name, source)


def _validate_request(context: Context) -> tuple[Report, str, str | None]:
    """The report, the name it gives the input, and the mapping's text (None for RDF) to show its lines."""
    rdf_upload = request.files.get("rdf")
    if request.mimetype in FORM_TYPES and not (rdf_upload is not None and rdf_upload.filename):
        mapping, text = _mapping_parts()
        source = decode(mapping[1], mapping[0])
        report, _ = validate_mapping(context, source, Path(mapping[0]), decode(text[1], text[0]))
        return report, mapping[0], source
    name, data, media_type = _rdf_part()
    dataset = parse_rdf(data, rdf_format(media_type or name), name)
    return validate_rdf(context, dataset, name, max_subjects=MAX_RDF_SUBJECTS), name, None


@bp.route("/articles", methods=["POST"])
def add() -> tuple[Response, int]:
    svc = service()
    require_token(svc.settings.write_token, "adding an article")
    if not svc.kg.backend.allows.adds:
        raise WriteDisabled(f"adding articles needs the seeds served from memory (the default of kg-service serve); "
                            f"this service serves {svc.kg.backend.serves}: use kg-service add and restart")
    _limit_body()
    if request.mimetype not in FORM_TYPES:
        raise UsageError("send the article as multipart/form-data with fields mapping and text",
                         Location(field="mapping"))
    mapping, text = _mapping_parts()
    validation = _validation()
    with validation.lock:
        context = _context()
        if _seed_files(svc.settings.seeds_dir) != {m.path.name for m in context.build.mappings}:
            # `kg-service add` ran beside this server: validate against the seeds as they are now.
            context = validation.context = load_context(svc.settings)
        report, added = add_article(context, svc.settings.seeds_dir, mapping[1], mapping[0], text[1], text[0])
        build = build_dataset(svc.settings)
        svc.replace_graph(KnowledgeGraph.from_dataset(build.dataset, union_default_graph=svc.kg.union_default_graph,
                                                      backend=svc.kg.backend))
        validation.context = load_context(svc.settings, build)
    body = {"added": added.article_id, "graph": str(article_graph(added.article_id)),
            "files": [added.text_path.name, added.mapping_path.name], "version": svc.kg.version,
            "report": report.as_dict()}
    response = jsonify(body)
    response.headers["Location"] = f"/articles/{added.article_id}"
    return response, 201


def _limit_body() -> None:
    """Refuse a body over the limit before reading it; werkzeug enforces it on chunked bodies too."""
    limit = service().settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the upload has {request.content_length} bytes; the limit is {limit}")
    request.max_content_length = limit


def _part(name: str) -> tuple[str, bytes] | None:
    """A form field as (file name, bytes): an uploaded file, verbatim, or a text field named by the field.

    A browser sends a textarea's line ends as CRLF (the HTML form encoding says so): they become LF,
    as in the files the author saved, or the text's checksum would not match its mapping."""
    upload = request.files.get(name)
    if upload is not None and upload.filename:
        return Path(upload.filename).name, upload.read()
    value = request.form.get(name)
    if value:
        return name, value.replace("\r\n", "\n").encode("utf-8")
    return None


def _mapping_parts() -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    mapping, text = _part("mapping"), _part("text") or _part("article")
    if mapping is None:
        raise InputError("no mapping: send the mapping as the form field or file 'mapping'", Location(field="mapping"))
    if text is None:
        raise InputError("the mapping's article text is missing: send it as the form field or file 'text'",
                         Location(mapping[0], None, None, "text"))
    return mapping, text


def _rdf_part() -> tuple[str, bytes, str | None]:
    """(name, bytes, media type) of the RDF to validate: the ``rdf`` file of a form, or the body."""
    if request.mimetype in FORM_TYPES:
        upload = request.files.get("rdf")
        if upload is None or not upload.filename:
            raise InputError("send the RDF as the file 'rdf'", Location(field="rdf"))
        return Path(upload.filename).name, upload.read(), None
    return "body", request.get_data(), request.mimetype


def _report_format() -> str:
    """json, turtle or html: ``format=`` first, then Accept; JSON when the client likes all equally."""
    override = request.args.get("format")
    if not override and request.mimetype in FORM_TYPES:
        override = request.form.get("format")
    if override:
        if override.lower() not in _NAMES:
            raise NotAcceptable(f"unknown format {override!r}: the report can be json, turtle or html")
        return _NAMES[override.lower()]
    ranges = parse_accept(request.headers.get("Accept"))
    scored = [(quality(media, ranges), -i, name) for i, (name, media) in enumerate(REPORT_TYPES.items())]
    best_q, _, best = max(scored)
    if best_q <= 0:
        raise NotAcceptable("no acceptable format: the report can be " + ", ".join(REPORT_TYPES.values()))
    return best


def _render(report: Report, fmt: str, name: str, source: str | None = None) -> Response | str:
    if fmt == "html":
        return render_template("validate.html", report=report, name=name, error=None,
                               lines=_marked_lines(report, source))
    if fmt == "turtle":
        return Response(report.as_graph().serialize(format="turtle"), content_type="text/turtle; charset=utf-8")
    return jsonify(report.as_dict())


def _marked_lines(report: Report, source: str | None) -> list[tuple[int, str, str | None]]:
    """The mapping's lines as (number, text, worst severity found there or None), so the page can mark
    the lines to fix; empty for RDF input."""
    if source is None:
        return []
    rank = {"Violation": 3, "Warning": 2, "Info": 1}
    worst: dict[int, str] = {}
    for finding in report.findings:
        if finding.line and rank.get(finding.severity, 0) > rank.get(worst.get(finding.line, ""), 0):
            worst[finding.line] = finding.severity
    return [(n, line, worst.get(n)) for n, line in enumerate(source.splitlines(), start=1)]
