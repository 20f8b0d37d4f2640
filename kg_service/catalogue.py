"""What a key in a mapping can name: the register's entities and the events of every article.

The build makes one `Catalogue` from the register and the event keys of all mappings (so an article
may refer to an event another article defines); the compiler resolves every key of a mapping through
it, and the checks use it to tell an IRI of ours that names nothing known. An unknown key is never
guessed: the catalogue only suggests the closest known keys and names for the author's "did you mean".
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rdflib import URIRef

from .register import Register


@dataclass
class Catalogue:
    """Everything a key in a mapping can name: register entities and events of any article."""

    register: Register
    events: dict[str, URIRef] = field(default_factory=dict)

    def resolve(self, key: str) -> URIRef | None:
        return self.register.iri(key) or self.events.get(key)

    def describe(self, key: str) -> str:
        """A key with the names it goes by, so the author recognises the entity they meant."""
        entry = self.register.entries.get(key)
        if entry is None:
            return key
        return f"{key} ({'; '.join((entry.name, *entry.aliases)[:3])})"

    def suggest(self, key: str) -> list[str]:
        """The closest known keys and names, for "did you mean" in a finding."""
        names = self.register.names() | {k: k for k in self.events}
        close = difflib.get_close_matches(key.replace("-", " ").lower(), list(names), n=3, cutoff=0.5)
        close += difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
        seen: dict[str, None] = {}
        for name in close:
            seen.setdefault(names[name], None)
        return list(seen)[:3]
