"""``grades.csv`` and the ``make grades`` table, from the gradebook and the status records.

One row per (student, assignment), every student of the roster included: ``student_id``,
``assignment``, ``status``, ``score``, ``max_score``, ``notes``, then one column per test cell
(``<assignment>/<grade_id>``: the points that test gave; empty for other assignments' tests).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from instructor.grade import Course, Outcome

BASE_COLUMNS = ["student_id", "assignment", "status", "score", "max_score", "notes"]


def _test_columns(gb: Gradebook, assignments: list[str]) -> tuple[list[str], dict[str, float]]:
    """Every graded code cell, in assignment and notebook order, with its points."""
    columns, maxima = [], {}
    for name in assignments:
        try:
            assignment = gb.find_assignment(name)
        except MissingEntry:
            continue
        for notebook in assignment.notebooks:
            for cell in sorted(notebook.grade_cells, key=lambda c: c.id):
                if cell.cell_type == "code":
                    key = f"{name}/{cell.name}"
                    columns.append(key)
                    maxima[key] = cell.max_score
    return columns, maxima


def rows(course: Course, assignments: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """Header and rows of the grades table."""
    assignments = assignments or course.assignments()
    table = []
    with Gradebook(course.db_url, course.course_id) as gb:
        tests, _ = _test_columns(gb, assignments)
        for assignment in assignments:
            try:
                max_score = gb.find_assignment(assignment).max_score
            except MissingEntry:
                max_score = 0.0
            for student in course.students():
                record = course.read_record(student, assignment) or Outcome(
                    student, assignment, "missing")
                row = {"student_id": student, "assignment": assignment,
                       "status": record.status, "score": 0.0, "max_score": max_score,
                       "notes": "; ".join(record.notes)}
                if record.status == "graded":
                    submission = gb.find_submission(assignment, student)
                    row["score"] = submission.score
                    for nb in submission.notebooks:
                        for grade in nb.grades:
                            if grade.cell.cell_type == "code":
                                row[f"{assignment}/{grade.name}"] = grade.score
                table.append(row)
    table.sort(key=lambda r: (r["student_id"], assignments.index(r["assignment"])))
    return BASE_COLUMNS + tests, table


def write_csv(course: Course, path: Path, assignments: list[str] | None = None) -> int:
    """Write ``grades.csv`` atomically; returns the number of rows."""
    header, table = rows(course, assignments)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in row.items()})
    tmp = Path(f"{path}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return len(table)


def summary(course: Course, assignments: list[str] | None = None) -> str:
    """A per-student, per-assignment text table (score/max, or the status)."""
    assignments = assignments or course.assignments()
    _, table = rows(course, assignments)
    cells: dict[tuple[str, str], str] = {}
    for r in table:
        if r["status"] == "graded":
            text = f"{r['score']:g}/{r['max_score']:g}"
        else:
            text = r["status"].split(":")[0]
        cells[(r["student_id"], r["assignment"])] = text
    students = sorted({r["student_id"] for r in table})
    width = max([10, *map(len, students)])
    cols = [max(len(a), 8) for a in assignments]
    pairs = list(zip(assignments, cols, strict=True))
    lines = ["student".ljust(width) + "  " + "  ".join(a.ljust(w) for a, w in pairs)]
    for s in students:
        lines.append(s.ljust(width) + "  " + "  ".join(
            cells.get((s, a), "").ljust(w) for a, w in pairs))
    return "\n".join(lines)
