"""End to end: `python -m instructor grade` over a corpus of submissions in a temporary course.

One grading run (module fixture) covers:
- the solution -> full marks; the untouched release -> 0 (every test cell);
- every correct answer of tests/cases/<assignment>.py -> full marks;
- every typical mistake -> exactly its targeted test cells lose their points, and the feedback
  HTML shows that test's Japanese message;
- broken submissions (renamed, extra notebook, only a .py, empty, invalid JSON, no cell ids)
  -> the right status and a clear note, while the batch goes on;
- feedback never contains a line of a hidden test; re-running changes nothing.
"""

from __future__ import annotations

import copy
import csv
import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from instructor.export import write_csv
from instructor.grade import Course
from tests.nbrun import (
    ROOT,
    assignment_names,
    grade_id,
    hidden_lines,
    load_cases,
    notebook_path,
    read,
    solution_sources,
    submission,
)

# Assignments with a student version (test_assignments fails when a master has none).
NAMES = [n for n in assignment_names() if notebook_path("release", n).is_file()]
FIRST = NAMES[0] if NAMES else None


def _submit(course: Path, student: str, name: str, files: dict[str, object]) -> None:
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    for filename, content in files.items():
        path = folder / filename
        if isinstance(content, nbformat.NotebookNode):
            nbformat.write(content, path)
        else:
            path.write_text(str(content), encoding="utf-8")


def _text(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    for item in ("source", "release", "nbgrader_config.py"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / item)
    expected = {}  # student -> (assignment, set of failing tests or "all"/"none", message)
    for name in NAMES:
        cases = load_cases(name)
        _submit(course, f"solution--{name}", name, {f"{name}.ipynb": submission(name, {})})
        expected[f"solution--{name}"] = (name, "none", None)
        _submit(course, f"untouched--{name}", name, {f"{name}.ipynb": submission(name, None)})
        expected[f"untouched--{name}"] = (name, "all", None)
        for case, cells in cases["CORRECT"].items():
            student = f"ok-{case}--{name}"
            _submit(course, student, name, {f"{name}.ipynb": submission(name, cells)})
            expected[student] = (name, "none", None)
        for case, mistake in cases["MISTAKES"].items():
            student = f"ng-{case}--{name}"
            _submit(course, student, name,
                    {f"{name}.ipynb": submission(name, mistake["cells"])})
            expected[student] = (name, set(mistake["fails"]), mistake["message"])
    # A correct answer that prints a RuntimeWarning on stderr while the tests run: no points lost.
    first_id, first_src = next(iter(solution_sources(FIRST).items()))
    head, body = first_src.split("\n", 1)
    assert head.startswith("def "), head
    noisy = f'{head}\n    __import__("warnings").warn("harmless", RuntimeWarning)\n{body}'
    _submit(course, "ok-warning", FIRST, {f"{FIRST}.ipynb": submission(FIRST, {first_id: noisy})})
    expected["ok-warning"] = (FIRST, "none", None)
    # Broken submissions, all on the first assignment.
    good = submission(FIRST, {})
    no_ids = copy.deepcopy(good)
    no_ids.nbformat_minor = 4
    for cell in no_ids.cells:
        cell.pop("id", None)
    broken = {
        "renamed": {f"{FIRST}-Copy1.ipynb": good},
        "extra": {f"{FIRST}.ipynb": good, "scratch.ipynb": good},
        "pyonly": {"answer.py": "def f(x):\n    return x\n"},
        "empty": {f"{FIRST}.ipynb": ""},
        "badjson": {f"{FIRST}.ipynb": '{"cells": [ {"cell_type": '},
        "noids": {f"{FIRST}.ipynb": nbformat.writes(no_ids, version=4)},
    }
    for student, files in broken.items():
        _submit(course, student, FIRST, files)
    grader = Course(course)
    outcomes = grader.grade_all()
    write_csv(grader, course / "grades.csv")
    with open(course / "grades.csv", encoding="utf-8") as fh:
        table = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    return {"course": course, "grader": grader, "outcomes": outcomes, "table": table,
            "expected": expected}


def _tests_of(name: str) -> list[str]:
    return [grade_id(c) for c in read("source", name).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def test_corpus_scores_and_messages(graded):
    table, course = graded["table"], graded["course"]
    problems = []
    for student, (name, fails, message) in graded["expected"].items():
        row = table[(student, name)]
        if row["status"] != "graded":
            problems.append(f"{student}: status {row['status']}")
            continue
        failing = {t for t in _tests_of(name) if float(row[f"{name}/{t}"]) == 0.0}
        want = set(_tests_of(name)) if fails == "all" else (set() if fails == "none" else fails)
        if failing != want:
            problems.append(f"{student}: failing {sorted(failing)}, expected {sorted(want)}")
        if fails == "none" and float(row["score"]) != float(row["max_score"]):
            problems.append(f"{student}: {row['score']}/{row['max_score']}")
        if message:
            feedback = course / "feedback" / student / name / f"{name}.html"
            if message not in _text(feedback.read_text(encoding="utf-8")):
                problems.append(f"{student}: message {message!r} not in feedback")
    assert not problems, "\n".join(problems)


def test_feedback_never_shows_hidden_tests(graded):
    course = graded["course"]
    leaks = []
    for name in NAMES:
        hidden = hidden_lines(name)
        assert hidden, f"{name} has no hidden tests"
        for page in (course / "feedback").glob(f"*/{name}/{name}.html"):
            text = _text(page.read_text(encoding="utf-8"))
            leaks += [f"{page.parent.parent.name}: {line}" for line in hidden if line in text]
    assert not leaks, "\n".join(leaks[:20])


@pytest.mark.parametrize(("student", "status", "note"), [
    ("renamed", "graded", "renamed"),
    ("extra", "graded", "extra notebook ignored: scratch.ipynb"),
    ("pyonly", "unknown notebook: answer.py", "expected"),
    ("empty", "failed: notebook file is empty", None),
    ("badjson", "failed: notebook is not valid JSON", None),
    ("noids", "graded", "cell ids added"),
])
def test_broken_submissions_get_a_clear_status(graded, student, status, note):
    row = graded["table"][(student, FIRST)]
    assert row["status"].startswith(status), row
    if note:
        assert note in row["notes"], row
    if row["status"] == "graded":
        assert float(row["score"]) == float(row["max_score"]), row


def test_every_student_has_a_row_for_every_assignment(graded):
    table = graded["table"]
    students = {s for s, _ in table}
    assert {(s, a) for s in students for a in NAMES} == set(table)
    assert table[("renamed", NAMES[-1])]["status"] == "missing"  # submitted only the first


def test_regrading_is_idempotent(graded):
    grader, course = graded["grader"], graded["course"]
    before = (course / "grades.csv").read_bytes()
    pages = {p: p.read_bytes() for p in (course / "feedback").rglob("*.html")}
    again = grader.grade_all()
    assert [o.status for o in again] == [o.status for o in graded["outcomes"]]
    write_csv(grader, course / "grades.csv")
    assert (course / "grades.csv").read_bytes() == before
    assert {p: p.read_bytes() for p in (course / "feedback").rglob("*.html")} == pages


def test_a_run_killed_half_way_is_completed_by_the_next(graded):
    """Simulate a kill after autograde wrote part of its output but before the status record."""
    grader, course = graded["grader"], graded["course"]
    before = (course / "grades.csv").read_bytes()
    student = f"solution--{FIRST}"
    record = course / ".grading" / "status" / student / f"{FIRST}.json"
    record.unlink()
    half = course / "autograded" / student / FIRST / f"{FIRST}.ipynb"
    half.write_text(half.read_text(encoding="utf-8")[:500], encoding="utf-8")
    (course / "feedback" / student / FIRST / f"{FIRST}.html").unlink()
    again = {(o.student, o.assignment): o.status for o in grader.grade_all()}
    assert again[(student, FIRST)] == "graded"
    assert record.is_file()
    write_csv(grader, course / "grades.csv")
    assert (course / "grades.csv").read_bytes() == before
    assert (course / "feedback" / student / FIRST / f"{FIRST}.html").is_file()
