"""The README's first step on a fresh clone: `make demo` (with `--stop-after`) shows an alert.

The repository is cloned from its committed HEAD into a temporary folder and `make demo` runs
there. To keep CI within its budget the clone reuses this checkout's virtualenv (`VENV=`) instead
of installing one (the install itself is what `make test` does on CI's fresh clone), with the
clone first on PYTHONPATH so the clone's code is what runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_make_demo_on_a_fresh_clone_shows_an_alert(tmp_path: Path) -> None:
    """`make demo DEMO_ARGS=--stop-after…` in a fresh clone prints a firing alert and exits 0."""
    git, make = shutil.which("git"), shutil.which("make")
    if git is None or make is None or not (ROOT / ".git").exists():
        pytest.skip("needs git, make and a git checkout")
    clone = tmp_path / "clone"
    done = subprocess.run(
        [git, "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(clone)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    venv = Path(sys.executable).parent.parent
    os.utime(clone / "pyproject.toml", (0, 0))  # older than the venv's stamp: no reinstall
    env = {**os.environ, "PYTHONPATH": str(clone), "TERM": "dumb", "COLUMNS": "160"}
    demo = subprocess.run(
        [make, "--no-print-directory", "demo", f"VENV={venv}",
         "DEMO_ARGS=--stop-after 12 --speed 600"],
        cwd=clone, capture_output=True, text=True, timeout=240, env=env, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Alerts" in demo.stdout or "alert" in demo.stdout.lower()
    assert "firing" in demo.stdout, demo.stdout[-3000:]
    assert "demo state and logs kept in" in demo.stdout
