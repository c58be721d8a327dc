"""``make grade`` as the instructor sees it, on the toy course (tests/toycourse.py).

One run of ``python -m instructor grade`` in a subprocess over four students: the official
solution, a wrong answer whose visible test cell was edited into ``pass`` (tampering), a wrong
answer with that test cell deleted, and a roster student who handed nothing in. Checked: the
terminal shows a progress bar and a short summary and none of nbgrader's chatter, which goes
to ``.grading/grade.log``; nbgrader's "Attribute 'checksum' ... has changed!" appears for the
tampered cell only (not for untouched test cells with hidden tests); ``grades.csv`` has the
test columns in notebook order and the assignment's maximum on every row, also for an
assignment that was never graded.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from tests import toycourse
from tests.nbrun import ROOT

NAME = "99_toy"
UNGRADED = "98_later"  # a second master, never graded in this run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = toycourse.make_course(tmp_path_factory.mktemp("console"), NAME)
    later = course / "source" / UNGRADED
    later.mkdir(parents=True)
    shutil.copyfile(course / "source" / NAME / f"{NAME}.ipynb", later / f"{UNGRADED}.ipynb")
    for student, answer, tamper in (("solution", toycourse.CORRECT_ANSWER, None),
                                    ("tamperer", toycourse.WRONG_ANSWER, "edit"),
                                    ("deleter", toycourse.WRONG_ANSWER, "delete")):
        nb = toycourse.submission(course, NAME, answer)
        test = next(c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == toycourse.TEST_IDS[0])
        if tamper == "edit":
            test.source = "pass  # テストを消しました"
        elif tamper == "delete":
            nb.cells.remove(test)
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NAME}.ipynb")
    config = course / "gradebook.db"
    with Gradebook(f"sqlite:///{config}", "kobai-enshu") as gb:
        gb.update_or_create_student("absent")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONUTF8": "1"}
    proc = subprocess.run([sys.executable, "-m", "instructor", "--root", str(course), "grade",
                           "--jobs", "1", NAME], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(course / "grades.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    log = (course / ".grading" / "grade.log").read_text(encoding="utf-8")
    return {"course": course, "out": proc.stdout, "err": proc.stderr, "rows": rows, "log": log}


def test_terminal_shows_a_progress_bar_and_a_summary(run):
    assert "grading: 100%" in run["err"] and "4/4" in run["err"], run["err"]
    out = run["out"]
    assert "4 submission(s): 3 graded, 0 failed, 1 missing" in out, out
    course = run["course"]
    assert f"grades:   {course / 'grades.csv'}" in out, out
    assert "solution" in out.split("4 submission(s)")[0], out  # the short table comes first
    assert f"feedback: {course / 'feedback'}" in out, out
    assert f"log:      {course / '.grading' / 'grade.log'}" in out, out


def test_nbgrader_chatter_goes_to_the_log_file_only(run):
    terminal = run["out"] + run["err"]
    for noise in ("traitlets", "Converting notebook", "IPKernelApp", "checksum", "WARNING"):
        assert noise not in terminal, (noise, terminal)
    assert "Converting notebook" in run["log"] and "Writing" in run["log"]


def test_no_display_data_priority_warning(run):
    assert "display_data_priority" not in run["log"]


def test_checksum_warning_only_for_the_tampered_cell(run):
    warnings = [line for line in run["log"].splitlines() if "Attribute 'checksum'" in line]
    assert len(warnings) == 1, warnings
    assert f"cell {toycourse.TEST_IDS[0]} " in warnings[0], warnings
    notes = {r["student_id"]: r["notes"] for r in run["rows"] if r["assignment"] == NAME}
    assert "Attribute 'checksum' for cell double_test" in notes["tamperer"], notes
    assert notes["solution"] == "", notes
    assert "locked cells missing from the submission (restored from the master): double_test" \
        in notes["deleter"], notes
    assert "checksum" not in notes["deleter"], notes


def test_tampering_does_not_pay(run):
    scores = {r["student_id"]: r["score"] for r in run["rows"] if r["assignment"] == NAME}
    assert scores == {"solution": "2", "tamperer": "0", "deleter": "0", "absent": "0"}, scores


def test_grades_csv_columns_in_notebook_order(run):
    with open(run["course"] / "grades.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    tests = [h for h in header if h.startswith(f"{NAME}/")]
    assert tests == [f"{NAME}/{t}" for t in toycourse.TEST_IDS], header
    later = [h for h in header if h.startswith(f"{UNGRADED}/")]
    assert later == [f"{UNGRADED}/{t}" for t in toycourse.TEST_IDS], header


def test_missing_rows_carry_the_assignment_max_score(run):
    for row in run["rows"]:
        assert row["max_score"] == f"{toycourse.TOTAL_POINTS:g}", row
    absent = [r for r in run["rows"] if r["student_id"] == "absent"]
    assert {r["status"] for r in absent} == {"missing"} and len(absent) == 2, absent
