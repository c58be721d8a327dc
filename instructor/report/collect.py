"""What the report is made of, read from the course: gradebook, status records, graded notebooks.

- the gradebook (SQLite or PostgreSQL, any URL nbgrader takes): each assignment's test cells
  (code grade cells) with their points, and for every submission the points of each test and
  the total, read with a few SQL queries over nbgrader's own tables (not object by object: a
  class of 200 students has 1000 submissions);
- the status records of ``make grade`` (``Course.read_record``): ``graded``, ``missing``,
  ``failed: ...``, as in ``grades.csv`` (``instructor.export``);
- the graded notebooks (``autograded/<student>/<assignment>/``): why each failed test failed
  (``instructor.report.failures``).

Read only: a missing SQLite file is an empty gradebook (none is created), so a course with no
submissions yet gives an empty report; an assignment the gradebook does not know yet takes its
tests and full marks from its master notebook (``source/<a>/<a>.ipynb``). Tests are listed in
the master's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import (
    Assignment,
    Grade,
    GradeCell,
    Notebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from instructor.grade import Course, Outcome
from instructor.report.failures import read_failures


@dataclass(frozen=True)
class Test:
    """One test cell (a code grade cell) of an assignment."""

    __test__ = False  # not a pytest test class
    name: str  # grade_id
    points: float


@dataclass
class Submission:
    """One (student, assignment): its status and, when graded, its points and failures."""

    student: str
    assignment: str
    status: str  # as in grades.csv: graded, missing, unknown notebook: ..., failed: ...
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # test -> points it gave
    failures: dict[str, str] = field(default_factory=dict)  # failed test -> message
    feedback: str | None = None  # feedback page, relative to the course folder, if it exists

    @property
    def graded(self) -> bool:
        return self.status == "graded"


@dataclass
class ClassData:
    """Everything the report shows. ``submissions`` has one entry per (student, assignment)."""

    assignments: list[str]
    tests: dict[str, list[Test]]  # assignment -> its tests in notebook order
    max_scores: dict[str, float]  # assignment -> full marks (0 when not in the gradebook)
    students: list[str]
    submissions: list[Submission]


def _gradebook_exists(db_url: str) -> bool:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and url.database != ":memory:" and Path(url.database).is_file()


def _read_gradebook(db_url: str, assignments: list[str]):
    """(tests, max scores, roster, totals, scores) from the gradebook, in five queries.

    tests: assignment -> [(test, points)] (unordered); totals: (student, assignment) -> score;
    scores: (student, assignment) -> {test: points}.
    """
    tests: dict[str, list[tuple[str, float]]] = {a: [] for a in assignments}
    max_scores = dict.fromkeys(assignments, 0.0)
    if not _gradebook_exists(db_url):
        return tests, max_scores, [], {}, {}
    engine = create_engine(db_url)
    try:
        if "assignment" not in inspect(engine).get_table_names():
            return tests, max_scores, [], {}, {}
        with Session(engine) as db:
            wanted = Assignment.name.in_(assignments)
            for name, max_score in db.execute(
                    select(Assignment.name, Assignment.max_score).where(wanted)):
                max_scores[name] = float(max_score or 0.0)
            for name, test, points in db.execute(
                    select(Assignment.name, GradeCell.name, GradeCell.max_score)
                    .join(Notebook, GradeCell.notebook_id == Notebook.id)
                    .join(Assignment, Notebook.assignment_id == Assignment.id)
                    .where(wanted, GradeCell.cell_type == "code")):
                tests[name].append((test, float(points)))
            roster = list(db.scalars(select(Student.id)))
            totals = {(s, a): float(score or 0.0) for s, a, score in db.execute(
                select(SubmittedAssignment.student_id, Assignment.name,
                       SubmittedAssignment.score)
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .where(wanted))}
            scores: dict[tuple[str, str], dict[str, float]] = {}
            for student, name, test, score in db.execute(
                    select(SubmittedAssignment.student_id, Assignment.name, GradeCell.name,
                           Grade.score)
                    .join(GradeCell, Grade.cell_id == GradeCell.id)
                    .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                    .join(SubmittedAssignment,
                          SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                    .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                    .where(wanted, GradeCell.cell_type == "code")):
                scores.setdefault((student, name), {})[test] = float(score or 0.0)
    finally:
        engine.dispose()
    return tests, max_scores, roster, totals, scores


def _master_cells(master: Path) -> list[tuple[str, float, bool]]:
    """(grade_id, points, is a test) of the graded cells of a master, in notebook order.

    A test is a graded code cell. Empty when the master cannot be read.
    """
    try:
        cells = json.loads(master.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return []
    found = []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and meta.get("grade_id"):
            found.append((meta["grade_id"], float(meta.get("points", 0.0)),
                          cell.get("cell_type") == "code"))
    return found


def collect(course: Course, assignments: list[str] | None = None) -> ClassData:
    """Read the class's results for ``assignments`` (default: all of the course's)."""
    assignments = assignments or course.assignments()
    raw_tests, max_scores, roster, totals, scores = _read_gradebook(course.db_url, assignments)
    tests = {}
    for name in assignments:
        master = _master_cells(course.master(name))
        if not raw_tests[name]:  # not graded yet: the gradebook does not know it, the master does
            raw_tests[name] = [(grade_id, points) for grade_id, points, test in master if test]
            max_scores[name] = sum(points for _, points, _ in master)
        order = {grade_id: i for i, (grade_id, _, _) in enumerate(master)}
        ranked = sorted(raw_tests[name], key=lambda t: (order.get(t[0], len(order)), t[0]))
        tests[name] = [Test(test, points) for test, points in ranked]
    students = sorted(course.submitted_students() | set(roster))
    submissions = []
    for student in students:
        for name in assignments:
            record = course.read_record(student, name) or Outcome(student, name, "missing")
            sub = Submission(student, name, record.status)
            if sub.graded:
                sub.score = totals.get((student, name), 0.0)
                given = scores.get((student, name), {})
                sub.scores = {t.name: given.get(t.name, 0.0) for t in tests[name]}
                failed = {t.name for t in tests[name] if sub.scores[t.name] < t.points}
                if failed:
                    sub.failures = read_failures(course.autograded / student / name, failed)
                page = course.feedback / student / name / f"{name}.html"
                if page.is_file():
                    sub.feedback = page.relative_to(course.root).as_posix()
            submissions.append(sub)
    return ClassData(assignments, tests, max_scores, students, submissions)
