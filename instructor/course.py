"""The course folder as nbgrader sees it: where it is, its config and its assignments.

The course folder is where the instructor works, as in nbgrader, not where this package is
installed: one installed environment serves several course folders (two sections of the class,
a copy of the course). The rule (``find_root``): the folder named by ``--root``; else the working
folder, or the nearest folder above it, that holds ``nbgrader_config.py``. Library functions take
the course folder as an argument; only the command line (``python -m instructor``) looks for it.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


class CourseNotFound(Exception):
    """No course folder where one was asked for (the message says what to do)."""


def find_root(root: Path | None = None, start: Path | None = None) -> Path:
    """The course folder (absolute): ``root`` if given, else found from ``start`` upward.

    ``root`` must hold ``nbgrader_config.py``; without ``root``, ``start`` (default: the working
    folder) or the nearest folder above it that holds one is the course. Raises ``CourseNotFound``.
    """
    if root is not None:
        root = Path(root).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise CourseNotFound(f"{root} is not a course folder: it has no {CONFIG_FILE}")
        return root
    start = Path.cwd() if start is None else Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise CourseNotFound(
        f"no course folder here: neither {start} nor any folder above it holds {CONFIG_FILE}. "
        "Run the command inside the course folder (the one with nbgrader_config.py and "
        "source/), or name it with --root <course folder>.")


def load_config(root: Path) -> Config:
    """The ``nbgrader_config.py`` of the course folder ``root``, with the root pinned to it.

    Raises ``CourseNotFound`` if ``root`` has none (no other course's config is used instead).
    """
    root = find_root(root)
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def assignment_names(root: Path) -> list[str]:
    """Names of the assignments in ``root/source`` (folders holding a master notebook), sorted."""
    source = Path(root) / "source"
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def prepare_environment(root: Path) -> None:
    """Make nbgrader's subprocesses behave the same from any shell.

    nbgrader runs ``alembic`` by name (PATH must hold the venv's bin/), and Japanese text needs
    UTF-8 whatever the locale (nbgrader #1297, #1042).
    """
    import sys

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ["PYTHONUTF8"] = "1"
