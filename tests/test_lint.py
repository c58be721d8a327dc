"""ruff is clean over the code and the notebooks (pyproject.toml holds its configuration)."""

import subprocess
import sys
from pathlib import Path

from tests.nbrun import ROOT


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # notebooks are linted too (ruff >= 0.6 includes *.ipynb)
    listed = subprocess.run([str(ruff), "check", "--no-cache", "--show-files", "."], cwd=ROOT,
                            capture_output=True, text=True).stdout
    assert "notebooks/01_gradient.ipynb" in listed
