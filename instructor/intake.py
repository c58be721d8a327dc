"""Intake: decide what a student handed in for one assignment, before nbgrader sees it.

The submitted files are never modified. The notebook to grade is written, normalised, into a
staging folder that nbgrader's autograde reads instead of ``submitted/``:

- ``submitted/<student>/<assignment>/`` missing           -> status ``missing``
- ``<assignment>.ipynb`` present                          -> graded (other notebooks are noted)
- no ``<assignment>.ipynb`` but exactly one notebook whose name starts with the assignment's
  (``01_gradient-Copy1.ipynb``, ``01_gradient (1).ipynb``) -> graded under the right name, noted
- no usable notebook (only ``.py`` files, unrelated names) -> ``unknown notebook: <names>``
- empty file, invalid JSON, not a notebook, a symbolic link -> ``failed: <reason>``
Notebooks without cell ids (older nbformat) get ids; that is noted too.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import ValidationError
from nbformat.warnings import MissingIDFieldWarning

TIMESTAMP = "timestamp.txt"


@dataclass
class Intake:
    """What was found for one (student, assignment)."""

    status: str  # "ok", "missing", "unknown notebook: ...", "failed: ..."
    notes: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None
    source_file: Path | None = None

    @property
    def gradable(self) -> bool:
        return self.status == "ok"


def _read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str | None, list[str]]:
    """(notebook, failure reason, notes) for one submitted file."""
    raw = path.read_bytes()
    if not raw.strip():
        return None, "failed: notebook file is empty", []
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "failed: notebook is not UTF-8 text", []
    except json.JSONDecodeError as exc:
        return None, f"failed: notebook is not valid JSON (line {exc.lineno}: {exc.msg})", []
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        return None, "failed: file is JSON but not a Jupyter notebook", []
    notes = []
    try:
        with warnings.catch_warnings():  # missing ids are handled (and noted) here
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(json.dumps(data), as_version=4, capture_validation_error={})
            if any("id" not in cell for cell in nb.cells) or nb.nbformat_minor < 5:
                nb.nbformat_minor = max(nb.nbformat_minor, 5)
                _, nb = nbformat.validator.normalize(nb, version=4, version_minor=5)
                notes.append("cell ids added (notebook saved by an old Jupyter)")
            nbformat.validate(nb)
    except (ValidationError, KeyError, TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"failed: not a valid notebook ({first[:120]})", notes
    return nb, None, notes


def _candidates(folder: Path, assignment: str) -> tuple[Path | None, list[str]]:
    """The notebook to grade in ``folder`` and notes about the others."""
    expected = folder / f"{assignment}.ipynb"
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    others = [p.name for p in notebooks if p != expected]
    if expected.is_file():
        return expected, [f"extra notebook ignored: {n}" for n in others]
    renamed = [p for p in notebooks if p.name.startswith(assignment)]
    if len(renamed) == 1:
        rest = [n for n in others if n != renamed[0].name]
        return renamed[0], [f"renamed: {renamed[0].name} graded as {assignment}.ipynb",
                            *[f"extra notebook ignored: {n}" for n in rest]]
    return None, []


def inspect(submitted: Path, student: str, assignment: str) -> Intake:
    """Examine ``submitted/<student>/<assignment>/`` (nothing is written)."""
    folder = submitted / student / assignment
    if (submitted / student).is_symlink() or folder.is_symlink():
        return Intake("failed: the submission folder is a symbolic link (not followed)")
    if not folder.is_dir():
        return Intake("missing")
    path, notes = _candidates(folder, assignment)
    if path is not None and path.is_symlink():
        return Intake(f"failed: {path.name} is a symbolic link (not followed)", notes)
    if path is None:
        files = sorted(p.name for p in folder.iterdir() if p.name != TIMESTAMP)
        if not files:
            return Intake("missing", ["submission folder is empty"])
        return Intake(f"unknown notebook: {', '.join(files)[:200]}",
                      [f"expected {assignment}.ipynb"])
    nb, failure, more = _read_notebook(path)
    if failure:
        return Intake(failure, notes + more, source_file=path)
    return Intake("ok", notes + more, nb, path)


def stage(intake: Intake, submitted: Path, staged: Path, student: str, assignment: str) -> None:
    """Write the notebook to grade to ``staged/<student>/<assignment>/<assignment>.ipynb``.

    The folder is replaced as a whole (nothing stale from an earlier run survives);
    ``timestamp.txt`` is carried over so that nbgrader's late-submission logic still works.
    """
    assert intake.gradable and intake.notebook is not None
    dest = staged / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    nbformat.write(intake.notebook, dest / f"{assignment}.ipynb")
    stamp = submitted / student / assignment / TIMESTAMP
    if stamp.is_file() and not stamp.is_symlink():
        shutil.copyfile(stamp, dest / TIMESTAMP)
