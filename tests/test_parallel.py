"""Parallel grading (``make grade JOBS=n``) gives exactly the results of a sequential run.

The toy course (tests/toycourse.py) with a mixture of students — correct, wrong, unanswered,
missing, broken — is graded once with ``jobs=1`` and once with ``jobs=3`` in a copy; the grades
tables (every column: status, score, per-test scores, notes) and the status records must be
identical. The same mixture is graded in parallel against a real PostgreSQL gradebook
(tests/pgserver.py) and must give the same table again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from instructor import grade
from instructor.export import rows
from instructor.grade import Course
from tests import toycourse
from tests.procs import command_lines

pytest_plugins = ("tests.pgserver",)

NAME = "99_toy"


def _students(root: Path) -> None:
    answers = {
        "a-correct": toycourse.CORRECT_ANSWER,
        "b-wrong": toycourse.WRONG_ANSWER,
        "c-unanswered": None,
        "d-correct": toycourse.CORRECT_ANSWER.replace("x + x", "2 * x"),
        "e-wrong": toycourse.WRONG_ANSWER.replace("x * x", "x + 1"),
        "f-correct": toycourse.CORRECT_ANSWER,
    }
    for student, answer in answers.items():
        folder = root / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nb = (toycourse.release_notebook(root) if answer is None
              else toycourse.submission(root, NAME, answer))
        nbformat.write(nb, folder / f"{NAME}.ipynb")
    broken = root / "submitted" / "g-broken" / NAME
    broken.mkdir(parents=True)
    (broken / f"{NAME}.ipynb").write_text("{not json", encoding="utf-8")
    (root / "submitted" / "h-nothing").mkdir(parents=True)


def _table(course: Course) -> list[dict]:
    return rows(course, [NAME])[1]


def _differences(table: list[dict], reference: list[dict]) -> list[tuple[dict, dict]]:
    return [(a, b) for a, b in zip(table, reference, strict=False) if a != b] + (
        [({"rows": len(table)}, {"rows": len(reference)})] if len(table) != len(reference) else [])


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> list[dict]:
    root = toycourse.make_course(tmp_path_factory.mktemp("seq") / "course")
    _students(root)
    course = Course(root)
    course.grade_all([NAME], jobs=1)
    return _table(course)


def test_parallel_equals_sequential(sequential, tmp_path):
    root = toycourse.make_course(tmp_path / "course")
    _students(root)
    course = Course(root)
    outcomes = course.grade_all([NAME], jobs=3)
    assert [o.student for o in outcomes] == sorted(o.student for o in outcomes)
    assert _differences(_table(course), sequential) == []
    statuses = {r["student_id"]: r["status"] for r in sequential}
    assert statuses["a-correct"] == "graded" and statuses["g-broken"].startswith("failed: ")
    assert statuses["h-nothing"] == "missing"
    scores = {r["student_id"]: r["score"] for r in sequential}
    assert scores["a-correct"] == scores["d-correct"] == toycourse.TOTAL_POINTS
    assert scores["b-wrong"] == scores["c-unanswered"] == 0.0


def test_parallel_on_postgresql(sequential, tmp_path, db_url):
    root = toycourse.make_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    _students(root)
    course = Course(root)
    assert course.db_url.startswith("postgresql")
    course.grade_all([NAME], jobs=3)
    assert _differences(_table(course), sequential) == []


def _hold_lock(db: Path, seconds: float, ready: threading.Event) -> None:
    connection = sqlite3.connect(db, timeout=30)
    connection.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    connection.rollback()
    connection.close()


def test_a_busy_gradebook_is_waited_for(sequential, tmp_path):
    """Someone else holds the SQLite gradebook for a while: grading waits, nothing is lost."""
    root = toycourse.make_course(tmp_path / "course")
    _students(root)
    course = Course(root)
    course.sync_gradebook([NAME])
    ready = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(root / "gradebook.db", 4.0, ready))
    holder.start()
    ready.wait(10)
    try:
        course.grade_all([NAME], jobs=2)
    finally:
        holder.join()
    assert _differences(_table(course), sequential) == []


def _lock_after_first_record(root: Path, seconds: float) -> None:
    records = root / ".grading" / "status"
    deadline = time.monotonic() + 60
    while not list(records.glob("*/*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    _hold_lock(root / "gradebook.db", seconds, threading.Event())


def test_a_gradebook_locked_too_long_fails_only_the_submissions_graded_meanwhile(
        sequential, tmp_path, monkeypatch):
    root = toycourse.make_course(tmp_path / "course")
    _students(root)
    monkeypatch.setattr(grade, "SQLITE_BUSY_SECONDS", 1)
    course = Course(root)
    holder = threading.Thread(target=_lock_after_first_record, args=(root, 8.0))
    holder.start()
    try:
        outcomes = course.grade_all([NAME], jobs=1)  # the batch ends, whatever the lock does
    finally:
        holder.join()
    locked = [o.student for o in outcomes if "locked" in o.status]
    graded = [o.student for o in outcomes if o.status == "graded"]
    assert locked and graded, [o.status for o in outcomes]
    course.grade_all([NAME], jobs=2)  # lock gone: the next run completes the job
    assert _differences(_table(course), sequential) == []


def test_a_grader_killed_at_any_moment_is_completed_by_the_next_run(sequential, tmp_path):
    """`make grade` killed (the whole process group, as Ctrl-C in a terminal would not be
    gentle enough to test) while workers and kernels are busy: the next run gives the grades
    of one clean run, and nothing of the killed run survives."""
    root = toycourse.make_course(tmp_path / "course")
    _students(root)
    before = set(_sandboxes_of(root))
    env = {**os.environ, "PYTHONUTF8": "1"}
    run = subprocess.Popen([sys.executable, "-m", "instructor", "--root", str(root), "grade",
                            "--jobs", "2"], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = root / ".grading" / "status"
    deadline = time.monotonic() + 120
    while not list(records.glob("*/*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # more submissions in flight
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 10
    while set(_sandboxes_of(root)) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(_sandboxes_of(root)) - before == set()
    Course(root).grade_all([NAME], jobs=2)
    assert _differences(_table(Course(root)), sequential) == []


def _sandboxes_of(root: Path) -> list[int]:
    """Grading processes (workers, launchers, kernels) still running for the course."""
    return [pid for pid, cmdline in command_lines().items()
            if "instructor.agent" in cmdline or f"--root {root}" in cmdline]
