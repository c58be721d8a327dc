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

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from instructor.grade import Course, Outcome

BASE_COLUMNS = ["student_id", "assignment", "status", "score", "max_score", "notes"]


def master_cells(course: Course, assignment: str) -> list[tuple[str, str, float]]:
    """(cell type, grade_id, points) of every graded cell of the master, in notebook order.

    Notebooks in name order, cells in the order the student sees them; [] when the assignment
    has no master.
    """
    cells = []
    for path in sorted((course.root / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and meta.get("grade_id"):
                cells.append((cell.cell_type, meta["grade_id"], float(meta.get("points", 0))))
    return cells


def _test_columns(course: Course, gb: Gradebook, assignments: list[str]
                  ) -> tuple[list[str], dict[str, float]]:
    """Every graded code cell, in assignment and notebook order, and each assignment's maximum.

    The order is the master's (the gradebook keeps no cell order); a test cell the gradebook
    has but the master no longer has comes last. The maximum is the gradebook's, or the
    master's points when the assignment was never graded (``make grade ASSIGNMENT=...``).
    """
    columns, maxima = [], {}
    for name in assignments:
        in_master = master_cells(course, name)
        maxima[name] = sum(points for _, _, points in in_master)
        order = {grade_id: i for i, (_, grade_id, _) in enumerate(in_master)}
        names = [grade_id for kind, grade_id, _ in in_master if kind == "code"]
        try:
            assignment = gb.find_assignment(name)
        except MissingEntry:
            assignment = None
        if assignment is not None and assignment.notebooks:
            maxima[name] = assignment.max_score
            graded = [cell.name for notebook in assignment.notebooks
                      for cell in notebook.grade_cells if cell.cell_type == "code"]
            names = sorted(graded, key=lambda g: (order.get(g, len(order)), g))
        columns += [f"{name}/{grade_id}" for grade_id in names]
    return columns, maxima


def rows(course: Course, assignments: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """Header and rows of the grades table."""
    assignments = assignments or course.assignments()
    table = []
    with Gradebook(course.db_url, course.course_id) as gb:
        tests, maxima = _test_columns(course, gb, assignments)
        for assignment in assignments:
            max_score = maxima[assignment]
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
