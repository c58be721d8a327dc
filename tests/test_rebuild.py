"""``RebuildFromMaster`` on small in-memory notebooks (no kernel, no nbgrader converter).

The student version (what ``generate_assignment`` writes to ``release/``) and a SQLite gradebook
holding the master's sources are written to ``tmp_path``; the preprocessor then rebuilds a
submission from them. What is graded must always be the master's cells in the master's order with
only the student's answers put in, whatever the student did to the rest.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader import utils
from nbgrader.api import Gradebook

from instructor.course import prepare_environment
from instructor.preprocessors import RebuildFromMaster

ASSIGNMENT, NOTEBOOK = "99_toy", "99_toy"
STUB = "# ここにコードを書いてください\nraise NotImplementedError()\n"
VISIBLE_TEST = 'check_close(double(3.0), 6.0, name="double(3.0)")\n'
HIDDEN = 'check_close(double(-1.5), -3.0, name="double(-1.5)")\n'
HIDDEN_TEST = f"{VISIBLE_TEST}### BEGIN HIDDEN TESTS\n{HIDDEN}### END HIDDEN TESTS\n"
IMPORTS = "from common.testing import check_close\n"
GIVEN = "x = np.linspace(-1, 1, 5)  # 配布したコード\n"


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _cell(kind, source, cell_id, **nbgrader):
    make = new_code_cell if kind == "code" else new_markdown_cell
    cell = make(source, metadata=_meta(**nbgrader) if nbgrader else {})
    cell.id = cell_id
    return cell


def student_version() -> nbformat.NotebookNode:
    """The release: stubs in the answer cells, hidden tests cut, checksums as nbgrader sets them."""
    nb = new_notebook(cells=[
        _cell("markdown", "# トイ課題", "intro"),
        _cell("code", IMPORTS, "imports", grade_id="imports", locked=True),
        _cell("code", GIVEN, "given"),
        _cell("code", STUB, "double-cell", grade_id="double", solution=True),
        _cell("code", VISIBLE_TEST, "double-test", grade_id="double_test", grade=True,
              locked=True, points=1),
        _cell("code", STUB, "triple-cell", grade_id="triple", solution=True),
        _cell("code", "# 隠しテスト (採点のときだけ実行されます)\n", "hidden",
              grade_id="double_hidden_test", grade=True, locked=True, points=1),
    ])
    for cell in nb.cells:
        if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell):
            cell.metadata.nbgrader["checksum"] = utils.compute_checksum(cell)
    return nb


# What the gradebook records of the master: locked cells with their full source (hidden tests in).
MASTER_SOURCES = {"imports": IMPORTS, "double_test": VISIBLE_TEST,
                  "double_hidden_test": f"# 隠しテスト (採点のときだけ実行されます)\n{HIDDEN_TEST}"}
ANSWERS = {"double": "def double(x):\n    return x + x\n",
           "triple": "def triple(x):\n    return 3 * x\n"}


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> tuple[Path, str]:
    """(folder holding release/, gradebook URL): the student version and the master's sources.

    Read only by the tests, so made once: nbgrader runs ``alembic`` to create a gradebook.
    """
    root = tmp_path_factory.mktemp("course")
    release = root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    release.parent.mkdir(parents=True)
    nbformat.write(student_version(), release)
    prepare_environment(root)  # nbgrader calls `alembic` by name: the venv's bin/ on PATH
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        gb.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
        for name, source in MASTER_SOURCES.items():
            gb.update_or_create_source_cell(name, NOTEBOOK, ASSIGNMENT, source=source,
                                            cell_type="code", locked=True)
    return root, db_url


@pytest.fixture
def course(released, tmp_path):
    """(preprocessor, resources, notes file)."""
    root, db_url = released
    notes = tmp_path / "notes.txt"
    step = RebuildFromMaster(notes_file=str(notes),
                             student_version=str(root / "release" / "{assignment}"
                                                 / "{notebook}.ipynb"))
    resources = {"nbgrader": {"assignment": ASSIGNMENT, "notebook": NOTEBOOK, "db_url": db_url}}
    return step, resources, notes


def answered(answers: dict[str, str] = ANSWERS) -> nbformat.NotebookNode:
    """The student version with ``answers`` (grade_id -> source) written in."""
    nb = student_version()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def rebuild(course, submission):
    step, resources, notes = course
    nb, _ = step.preprocess(copy.deepcopy(submission), resources)
    text = notes.read_text(encoding="utf-8") if notes.exists() else ""
    return nb, text.splitlines()


def expected(answers: dict[str, str] = ANSWERS) -> list[tuple[str, str]]:
    """(cell id, source) of the notebook to grade: the master's cells, the answers put in."""
    nb = student_version()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in MASTER_SOURCES:
            cell.source = MASTER_SOURCES[gid]
        elif gid in answers:
            cell.source = answers[gid]
    return [(c.id, c.source) for c in nb.cells]


def edited(nb, cell_ids: tuple[str, ...], source: str):
    """``nb`` with the cells of ``cell_ids`` given ``source`` (what a student typed over them)."""
    for cell in nb.cells:
        if cell.id in cell_ids:
            cell.source = source
    return nb


def cells(nb) -> list[tuple[str, str]]:
    return [(c.id, c.source) for c in nb.cells]


def test_an_untouched_answered_notebook_gets_the_hidden_tests_and_no_notes(course):
    nb, notes = rebuild(course, answered())
    assert cells(nb) == expected()
    assert HIDDEN in nb.cells[-1].source  # the gradebook's source, hidden tests included
    assert notes == []  # the cut hidden tests are not a "changed checksum"


def test_each_answer_is_taken_by_grade_id_whatever_the_order(course):
    sub = answered()
    sub.cells.reverse()
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected()
    assert notes == []


def test_a_changed_locked_cell_is_still_reported_and_graded_with_the_master(course):
    sub = edited(answered(), ("double-test", "hidden"), "pass  # テストを消しました\n")
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected()
    assert sorted(notes) == [
        f"Attribute 'checksum' for cell {gid} has changed! (locked cell edited by the student; "
        "graded with the master's version)" for gid in ("double_hidden_test", "double_test")]


def test_deleted_locked_cells_come_back_from_the_master(course):
    sub = answered()
    sub.cells = [c for c in sub.cells if c.id not in ("imports", "hidden")]
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected()
    assert notes == ["locked cells missing from the submission (restored from the master): "
                     "imports, double_hidden_test"]


def test_cells_the_student_added_are_dropped_and_counted(course):
    sub = answered()
    sub.cells.insert(4, _cell("code", "double = lambda x: 6.0  # テストをだます\n", "mine"))
    sub.cells.append(_cell("code", "print('hello')\n", "mine-2"))
    sub.cells.append(_cell("code", "   \n", "blank"))  # an empty cell is not counted
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected()
    assert notes == ["2 cell(s) added by the student were not run"]


def test_given_code_and_text_come_from_the_master(course):
    sub = edited(answered(), ("intro", "given"), "import os; os.remove('gradebook.db')\n")
    nb, _notes = rebuild(course, sub)
    assert cells(nb) == expected()


def test_a_deleted_answer_cell_is_graded_as_unanswered(course):
    sub = answered()
    sub.cells = [c for c in sub.cells if c.id != "triple-cell"]
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected({"double": ANSWERS["double"]})  # the stub stays: unanswered
    assert notes == ["answer cells not found, graded as unanswered: triple"]


def test_an_answer_whose_nbgrader_metadata_was_lost_is_found_by_cell_id(course):
    sub = answered()
    lost = next(c for c in sub.cells if c.id == "double-cell")
    lost.metadata = {}
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected()
    assert notes == ["double: found by cell id (nbgrader metadata missing)"]


def test_an_answer_cell_pasted_twice_grades_the_first(course):
    sub = answered()
    second = copy.deepcopy(next(c for c in sub.cells if c.id == "double-cell"))
    second.id, second.source = "double-again", "def double(x):\n    return 0\n"
    sub.cells.append(second)
    nb, notes = rebuild(course, sub)
    assert cells(nb) == expected()
    assert notes == ["cells pasted twice (the first one was graded): double"]


def test_without_a_gradebook_locked_cells_keep_the_student_version(course):
    step, resources, _notes = course
    resources = {"nbgrader": {**resources["nbgrader"], "db_url": ""}}
    nb, _ = step.preprocess(answered(), resources)
    release = student_version()
    assert [c.source for c in nb.cells if utils.is_locked(c)] == [
        c.source for c in release.cells if utils.is_locked(c)]
    assert HIDDEN not in "".join(c.source for c in nb.cells)
