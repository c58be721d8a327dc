"""``intake.inspect``: what a student handed in, decided before nbgrader sees it (no kernel).

Each refusal path gets its status and the accepted paths their notes; ``inspect`` never writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from instructor.intake import TIMESTAMP, inspect

STUDENT, NAME = "s1234567", "01_gradient"
ANSWER = "def f(x):\n    return x ** 2\n"


def _notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(ANSWER)])


def _folder(submitted: Path) -> Path:
    folder = submitted / STUDENT / NAME
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def submitted(tmp_path):
    root = tmp_path / "submitted"
    root.mkdir()
    return root


def _inspect(submitted: Path, assignment: str = NAME):
    before = _snapshot(submitted)
    found = inspect(submitted, STUDENT, assignment)
    assert _snapshot(submitted) == before  # nothing written, nothing touched
    return found


# -- accepted --------------------------------------------------------------------------------
def test_the_expected_notebook_is_taken_and_other_notebooks_noted(submitted):
    folder = _folder(submitted)
    nbformat.write(_notebook(), folder / f"{NAME}.ipynb")
    nbformat.write(_notebook(), folder / "scratch.ipynb")
    (folder / TIMESTAMP).write_text("2026-01-01 00:00:00 UTC", encoding="utf-8")
    found = _inspect(submitted)
    assert found.status == "ok" and found.gradable
    assert found.source_file == folder / f"{NAME}.ipynb"
    assert found.notebook.cells[0].source == ANSWER
    assert found.notes == ["extra notebook ignored: scratch.ipynb"]


@pytest.mark.parametrize("renamed", [f"{NAME}-Copy1.ipynb", f"{NAME} (1).ipynb"])
def test_one_renamed_copy_is_graded_under_the_right_name(submitted, renamed):
    folder = _folder(submitted)
    nbformat.write(_notebook(), folder / renamed)
    nbformat.write(_notebook(), folder / "メモ.ipynb")
    found = _inspect(submitted)
    assert found.status == "ok" and found.source_file == folder / renamed
    assert found.notes == [f"renamed: {renamed} graded as {NAME}.ipynb",
                           "extra notebook ignored: メモ.ipynb"]


def test_a_notebook_without_cell_ids_gets_them_and_a_note(submitted):
    old = {"nbformat": 4, "nbformat_minor": 4, "metadata": {},
           "cells": [{"cell_type": "code", "source": ANSWER, "metadata": {}, "outputs": [],
                      "execution_count": None}]}
    (_folder(submitted) / f"{NAME}.ipynb").write_text(json.dumps(old), encoding="utf-8")
    found = _inspect(submitted)
    assert found.status == "ok"
    assert found.notes == ["cell ids added (notebook saved by an old Jupyter)"]
    assert found.notebook.nbformat_minor >= 5 and found.notebook.cells[0].get("id")
    assert found.notebook.cells[0].source == ANSWER


# -- nothing to grade ----------------------------------------------------------------------
def test_no_folder_is_missing(submitted):
    found = _inspect(submitted)
    assert (found.status, found.notes, found.gradable) == ("missing", [], False)


def test_an_empty_folder_or_only_a_timestamp_is_missing_with_a_note(submitted):
    folder = _folder(submitted)
    assert _inspect(submitted).status == "missing"
    (folder / TIMESTAMP).write_text("2026-01-01 00:00:00 UTC", encoding="utf-8")
    found = _inspect(submitted)
    assert (found.status, found.notes) == ("missing", ["submission folder is empty"])


def test_no_usable_notebook_names_what_was_there(submitted):
    folder = _folder(submitted)
    (folder / "answer.py").write_text(ANSWER, encoding="utf-8")
    nbformat.write(_notebook(), folder / "other.ipynb")
    found = _inspect(submitted)
    assert found.status == "unknown notebook: answer.py, other.ipynb"
    assert found.notes == [f"expected {NAME}.ipynb"] and not found.gradable


def test_two_renamed_copies_are_not_guessed_between(submitted):
    folder = _folder(submitted)
    for name in (f"{NAME}-Copy1.ipynb", f"{NAME}-Copy2.ipynb"):
        nbformat.write(_notebook(), folder / name)
    found = _inspect(submitted)
    assert found.status == f"unknown notebook: {NAME}-Copy1.ipynb, {NAME}-Copy2.ipynb"


def test_a_long_list_of_files_is_cut(submitted):
    folder = _folder(submitted)
    for i in range(60):
        (folder / f"file{i:02d}.txt").write_text("x", encoding="utf-8")
    assert len(_inspect(submitted).status) == len("unknown notebook: ") + 200


# -- refused: broken files -----------------------------------------------------------------
@pytest.mark.parametrize(("content", "status"), [
    (b"", "failed: notebook file is empty"),
    (b"  \n\t", "failed: notebook file is empty"),
    ('{"cells": "ノート"}'.encode("cp932"), "failed: notebook is not UTF-8 text"),
    (b'{"cells": [\n  {"cell_type": ', "failed: notebook is not valid JSON (line 2: "),
    (b"[1, 2, 3]", "failed: file is JSON but not a Jupyter notebook"),
    (b'{"cells": []}', "failed: file is JSON but not a Jupyter notebook"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                 "cells": [{"cell_type": "code", "id": "a", "source": 42}]}).encode(),
     "failed: not a valid notebook ("),
])
def test_a_broken_file_fails_with_its_reason(submitted, content, status):
    path = _folder(submitted) / f"{NAME}.ipynb"
    path.write_bytes(content)
    found = _inspect(submitted)
    assert found.status.startswith(status), found.status
    assert not found.gradable and found.notebook is None and found.source_file == path


# -- refused: symbolic links (never followed) ------------------------------------------------
def _elsewhere(tmp_path: Path) -> Path:
    """A valid notebook outside submitted/ (what a link would point at)."""
    target = tmp_path / "outside" / f"{NAME}.ipynb"
    target.parent.mkdir(exist_ok=True)
    nbformat.write(_notebook(), target)
    return target


def test_a_linked_student_folder_is_refused(submitted, tmp_path):
    real = _elsewhere(tmp_path).parent
    (real / NAME).mkdir()
    os.symlink(real, submitted / STUDENT)
    assert _inspect(submitted).status == (
        "failed: the submission folder is a symbolic link (not followed)")


def test_a_linked_assignment_folder_is_refused(submitted, tmp_path):
    (submitted / STUDENT).mkdir()
    os.symlink(_elsewhere(tmp_path).parent, submitted / STUDENT / NAME)
    assert _inspect(submitted).status == (
        "failed: the submission folder is a symbolic link (not followed)")


@pytest.mark.parametrize("name", [f"{NAME}.ipynb", f"{NAME}-Copy1.ipynb"])
def test_a_linked_notebook_is_refused(submitted, tmp_path, name):
    os.symlink(_elsewhere(tmp_path), _folder(submitted) / name)
    found = _inspect(submitted)
    assert found.status == f"failed: {name} is a symbolic link (not followed)"
    assert found.notebook is None
