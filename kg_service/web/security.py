"""The security headers of a response: ``nosniff`` on every one, the Content-Security-Policy where a browser
could run script from it."""

from __future__ import annotations

# Only the service's own scripts, styles and forms; no framing. A page may set a stricter one of its own.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def may_run_script(media_type: str) -> bool:
    """Whether a browser that opens a response of `media_type` may run script from it, so that it needs the
    Content-Security-Policy: HTML, and XML of any kind (XHTML, SVG, RDF/XML, SPARQL XML results: an XML
    literal is written as markup). JSON, CSV, TSV, plain text and the line- and Turtle-based RDF formats are
    shown as text (``nosniff`` keeps them so), and a policy on them is a header line every client parses.

    >>> may_run_script("text/html"), may_run_script("application/sparql-results+xml"), may_run_script("text/csv")
    (True, True, False)
    """
    return media_type == "text/html" or media_type.endswith("xml")


_NOSNIFF = (("X-Content-Type-Options", "nosniff"),)  # a result or error echoing input is never run as HTML
_WITH_POLICY = (*_NOSNIFF, ("Content-Security-Policy", CONTENT_SECURITY_POLICY))


def security_headers(media_type: str) -> tuple[tuple[str, str], ...]:
    """The security headers of a response of `media_type`: what the app's every response and the lean path
    (`lean`) add, unless a view set its own (a page may set a stricter policy)."""
    return _WITH_POLICY if may_run_script(media_type) else _NOSNIFF
