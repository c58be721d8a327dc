"""A small nbgrader course built in a temporary folder, for the instructor-tool tests.

The real masters in ``source/`` change while the course is written; the tests of collecting,
exchanging and grading need a course that does not. ``make_course`` writes one assignment with
the same shape as the real ones (nbgrader metadata schema 3: a locked imports cell, a solution
cell between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, a visible test cell and a test cell
with hidden tests, 1 point each, checks from ``common.testing``), copies the repo's
``nbgrader_config.py`` and runs ``instructor.generate.generate`` to make ``release/`` and
``solutions/`` from it. ``submission`` returns the student version with an answer written in.
"""

from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

from instructor.course import CONFIG_FILE
from instructor.generate import generate
from tests.nbrun import ROOT

SOLUTION_ID = "double"  # grade_id of the solution cell
TEST_IDS = ("double_test", "double_hidden_test")
TOTAL_POINTS = 2.0
CORRECT_ANSWER = 'def double(x):\n    """x の 2 倍を返す. x: float."""\n    return x + x\n'
WRONG_ANSWER = 'def double(x):\n    """x の 2 倍を返す. x: float."""\n    return x * x\n'
HIDDEN_CHECK = "double(-1.5)"  # appears only in the hidden tests (never in a release or a feedback)


def _cell(kind: str, source: str, grade_id: str | None = None, *, grade: bool = False,
          solution: bool = False, locked: bool = False, points: float | None = None):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if grade_id is not None:
        meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                "solution": solution, "task": False}
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def master_notebook() -> nbformat.NotebookNode:
    """The instructor master of the toy assignment (solution and hidden tests included)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        _cell("markdown", "# トイ課題: 2 倍する関数\n\nテスト用の小さな課題です。"),
        _cell("code", "from common.testing import check_close", "imports", locked=True),
        _cell("markdown", "`double(x)` を完成させてください。`x` の 2 倍を返します。"),
        _cell("code", 'def double(x):\n    """x の 2 倍を返す. x: float."""\n'
                      "    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
              SOLUTION_ID, solution=True),
        _cell("code", 'check_close(double(3.0), 6.0, name="double(3.0)")', TEST_IDS[0],
              grade=True, locked=True, points=1),
        _cell("code", "# 隠しテスト (採点のときだけ実行されます)\n"
                      "### BEGIN HIDDEN TESTS\n"
                      f'check_close({HIDDEN_CHECK}, -3.0, name="{HIDDEN_CHECK}")\n'
                      "### END HIDDEN TESTS\n", TEST_IDS[1], grade=True, locked=True, points=1),
    ]
    return nb


# Courses already built in this process, by assignment name: later calls copy them (a first build
# costs ≈ 3-8 s, most of it nbgrader creating the gradebook; a copy costs milliseconds).
_BUILT: dict[str, Path] = {}
_MADE = ("source/{name}", "release/{name}", "solutions/{name}", "gradebook.db", CONFIG_FILE)


def _copy_made(src: Path, dest: Path, name: str) -> None:
    for rel in (m.format(name=name) for m in _MADE):
        if (src / rel).is_dir():
            shutil.copytree(src / rel, dest / rel)
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, dest / rel)


def make_course(root: Path, name: str = "99_toy") -> Path:
    """Write ``root/source/<name>/<name>.ipynb`` and the course config, then generate release/.

    Returns ``root``. Also makes ``solutions/<name>`` and the gradebook (with the assignment in
    it): ``generate`` runs nbgrader's GenerateAssignment and GenerateSolution. The first course of
    a given ``name`` in a test session is built so; later ones are copies of it, unless ``root``
    already has a gradebook.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if name in _BUILT and not (root / "gradebook.db").exists():
        _copy_made(_BUILT[name], root, name)
        return root
    folder = root / "source" / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(master_notebook(), folder / f"{name}.ipynb")
    shutil.copyfile(ROOT / CONFIG_FILE, root / CONFIG_FILE)
    generate(root, [name])
    if name not in _BUILT:
        cache = Path(tempfile.mkdtemp(prefix=f"toycourse-{name}-"))
        atexit.register(shutil.rmtree, cache, True)
        _copy_made(root, cache, name)
        _BUILT[name] = cache
    return root


def release_notebook(root: Path, name: str = "99_toy") -> nbformat.NotebookNode:
    return nbformat.read(Path(root) / "release" / name / f"{name}.ipynb", as_version=4)


def submission(root: Path, name: str, answer_source: str) -> nbformat.NotebookNode:
    """The release notebook of ``name`` with ``answer_source`` as its solution cell."""
    nb = copy.deepcopy(release_notebook(root, name))
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    if len(cells) != 1:
        raise ValueError(f"expected one solution cell in release/{name}, found {len(cells)}")
    cells[0].source = answer_source
    return nb
