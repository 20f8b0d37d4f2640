"""``POST /draft``: a drafted mapping of an article text, to edit and then validate; nothing is added.

Takes the text as the form field or uploaded file ``text`` (multipart or urlencoded). Answers the
YAML as an attachment (``text/yaml``), or with ``format=html`` a page showing it in a textarea,
beside a validation form already filled with the draft and the text (no JavaScript needed). The
draft is draft.py's, against the graph served now, with the search index of web/search.py.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, render_template, request

from ..draft import draft_mapping
from ..errors import InputError, Location, NotAcceptable
from ..intake import decode
from .pages import HTML
from .search import search_index

bp = Blueprint("draft", __name__)
_SAFE_NAME = r"[A-Za-z0-9_.-]{1,100}"


@bp.get("/draft")
def form() -> str:
    return render_template("draft.html", draft=None, text=None, name=None, error=None)


@bp.post("/draft")
def draft() -> Response:
    fmt = (request.values.get("format") or "yaml").lower()
    if fmt not in ("yaml", "html"):
        raise NotAcceptable(f"unknown format {fmt!r}: the draft is yaml (an attachment) or html")
    try:
        name, text = _text()
    except InputError as exc:
        if fmt != "html":
            raise
        return Response(render_template("draft.html", draft=None, text=None, name=None, error=str(exc)),
                        exc.http_status, content_type=HTML)
    index, spellings = search_index()
    result = draft_mapping(text, index, spellings, text_name=name)
    if fmt == "html":
        return Response(render_template("draft.html", draft=result.text, text=text, name=name, error=None),
                        content_type=HTML)
    mapping_name = Path(name).stem + ".yaml"
    return Response(result.text, content_type="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{mapping_name}"'})


def _text() -> tuple[str, str]:
    """(file name, text) of the article: an uploaded file verbatim, or the pasted field with the
    browser's CRLF line ends made LF (as validation reads a pasted text, so the checksums agree)."""
    import re

    upload = request.files.get("text")
    if upload is not None and upload.filename:
        name = Path(upload.filename).name
        if not re.fullmatch(_SAFE_NAME, name) or not name.endswith(".txt"):
            name = "article.txt"
        return name, decode(upload.read(), name)
    value = request.form.get("text")
    if not value or not value.strip():
        raise InputError("no article text: paste it in the field 'text' or upload it as the file 'text'",
                         Location(field="text"))
    return "article.txt", decode(value.replace("\r\n", "\n").encode("utf-8"), "text")
