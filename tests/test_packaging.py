"""`pip install .` (the README's first command) installs every package of
the ledger: a subpackage left out of the wheel breaks `ledger` at its first
import, which no test running from the checkout would see."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_package_of_the_ledger():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    find_packages = pytest.importorskip("setuptools").find_packages
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    installed = set(find_packages(str(ROOT), include=find["include"]))
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("ledger", "projections", "commands")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert "ledger.domain" in on_disk and "projections.storage" in on_disk
    assert installed == on_disk
