"""The HTML pages' shared parts: templates and the project's own static files (no CDN)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__, static_folder="static", static_url_path="/static", template_folder="templates")
