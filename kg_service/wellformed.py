"""Tell whether a name or IRI written by hand can be used as it is: an article's text file name, a web IRI.

Both end up where a bad one does harm: a text file name becomes an article id and a path in the
seeds folder, and a web IRI becomes a node the store must accept when it loads the seeds. The
mapping reader refuses what fails here at its line; the seeds and the article pages check the same
way before they trust a name. Keys (`vocab.is_key`) and dates (`dates.is_date_text`) have their own.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from .vocab import is_key

_WEB_IRI = re.compile(r"https?://[^\x00-\x20<>\"{}|\\^`\x7f-\x9f]+")


def is_text_name(name: str) -> bool:
    """Tell whether `name` is a bare article file name whose stem can be an article id (no folders).

    >>> is_text_name("003_11110d5589b8cc2d.txt"), is_text_name("../etc/passwd.txt"), is_text_name("a.md")
    (True, False, False)
    """
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and suffix == "txt" and is_key(stem)


def is_web_iri(text: str) -> bool:
    """Tell whether `text` is an http(s) IRI that the store accepts as it is (it becomes a node of the graph,
    and one IRI the store refuses would stop the service from loading the seeds).

    >>> is_web_iri("https://example.org/a?b=1"), is_web_iri("https://example.org/a\\n"), is_web_iri("a b")
    (True, False, False)
    """
    if not isinstance(text, str) or not _WEB_IRI.fullmatch(text):
        return False
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True
