"""Benchmark: ``python -m instructor report`` on a graded class of N students × 5 assignments.

Usage (from the course folder):
    .venv/bin/python -m benchmarks.report_class [--students 200] [--postgres]

Builds a throwaway course that looks graded, without running any notebook: the masters are
recorded in the gradebook (``Course.sync_gradebook``), every student is given a submission of
every assignment through nbgrader's ``Gradebook.add_submission`` with auto scores drawn per test
(a fixed seed; about 90 % graded, 7 % missing, 3 % failed), a graded notebook in
``autograded/`` (the solution notebook, each failed test cell's output replaced by a
``CheckFailed`` error with one of a few causes), a feedback page and the status record
``make grade`` writes. Then times ``instructor.report.build`` (best of 3 and each run), split
into reading (``collect``) and the rest (numbers, figures, page, CSVs).
With ``--postgres`` the gradebook is a database on a throwaway PostgreSQL server
(``tests/pgserver.py``). Numbers, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from nbgrader.api import Gradebook

from instructor.grade import Course, Outcome
from instructor.report import build
from instructor.report.collect import collect
from tests.nbrun import ROOT, assignment_names

CAUSES = ["前進差分になっていませんか?", "h が小さすぎませんか?",
          "引数の配列を書き換えていませんか?", "return を書き忘れていませんか?"]


def _error(cause: str) -> dict:
    return {"output_type": "error", "ename": "CheckFailed",
            "evalue": "チェック: 値\n  期待した結果: 1\n  あなたの結果: 2\n"
                      f"  考えられる原因: {cause}",
            "traceback": ["CheckFailed: テストに合格しませんでした"]}


def make_class(course: Path, students: int, db_url: str | None) -> None:
    for kind in ("source", "release"):
        shutil.copytree(ROOT / kind, course / kind)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    if db_url:
        with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    grader = Course(course, unsafe=True)
    names = assignment_names(course)
    grader.sync_gradebook(names)
    rng = np.random.default_rng(0)
    ids = [f"s{i:04d}" for i in range(students)]
    templates = {n: json.loads((ROOT / "solutions" / n / f"{n}.ipynb").read_text("utf-8"))
                 for n in names}
    with Gradebook(grader.db_url, grader.course_id) as gb:
        for student in ids:
            gb.update_or_create_student(student)
        for name in names:
            for student in ids:
                draw = rng.random()
                status = "graded" if draw < 0.90 else "missing" if draw < 0.97 else \
                    "failed: notebook is not valid JSON"
                grader._write_record(Outcome(student, name, status))
                if status != "graded":
                    continue
                sub = gb.add_submission(name, student)
                failed = {}
                for grade in sub.notebooks[0].grades:
                    if grade.cell.cell_type != "code":
                        continue
                    ok = rng.random() < 0.75
                    grade.auto_score = grade.max_score if ok else 0.0
                    grade.needs_manual_grade = False
                    if not ok:
                        failed[grade.name] = CAUSES[int(rng.integers(len(CAUSES)))]
                gb.db.commit()
                nb = json.loads(json.dumps(templates[name]))
                for cell in nb["cells"]:
                    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    if gid in failed:
                        cell["outputs"] = [_error(failed[gid])]
                folder = course / "autograded" / student / name
                folder.mkdir(parents=True)
                (folder / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
                page = course / "feedback" / student / name / f"{name}.html"
                page.parent.mkdir(parents=True)
                page.write_text("<html><body>feedback</body></html>", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="gradebook on PostgreSQL")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the report folder here afterwards (to look at the page)")
    parser.add_argument("--profile", action="store_true",
                        help="also print where one build spends its time (cProfile)")
    args = parser.parse_args()
    os.environ["PATH"] = str(Path(os.sys.executable).parent) + os.pathsep + os.environ["PATH"]
    with contextlib.ExitStack() as stack:
        db_url = None
        if args.postgres:
            from tests.pgserver import postgres_server

            db_url = stack.enter_context(postgres_server()).create_database()
        course = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kobai-report-")))
        began = time.perf_counter()
        make_class(course, args.students, db_url)
        print(f"built a graded class of {args.students} students x "
              f"{len(assignment_names(course))} assignments in {time.perf_counter() - began:.1f} s "
              f"({'PostgreSQL' if db_url else 'SQLite'} gradebook)")
        grader = Course(course, unsafe=True)
        runs, reads = [], []
        for _ in range(3):
            began = time.perf_counter()
            data = collect(grader)
            reads.append(time.perf_counter() - began)
            began = time.perf_counter()
            page = build(grader)
            runs.append(time.perf_counter() - began)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(build, grader)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        if args.keep:
            shutil.copytree(course, args.keep, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("autograded", "source", "release"))
            print(f"kept the course (without notebooks) in {args.keep}")
        graded = sum(s.graded for s in data.submissions)
        print(f"submissions: {len(data.submissions)} ({graded} graded)")
        print(f"collect (gradebook + records + graded notebooks): "
              f"{', '.join(f'{t:.2f}' for t in reads)} s")
        print(f"report build (collect + stats + figures + page + CSVs): "
              f"{', '.join(f'{t:.2f}' for t in runs)} s; best {min(runs):.2f} s")
        print(f"page: {page.stat().st_size / 1e6:.2f} MB; "
              f"mistakes.csv: {(page.parent / 'mistakes.csv').stat().st_size} bytes")


if __name__ == "__main__":
    main()
