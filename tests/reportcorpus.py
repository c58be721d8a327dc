"""A small graded course for the report tests: a few correct answers, typical mistakes of
``tests/cases/``, an untouched release, a missing and a broken submission.

``make_submissions(course)`` writes ``source/``, ``release/``, ``nbgrader_config.py`` (with
``db_url`` if given) and ``submitted/`` into ``course`` and returns what each student handed in;
``grade(course)`` grades them all with ``instructor.grade`` (about a dozen notebooks) and writes
``grades.csv``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from instructor.export import write_csv
from instructor.grade import Course
from tests.nbrun import ROOT, load_cases, submission

FIRST, SECOND = "01_gradient", "03_simplenet"
# (student, assignment, case): "solution", "untouched", a CORRECT or a MISTAKES case name
SUBMISSIONS = [
    ("s01", FIRST, "solution"),
    ("s02", FIRST, "book_style"),
    ("s03", FIRST, "forward_difference"),
    ("s04", FIRST, "forward_difference"),
    ("s05", FIRST, "h_too_small"),
    ("s06", FIRST, "gradient_forward_difference"),
    ("s07", FIRST, "untouched"),
    ("s01", SECOND, "solution"),
    ("s03", SECOND, "softmax_missing"),
]
EMPTY = ("s08", FIRST)  # an empty file: failed
ROSTER_ONLY = "s09"  # on the roster, never submitted: missing everywhere


@dataclass(frozen=True)
class Mistake:
    student: str
    assignment: str
    fails: tuple[str, ...]  # tests the mistake fails
    message: str  # a part of the cause one of those tests prints


def make_submissions(course: Path, db_url: str | None = None) -> list[Mistake]:
    """The course folder with its submissions; the mistakes they hold."""
    for kind in ("source", "release"):  # two assignments only: a small grading run
        for name in (FIRST, SECOND):
            shutil.copytree(ROOT / kind / name, course / kind / name)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    if db_url:
        with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    mistakes = []
    for student, name, case in SUBMISSIONS:
        cases = load_cases(name)
        if case == "solution":
            nb = submission(name, {})
        elif case == "untouched":
            nb = submission(name, None)
        elif case in cases["CORRECT"]:
            nb = submission(name, cases["CORRECT"][case])
        else:
            mistake = cases["MISTAKES"][case]
            nb = submission(name, mistake["cells"])
            mistakes.append(Mistake(student, name, tuple(mistake["fails"]), mistake["message"]))
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{name}.ipynb")
    student, name = EMPTY
    (course / "submitted" / student / name).mkdir(parents=True)
    (course / "submitted" / student / name / f"{name}.ipynb").write_text("", encoding="utf-8")
    return mistakes


def grade(course: Path) -> Course:
    """Grade every submission (one at a time: the machine is shared) and write grades.csv."""
    grader = Course(course)
    with Gradebook(grader.db_url, grader.course_id) as gb:
        gb.update_or_create_student(ROSTER_ONLY)
    grader.grade_all(jobs=1)
    write_csv(grader, course / "grades.csv")
    return grader
