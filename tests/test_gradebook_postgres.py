"""nbgrader's own ``Gradebook`` on a real PostgreSQL server (``tests/pgserver.py``).

One database is made the way nbgrader makes one (``Gradebook(db_url, course_id)``: the tables,
then ``alembic_version`` stamped with ``alembic heads``), filled with an assignment, a notebook
with grade cells, students and their submissions. Then two processes, each with its own
``Gradebook``, write auto scores at the same time (20 commits each, to the same submissions)
and the scores and totals read back afterwards must hold every write. ``nbgrader db upgrade``
(alembic) must find the database at head and leave it as it is.

The server starts in under 1 s (see ``tests/pgserver.py``); most of this module's ~12 s goes
to nbgrader itself: ``alembic heads`` in a subprocess when a new gradebook is made (~3 s), the
alembic run of the upgrade check, and the two workers' Gradebooks.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from pathlib import Path

import pytest

pytest_plugins = ("tests.pgserver",)
# nbgrader's add_submission trips this in SQLAlchemy 2.x, on SQLite as well (nbgrader's own code).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Object of type <Submitted.*not in session:sqlalchemy.exc.SAWarning")

COURSE = "kobai"
ASSIGNMENT = "ps1"
NOTEBOOK = "problem1"
CELLS = ("c1", "c2", "c3", "c4")
MAX_SCORE = 2.0
STUDENTS = tuple(f"s{i:02d}" for i in range(10))
WORKER_CELLS = (CELLS[:2], CELLS[2:])  # each worker writes 10 students x 2 cells = 20 scores


def expected_score(student: str, cell: str) -> float:
    """The auto score the workers write: 0.5, 1.0, 1.5 or 2.0, different across the grid."""
    return 0.5 * (1 + (STUDENTS.index(student) + CELLS.index(cell)) % 4)


@pytest.fixture(scope="module")
def gradebook_url(pg_server):
    """A PostgreSQL gradebook with the assignment, its grade cells, students and submissions.

    Made once for the module (a new gradebook costs ~3 s of ``alembic heads``); only
    ``test_concurrent_auto_scores_are_all_kept`` writes scores into it.
    """
    from nbgrader.api import Gradebook

    db_url = pg_server.create_database()
    with pytest.MonkeyPatch.context() as mp:
        # nbgrader runs `alembic` by name: the venv's bin/ must be on PATH.
        mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
        with Gradebook(db_url, course_id=COURSE) as gb:
            gb.add_assignment(ASSIGNMENT)
            gb.add_notebook(NOTEBOOK, ASSIGNMENT)
            for cell in CELLS:
                gb.add_grade_cell(cell, NOTEBOOK, ASSIGNMENT, max_score=MAX_SCORE,
                                  cell_type="code")
            for student in STUDENTS:
                gb.add_student(student, first_name=f"名{student}", last_name="学生")
                gb.add_submission(ASSIGNMENT, student)
            gb.engine.dispose()
        yield db_url


def write_scores(db_url: str, cells: tuple[str, ...], barrier, results) -> None:
    """Worker: open a Gradebook and commit one auto score per (student, cell)."""
    try:
        from nbgrader.api import Gradebook

        written = 0
        with Gradebook(db_url, course_id=COURSE) as gb:
            barrier.wait(timeout=60)  # both workers are connected: now write together
            for student in STUDENTS:
                for cell in cells:
                    grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, student)
                    grade.auto_score = expected_score(student, cell)
                    gb.db.commit()
                    written += 1
            gb.engine.dispose()
        results.put(("ok", cells, written))
    except BaseException:
        results.put(("error", cells, traceback.format_exc()))
        raise


def test_db_url_is_a_fresh_database(db_url, pg_server):
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()
    assert db_url == pg_server.url(name)
    assert db_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{pg_server.port}/")


def test_gradebook_is_made_at_alembic_head(gradebook_url):
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil
    from nbgrader.api import Gradebook

    engine = sa.create_engine(gradebook_url)
    try:
        with engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert version == [(ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head(),)]
    with Gradebook(gradebook_url, course_id=COURSE) as gb:  # reopening keeps everything
        assert [s.id for s in gb.students] == list(STUDENTS)
        assert gb.find_assignment(ASSIGNMENT).max_score == MAX_SCORE * len(CELLS)
        assert gb.find_student("s03").first_name == "名s03"


def test_nbgrader_db_upgrade_leaves_it_at_head(gradebook_url, monkeypatch):
    from nbgrader import dbutil
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    dbutil.upgrade(gradebook_url)  # what `nbgrader db upgrade` runs: alembic upgrade head
    with Gradebook(gradebook_url, course_id=COURSE) as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(STUDENTS)


def test_concurrent_auto_scores_are_all_kept(gradebook_url):
    from nbgrader.api import Gradebook

    # fork: the workers start with nbgrader imported (spawn re-imports it, ~3 s each on a busy
    # machine). Each opens its own Gradebook, so its own engine and connections; the parent holds
    # no open connection to hand down (the fixture disposed of its engine).
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(WORKER_CELLS))
    results = ctx.Queue()
    workers = [ctx.Process(target=write_scores, args=(gradebook_url, cells, barrier, results))
               for cells in WORKER_CELLS]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=90) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    errors = [report[2] for report in reports if report[0] != "ok"]
    assert not errors, "\n".join(errors)
    assert sorted(report[2] for report in reports) == [2 * len(STUDENTS)] * 2
    assert [worker.exitcode for worker in workers] == [0, 0]

    with Gradebook(gradebook_url, course_id=COURSE) as gb:
        for student in STUDENTS:
            for cell in CELLS:
                grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, student)
                assert grade.auto_score == expected_score(student, cell), (student, cell)
                assert grade.manual_score is None
        totals = {s: sum(expected_score(s, c) for c in CELLS) for s in STUDENTS}
        for student in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, student)
            assert submission.score == pytest.approx(totals[student]), student
            assert submission.max_score == MAX_SCORE * len(CELLS)
            notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
            assert notebook.score == pytest.approx(totals[student]), student
        assert gb.average_assignment_score(ASSIGNMENT) == pytest.approx(
            sum(totals.values()) / len(STUDENTS))
        rows = {row["student"]: row["score"] for row in gb.submission_dicts(ASSIGNMENT)}
        assert rows == pytest.approx(totals)
