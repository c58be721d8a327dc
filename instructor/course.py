"""The course folder as nbgrader sees it: its config and its assignments."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = "nbgrader_config.py"


def load_config(root: Path = ROOT) -> Config:
    """The course's ``nbgrader_config.py`` (this repo's if ``root`` has none), root pinned."""
    folder = Path(root) if (Path(root) / CONFIG_FILE).is_file() else ROOT
    config = PyFileConfigLoader(CONFIG_FILE, path=str(folder)).load_config()
    config.CourseDirectory.root = str(Path(root).resolve())
    return config


def assignment_names(root: Path = ROOT) -> list[str]:
    """Names of the assignments in ``root/source`` (folders holding a master notebook), sorted."""
    source = Path(root) / "source"
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def prepare_environment(root: Path = ROOT) -> None:
    """Make nbgrader's subprocesses behave the same from any shell.

    nbgrader runs ``alembic`` by name (PATH must hold the venv's bin/), and Japanese text needs
    UTF-8 whatever the locale (nbgrader #1297, #1042).
    """
    import sys

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ["PYTHONUTF8"] = "1"
