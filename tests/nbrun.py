"""Run course notebooks the way nbgrader grades them, for the tests.

A master (or release) notebook is executed with nbclient in a scratch folder, optionally with some
solution cells replaced by other code; each graded test cell is then scored with nbgrader's own rule
(``nbgrader.utils.determine_grade``: an error or anything on stderr means no points).
"""

from __future__ import annotations

import contextlib
import copy
import os
import runpy
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader import utils as nbutils

from instructor import course

ROOT = Path(__file__).resolve().parent.parent  # this repository: the course the tests check
CASES = Path(__file__).resolve().parent / "cases"


@dataclass(frozen=True)
class CellResult:
    """Outcome of one graded test cell."""

    grade_id: str
    points: float
    score: float
    text: str  # everything the cell showed: streams, error name/value and traceback

    @property
    def passed(self) -> bool:
        return self.score == self.points


def assignment_names(root: Path = ROOT) -> list[str]:
    """The assignments of ``root`` (default: this repository's course)."""
    return course.assignment_names(root)


def notebook_path(kind: str, name: str) -> Path:
    """``kind`` is ``source``, ``release`` or ``solutions``."""
    return ROOT / kind / name / f"{name}.ipynb"


def read(kind: str, name: str) -> nbformat.NotebookNode:
    return nbformat.read(notebook_path(kind, name), as_version=4)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def replace_cells(nb, replacements: dict[str, str]):
    """A copy of ``nb`` whose cells named in ``replacements`` (by grade_id) get the new source."""
    nb = copy.deepcopy(nb)
    missing = set(replacements)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in replacements:
            cell.source = replacements[gid]
            missing.discard(gid)
    if missing:
        raise KeyError(f"no cell with grade_id {sorted(missing)}")
    return nb


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(nb, workdir: Path, *, grading: bool = True, timeout: int = 60):
    """Execute a copy of ``nb`` in ``workdir``; ``grading`` sets NBGRADER_EXECUTION."""
    nb = copy.deepcopy(nb)
    env = {"NBGRADER_EXECUTION": "autograde"} if grading else {}
    with _env(PYTHONUTF8="1", **env):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(workdir)}})
        client.execute()
    return nb


def _cell_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
            parts.extend(out.traceback)
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def test_results(nb) -> dict[str, CellResult]:
    """Score every graded code cell of an executed notebook, keyed by grade_id (in order)."""
    results = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not nbutils.is_grade(cell):
            continue
        score, points = nbutils.determine_grade(cell)
        gid = grade_id(cell)
        results[gid] = CellResult(gid, float(points), float(score), _cell_text(cell))
    return results


test_results.__test__ = False  # not a pytest test


def run(nb, workdir: Path, replacements: dict[str, str] | None = None) -> dict[str, CellResult]:
    """Execute ``nb`` with ``replacements`` in grading mode and score its test cells."""
    if replacements:
        nb = replace_cells(nb, replacements)
    return test_results(execute(nb, workdir))


def solution_sources(name: str) -> dict[str, str]:
    """The master's solution cells, by grade_id."""
    return {grade_id(c): c.source for c in read("source", name).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def submission(name: str, replacements: dict[str, str] | None) -> nbformat.NotebookNode:
    """The release notebook with the student's cells filled in.

    ``replacements`` maps solution grade_ids to code; cells it does not name get the master's
    solution. ``None`` means the release left untouched.
    """
    nb = read("release", name)
    if replacements is None:
        return nb
    answers = {**solution_sources(name), **replacements}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if grade_id(cell) in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[grade_id(cell)]
    return nb


def load_cases(name: str) -> dict:
    """``CORRECT`` and ``MISTAKES`` of ``tests/cases/<name>.py`` (empty dicts when absent)."""
    path = CASES / f"{name}.py"
    if not path.is_file():
        return {"CORRECT": {}, "MISTAKES": {}}
    data = runpy.run_path(str(path))
    return {"CORRECT": data.get("CORRECT", {}), "MISTAKES": data.get("MISTAKES", {})}


def hidden_lines(name: str) -> list[str]:
    """Lines found only between BEGIN/END HIDDEN TESTS of a master (not in visible code)."""
    hidden, visible = [], []
    for cell in read("source", name).cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            else:
                (hidden if inside else visible).append(line.strip())
    shown = "\n".join(visible)
    return [line for line in hidden
            if len(line) > 12 and not line.startswith("#") and line not in shown]
