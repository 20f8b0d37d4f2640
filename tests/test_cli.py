"""The `kg-service` command on ordinary mistakes, run as users run it (a real subprocess): one line on
stderr, exit 2, never a traceback; and the progress bars, drawn on a terminal (a pty) and nowhere else."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import ARTICLES_DIR

from kg_service.paths import bundled, default_seeds
from kg_service.progress import progress, shown

T01 = ARTICLES_DIR / "t01_export_controls_2019.yaml"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KG_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "kg_service.cli", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=timeout_s)


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr starting with ``error:`` and naming `words`."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_serve_with_a_port_out_of_range_is_one_line_and_exit_2(tmp_path: Path, port: str) -> None:
    assert_one_line_usage_error(run_cli("serve", "--port", port, cwd=tmp_path), port, "not a port")


def test_serve_on_a_port_in_use_is_one_line_and_exit_2_before_loading(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = run_cli("serve", "--host", "127.0.0.1", "--port", str(port), cwd=tmp_path)
    assert_one_line_usage_error(result, f"port {port}", "in use")
    assert time.monotonic() - started < 60  # refused at once, not after building the graph and hanging


def test_serve_on_an_unknown_host_is_one_line_and_exit_2(tmp_path: Path) -> None:
    assert_one_line_usage_error(run_cli("serve", "--host", "no-such-host.invalid", "--port", "0", cwd=tmp_path),
                                "cannot listen on 'no-such-host.invalid'")


def test_dump_into_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "graph.trig"
    assert_one_line_usage_error(run_cli("dump", "-o", str(target), cwd=tmp_path), "no such folder", "missing")
    assert not target.parent.exists()


def test_dump_writes_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    result = run_cli("dump", "--format", "nq", "-o", "graph.nq", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no tty: no progress bar
    assert (tmp_path / "graph.nq").read_bytes().count(b"\n") > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.nq"]


@pytest.mark.parametrize("how", ["option", "option-after-command", "environment"])
def test_a_missing_seeds_folder_is_one_line_and_exit_2(tmp_path: Path, how: str) -> None:
    missing = str(tmp_path / "no-seeds")
    args = {"option": ["--seeds", missing, "build"], "option-after-command": ["build", "--seeds", missing],
            "environment": ["build"]}[how]
    env = {"KG_SEEDS_DIR": missing} if how == "environment" else None
    line = assert_one_line_usage_error(run_cli(*args, cwd=tmp_path, env=env), missing, "no such folder")
    assert ("KG_SEEDS_DIR" if how == "environment" else "--seeds") in line


def test_unreadable_inputs_are_one_line_and_exit_2(tmp_path: Path) -> None:
    assert_one_line_usage_error(run_cli("validate", "absent.yaml", cwd=tmp_path), "absent.yaml", "cannot read")
    (tmp_path / "folder.yaml").mkdir()
    assert_one_line_usage_error(run_cli("validate", "folder.yaml", cwd=tmp_path), "folder.yaml", "directory")
    (tmp_path / "latin1.yaml").write_bytes(b"article:\n  title: caf\xe9\n")
    assert_one_line_usage_error(run_cli("validate", "latin1.yaml", cwd=tmp_path), "latin1.yaml:2:", "not UTF-8")
    (tmp_path / "seeds").mkdir()
    assert_one_line_usage_error(run_cli("add", str(T01), "--text", "absent.txt", cwd=tmp_path), "absent.txt",
                                "cannot read")
    assert list((tmp_path / "seeds").iterdir()) == []
    assert_one_line_usage_error(run_cli("serve", "--data", "absent.nq", cwd=tmp_path), "absent.nq")


def test_click_usage_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    assert_one_line_usage_error(run_cli("servee", cwd=tmp_path), "No such command")
    assert_one_line_usage_error(run_cli("serve", "--port", "eighty", cwd=tmp_path), "--port", "eighty")
    assert_one_line_usage_error(run_cli("dump", "--format", "docx", cwd=tmp_path), "docx")


def test_help_and_success_still_exit_0(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0 and "--seeds" in result.stdout and "KG_SEEDS_DIR" in result.stdout


def test_the_articles_folder_is_dot_seeds_when_present_else_the_bundled_one(tmp_path: Path) -> None:
    assert default_seeds(tmp_path) == bundled("seeds")
    (tmp_path / "seeds").mkdir()
    assert default_seeds(tmp_path) == tmp_path / "seeds"
    assert (bundled("seeds") / "003_11110d5589b8cc2d.yaml").is_file()
    assert (bundled("ontology") / "entities.yaml").is_file() and any(bundled("sparql").glob("*.rq"))


def test_build_reads_the_seeds_folder_of_the_working_directory(tmp_path: Path) -> None:
    """An empty ./seeds is taken over the bundled seeds: the build has no article."""
    (tmp_path / "seeds").mkdir()
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Built 0 articles")


# --- progress -------------------------------------------------------------------------------------------------

def read_pty(fd: int, process: subprocess.Popen, timeout_s: float) -> bytes:
    """Everything the process writes to the pty until it ends (bounded in time)."""
    out = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        elif process.poll() is not None:
            break
    return out


def run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                      timeout_s: float = 120) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal and stdout on a pipe: (exit code, terminal bytes, stdout bytes)."""
    controller, terminal = pty.openpty()
    # A new pty is 0 columns wide, where tqdm draws nothing; a real terminal has a size.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KG_")} | (env or {})
    process = subprocess.Popen(args, cwd=cwd, env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=terminal)
    os.close(terminal)
    try:
        shown_bytes = read_pty(controller, process, timeout_s)
        stdout, _ = process.communicate(timeout=timeout_s)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return process.returncode, shown_bytes, stdout


COUNT = "from kg_service.progress import progress\nwith progress('Counting', total=4) as step:\n" \
        "    for _ in range(4): step()\nprint('done')\n"


def test_progress_draws_a_bar_on_a_terminal(tmp_path: Path) -> None:
    code, terminal, stdout = run_on_a_terminal([sys.executable, "-c", COUNT], tmp_path)
    assert code == 0 and stdout == b"done\n"
    assert b"Counting" in terminal and b"/4 [" in terminal  # tqdm redraws at most every 0.1 s: 0/4 at least


def test_progress_is_silent_on_a_pipe_and_when_turned_off(tmp_path: Path) -> None:
    piped = subprocess.run([sys.executable, "-c", COUNT], cwd=tmp_path, capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout == b"done\n" and piped.stderr == b""
    code, terminal, stdout = run_on_a_terminal([sys.executable, "-c", COUNT], tmp_path, env={"TQDM_DISABLE": "1"})
    assert code == 0 and stdout == b"done\n" and terminal == b""


def test_progress_without_a_terminal_counts_nothing() -> None:
    with progress("Quiet", total=2) as step:  # pytest captures stderr: not a terminal
        assert step() is None and step(5) is None
    assert not shown(None) or sys.stderr.isatty()


def test_build_on_a_terminal_shows_compiling_and_keeps_its_output(tmp_path: Path) -> None:
    code, terminal, stdout = run_on_a_terminal([sys.executable, "-m", "kg_service.cli", "build"], tmp_path)
    assert code == 0, terminal
    assert b"Compiling" in terminal and b"article" in terminal
    assert stdout.startswith(b"Built ") and b"Validation: conforms" in stdout


def test_dump_on_a_terminal_shows_its_steps_and_writes_the_same_quads(tmp_path: Path) -> None:
    code, terminal, _ = run_on_a_terminal([sys.executable, "-m", "kg_service.cli", "dump", "--format", "nq", "-o",
                                           "shown.nq"], tmp_path)
    assert code == 0, terminal
    assert b"Compiling" in terminal and b"Serialising" in terminal
    quiet = run_cli("dump", "--format", "nq", "-o", "quiet.nq", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    # the same bytes: dumps are written in a canonical order (issue 15 item 5)
    assert (tmp_path / "shown.nq").read_bytes() == (tmp_path / "quiet.nq").read_bytes()
