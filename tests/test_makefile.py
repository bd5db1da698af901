"""The Makefile's two commands on machines with different Pythons (`make -n`: nothing runs)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

MAKE = shutil.which("make")
# A pyenv shim for a version that is installed but not selected: on PATH, and refuses to run.
REFUSING_SHIM = '#!/bin/sh\necho "pyenv: $(basename "$0"): command not found" >&2\nexit 127\n'

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _path_with(tmp_path: Path, working: list[str], refusing: list[str] = ()) -> str:
    """A PATH holding only these interpreters: working ones run this test's Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in working:
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for name in refusing:
        (bin_dir / name).write_text(REFUSING_SHIM)
    for shim in bin_dir.iterdir():
        shim.chmod(0o755)
    return str(bin_dir)


def _make(tmp_path: Path, path: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MAKE, "--no-print-directory", *args, f"VENV={tmp_path / 'venv'}"],
        cwd=REPO,
        env={"PATH": path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_run_uses_python3_12_on_a_machine_that_has_only_that(tmp_path):
    path = _path_with(tmp_path, ["python3.12"])

    result = _make(tmp_path, path, "-n", "run")

    assert result.returncode == 0, result.stderr
    assert f"python3.12 -m venv {tmp_path / 'venv'}" in result.stdout
    assert "manage.py runserver 127.0.0.1:8000" in result.stdout


def test_make_picks_the_newest_python_that_runs(tmp_path):
    path = _path_with(tmp_path, ["python3.11", "python3.12"], refusing=["python3.13"])

    result = _make(tmp_path, path, "-n", "venv")

    assert f"python3.12 -m venv {tmp_path / 'venv'}" in result.stdout


def test_make_run_takes_the_port_and_seeds_the_demo_log_ins(tmp_path):
    path = _path_with(tmp_path, ["python3.13"])

    result = _make(tmp_path, path, "-n", "run", "PORT=8001")

    assert f"python3.13 -m venv {tmp_path / 'venv'}" in result.stdout
    assert "manage.py seed_shop --demo-users" in result.stdout
    assert "manage.py runserver 127.0.0.1:8001" in result.stdout


def test_make_without_a_supported_python_says_which_it_needs(tmp_path):
    path = _path_with(tmp_path, [], refusing=["python3.13", "python3.12"])

    result = _make(tmp_path, path, "venv")

    assert result.returncode != 0
    assert "Python 3.11, 3.12 or 3.13 is required" in result.stdout + result.stderr
    assert not (tmp_path / "venv").exists()
