"""The one SPARQL tokenizer of the project: strings, IRIs, comments, variables, prefixed names, words, the rest.

The guard (`guard`, `bounds`), updates, the query-text rewrites and the remote store's VALUES all cut a
text with it, so a brace or a keyword inside a literal, an IRI or a comment means the same everywhere.
"""

from __future__ import annotations

import re

# Each match's `lastgroup` is its kind: string, iri, comment, var, pname, word or other (one character). The
# commonest kinds are tried first (a third faster on the named queries); a word is a name not followed by
# what would make it a prefixed name, so the tokens are those of the plain order (string, iri, comment,
# var, pname, word, other), which `tests/test_guard.py` checks on generated texts.
TERM_PATTERNS = {  # the kinds the quick look (`_quick_words`) cuts to a mark, in TOKEN's order
    "var": r"[?$]\w+",
    # A prefix never starts right after a letter (a word or name would have taken it): the look-behind spares
    # scanning a word's rest from each of its letters where TOKEN's other kinds are not tried first.
    "pname": r"(?<![A-Za-z_])[A-Za-z_][\w.-]*:[\w.:%\\-]*|:[\w.:%\\-]*",
    "iri": r'<[^<>"{}|^`\\\x00-\x20]*>',
    "string": "|".join((r'"""(?:[^"\\]|\\.|"(?!""))*"""', r"'''(?:[^'\\]|\\.|'(?!''))*'''",
                        r'"(?:[^"\\\n]|\\.)*"', r"'(?:[^'\\\n]|\\.)*'")),
    "comment": r"\#[^\n]*",
}
_WORD_PATTERN = r"[A-Za-z_]\w*(?![\w.-]*:)"
TOKEN = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in (
    ("var", TERM_PATTERNS["var"]), ("word", _WORD_PATTERN), *list(TERM_PATTERNS.items())[1:], ("other", r"\S"))))


def keywords(text: str) -> list[str]:
    """The bare words of a query, upper-cased, outside strings, comments, IRIs and prefixed names.

    >>> keywords('SELECT * { ?service <http://x/SERVICE> "SERVICE" } # SERVICE')
    ['SELECT']
    >>> keywords("ask { ex:service a :Service }")
    ['ASK', 'A']
    """
    return [m.group("word").upper() for m in TOKEN.finditer(text) if m.lastgroup == "word"]


def position(text: str, at: int) -> tuple[int, int]:
    r"""The 1-based line and column of offset `at` in `text`.

    >>> position("ab\ncd", 4)
    (2, 2)
    """
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1
