"""Add a validated article to the seeds folder, all or nothing, one add at a time.

An article is two files: its verbatim text and its mapping; the mapping is what makes it exist
(the builder reads ``*.yaml``). An add holds an exclusive `flock` on the seeds folder itself (so
threads and processes are serialised and no lock file is left behind), re-checks that the id is
free, writes both files to dotted temporary names and fsyncs them, records its intent in a journal,
renames the text and then the mapping into place, fsyncs the folder and drops the journal. An add
killed at any point is finished or undone by `recover`, which every add runs first: the folder is
then exactly as before or fully updated. Until then the builder sees the old article set (dotfiles
and a text without its mapping are not articles).

The journal is read as untrusted: it must name one article's text and mapping, plain file names in
this folder (`seeds_dir`), or recovery stops with `DamagedSeeds` and deletes nothing. Each step an
add passes (`STEPS`) is announced to `STEP_HOOKS`, empty in the service: a test appends a callable,
in the process it then kills, to stop an add at a step of its choosing.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ArticleRefused, Conflict, DamagedSeeds, InputError, Location
from .intake import decode
from .paths import check_addable
from .report import Report
from .validate import Context, validate_mapping
from .wellformed import is_text_name

JOURNAL = ".add.journal"
STEPS = ("locked", "temporary-files", "journal", "text", "mapping", "done")
STEP_HOOKS: list[Callable[[str], None]] = []


@dataclass(frozen=True)
class Added:
    article_id: str
    text_path: Path
    mapping_path: Path


@contextmanager
def seeds_lock(seeds_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock of the seeds folder (released when the process dies, too)."""
    fd = os.open(seeds_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_article(seeds_dir: Path, article_id: str, text_name: str, text: bytes, mapping: bytes) -> Added:
    """Write text and mapping into `seeds_dir` atomically; raises Conflict if the article exists."""
    if not is_text_name(text_name) or text_name != f"{article_id}.txt":  # validation refuses these first
        raise InputError(f"{text_name!r} is not the text file name of an article {article_id!r}",
                         Location(text_name))
    text_path, mapping_path = seeds_dir / text_name, seeds_dir / f"{article_id}.yaml"
    with seeds_lock(seeds_dir):
        recover(seeds_dir)
        _step("locked")
        for path in (mapping_path, text_path):
            if path.exists():
                raise Conflict(f"article {article_id!r} already exists ({path.name}); an add never overwrites: "
                               "choose another id (the text file name) or edit the seeds by hand",
                               Location(path.name))
        text_tmp, mapping_tmp = _tmp(text_path), _tmp(mapping_path)
        _write(text_tmp, text)
        _write(mapping_tmp, mapping)
        _step("temporary-files")
        _write(_tmp(seeds_dir / JOURNAL), json.dumps({"text": text_name, "mapping": mapping_path.name}).encode())
        os.replace(_tmp(seeds_dir / JOURNAL), seeds_dir / JOURNAL)
        _fsync_dir(seeds_dir)
        _step("journal")
        os.replace(text_tmp, text_path)
        _step("text")
        os.replace(mapping_tmp, mapping_path)
        _fsync_dir(seeds_dir)
        _step("mapping")
        (seeds_dir / JOURNAL).unlink()
        _fsync_dir(seeds_dir)
        _step("done")
    return Added(article_id, text_path, mapping_path)


def recover(seeds_dir: Path) -> None:
    """Finish or undo an interrupted add; call it holding `seeds_lock`.

    With a journal, the add got as far as renaming: if its mapping is in place the add is complete,
    otherwise its text is removed (the mapping is what makes an article exist). Temporary files of
    an add that never reached its journal are removed. Raises DamagedSeeds, deleting nothing, for a
    journal that is not one an add writes.
    """
    journal = seeds_dir / JOURNAL
    if journal.exists():
        text_name, mapping_name = read_journal(journal)
        if not (seeds_dir / mapping_name).exists():
            (seeds_dir / text_name).unlink(missing_ok=True)
        journal.unlink()
    for leftover in seeds_dir.glob(".*.tmp"):
        if leftover.is_file() or leftover.is_symlink():
            leftover.unlink()
    _fsync_dir(seeds_dir)


def read_journal(journal: Path) -> tuple[str, str]:
    """The (text, mapping) file names an add's journal records, checked as names of one article in the
    journal's own folder: an entry such as ``../victim.txt`` or ``/etc/passwd`` is refused, never deleted."""
    damaged = f"the add journal is damaged; look at it, then remove it ({JOURNAL} in the seeds folder): "
    try:
        names = json.loads(journal.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DamagedSeeds(damaged + f"not readable JSON ({exc.__class__.__name__})", Location(JOURNAL)) from None
    if not isinstance(names, dict) or set(names) != {"text", "mapping"} or not all(
            isinstance(v, str) for v in names.values()):
        raise DamagedSeeds(damaged + 'expected {"text": NAME, "mapping": NAME}', Location(JOURNAL))
    text_name, mapping_name = names["text"], names["mapping"]
    if not is_text_name(text_name) or mapping_name != text_name.removesuffix(".txt") + ".yaml":
        raise DamagedSeeds(damaged + f"it names {text_name!r} and {mapping_name!r}, not the text and mapping "
                           "of one article in the seeds folder", Location(JOURNAL))
    return text_name, mapping_name


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _step(step: str) -> None:
    for hook in STEP_HOOKS:
        hook(step)


def add_article(context: Context, seeds_dir: Path, source: bytes, mapping_name: str, text: bytes,
                text_name: str) -> tuple[Report, Added]:
    """Validate a new article against `context` and, when it conforms, write it into `seeds_dir`.

    Raises InputError for unreadable input, ArticleRefused (with the report) on any violation and
    Conflict when the article id is taken. The caller rebuilds the graph it serves afterwards.
    """
    check_addable(seeds_dir)
    report, mapping = validate_mapping(context, decode(source, mapping_name), Path(mapping_name),
                                       decode(text, text_name))
    if mapping is None or not report.conforms:
        violations = report.counts()["Violation"]
        raise ArticleRefused(f"{mapping_name}: not added: validation found {violations} "
                             f"violation{'s' if violations != 1 else ''}", report)
    added = write_article(seeds_dir, mapping.article_id, mapping.article.values["text"], text, source)
    return report, added
