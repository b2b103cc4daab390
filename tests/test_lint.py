"""The code stays as clean as the tools say: ruff (style, imports, likely
bugs) and mypy (types), with the configuration in pyproject.toml. They run
with the suite, so CI keeps them at zero findings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    """The tool installed beside this interpreter (the project's venv)."""
    found = Path(sys.executable).with_name(name)
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return on_path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    result = run(tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = run(tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr
