"""The wheel works anywhere: built from a copy of the sources, installed (not editable) in a fresh venv
outside the checkout, run from an empty folder, it serves the graph, validates an article and adds one.

The fresh venv takes kg-service from the wheel alone; its dependencies (rdflib, pyoxigraph, ...) are
the test venv's own, made visible by a ``.pth`` line, so the test needs no network beyond what
``pip wheel`` needs for setuptools. The checkout's `kg_service` is not importable there: an editable
install is activated by a ``.pth`` file of its own, which a path added this way does not run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTICLES_DIR, free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "kg_service", "ontology", "seeds", "sparql")
T01 = ARTICLES_DIR / "t01_export_controls_2019"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin folder of a fresh venv with the wheel installed."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", str(source), "--no-deps", "-w", str(base / "dist")], check=True, timeout=300)
    wheel = next((base / "dist").glob("kg_service-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    Path(site, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "PYTHON"))} | (env or {})
    return subprocess.run([str(bin_dir / "kg-service"), *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=300)


def shipped_seeds(bin_dir: Path, cwd: Path) -> str:
    """Where the installed package finds its own seeds."""
    return subprocess.run([str(bin_dir / "python"), "-c", "import kg_service.paths as p; print(p.bundled('seeds'))"],
                          cwd=cwd, capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = shipped_seeds(installed, tmp_path)
    assert where.endswith("site-packages/kg_service/_data/seeds") and not where.startswith(str(ROOT))
    shipped = sorted(p.name for p in Path(where).iterdir())
    assert shipped == sorted(p.name for p in (ROOT / "seeds").iterdir() if not p.name.startswith("."))
    templates = Path(where).parents[1] / "web" / "templates"
    assert (templates / "base.html").is_file() and (templates.parent / "static" / "site.css").is_file()


def test_the_wheel_serves_the_bundled_seeds_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "PYTHON"))}
    with log.open("wb") as out:
        process = subprocess.Popen([str(installed / "kg-service"), "serve", "--port", str(port)], cwd=tmp_path,
                                   env=environ | {"KG_QUERY_WORKERS": "1"}, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/sparql?" + urllib.parse.urlencode(
            {"query": "SELECT (COUNT(DISTINCT ?g) AS ?n) { GRAPH ?g { ?s ?p ?o } }"})
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        articles = len(list((ROOT / "seeds").glob("*.yaml")))
        graphs = int(body["results"]["bindings"][0]["n"]["value"])
        assert graphs >= articles + 3  # one graph per article, and meta, entities, ontology, ...
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "/static/site.css" in page  # the templates came with the wheel
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_wheel_validates_an_article(installed: Path, tmp_path: Path) -> None:
    result = run(installed, "validate", str(T01.with_suffix(".yaml")), "--text", str(T01.with_suffix(".txt")),
                 "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["conforms"] is True


def test_the_wheel_adds_an_article_into_a_seeds_folder(installed: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "my-seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    result = run(installed, "add", str(T01.with_suffix(".yaml")), "--text", str(T01.with_suffix(".txt")),
                 "--seeds", str(seeds), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (seeds / T01.with_suffix(".yaml").name).read_bytes() == T01.with_suffix(".yaml").read_bytes()
    built = run(installed, "build", cwd=tmp_path, env={"KG_SEEDS_DIR": str(seeds)})
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith(f"Built {len(list((ROOT / 'seeds').glob('*.yaml'))) + 1} articles")


def test_the_wheel_never_adds_to_the_seeds_it_ships(installed: Path, tmp_path: Path) -> None:
    shipped = shipped_seeds(installed, tmp_path)
    before = sorted(p.name for p in Path(shipped).iterdir())
    result = run(installed, "add", str(T01.with_suffix(".yaml")), "--text", str(T01.with_suffix(".txt")), cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "--seeds" in lines[0], result.stderr
    assert sorted(p.name for p in Path(shipped).iterdir()) == before
