"""Benchmark: grading one student's five correct notebooks vs `jupyter execute` of the same five.

Usage (from the course folder): .venv/bin/python -m benchmarks.grade_one_student [--repeat 3]

Builds a throwaway course (source/, release/, config) in a temporary folder, submits the solution
of every assignment for one student, then in the same run times:
  (a) `jupyter execute` of the five submitted notebooks (the floor: one CLI, one kernel each);
  (b) `python -m instructor grade --force` in the new course (cold: it also records the five
      masters in a new gradebook, a once-per-course cost);
  (c) the same command again (warm: gradebook ready, every notebook regraded) — the cost of
      grading a student in a course already in use.
Prints seconds and the ratios (b)/(a), (c)/(a).
Numbers, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from tests.nbrun import ROOT, assignment_names, submission


def empty_course(course: Path) -> Path:
    """A new course folder at ``course``: this repo's source/, release/ and nbgrader_config.py."""
    course.mkdir(parents=True)
    for item in ("source", "release", "nbgrader_config.py"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / item)
    return course


def cli_env(extra: dict | None = None) -> dict[str, str]:
    """The environment of a timed command: UTF-8, the venv's bin/ first on PATH."""
    import os

    env = {**os.environ, "PYTHONUTF8": "1", **(extra or {})}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return env


def _course(tmp: Path) -> Path:
    course = empty_course(tmp / "course")
    for name in assignment_names(ROOT):
        folder = course / "submitted" / "student1" / name
        folder.mkdir(parents=True)
        nbformat.write(submission(name, {}), folder / f"{name}.ipynb")
    return course


def _time(cmd: list[str], cwd: Path, env_extra: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=cli_env(env_extra), check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            course = _course(Path(tmp))
            notebooks = sorted((course / "submitted" / "student1").glob("*/*.ipynb"))
            floor = _time([str(bindir / "jupyter"), "execute", *map(str, notebooks)], course,
                          {"NBGRADER_EXECUTION": "autograde"})
            grade = [sys.executable, "-m", "instructor", "--root", str(course), "grade", "--force"]
            cold = _time(grade, ROOT)
            warm = _time(grade, ROOT)
            rows.append((floor, cold, warm))
    print(f"{'run':>4} {'jupyter execute':>16} {'grade cold':>11} {'grade warm':>11}"
          f" {'cold/exec':>10} {'warm/exec':>10}")
    for i, (floor, cold, warm) in enumerate(rows, 1):
        print(f"{i:>4} {floor:>15.2f}s {cold:>10.2f}s {warm:>10.2f}s"
              f" {cold / floor:>10.2f} {warm / floor:>10.2f}")
    floor, cold, warm = (min(r[k] for r in rows) for k in range(3))
    print(f"{'best':>4} {floor:>15.2f}s {cold:>10.2f}s {warm:>10.2f}s"
          f" {cold / floor:>10.2f} {warm / floor:>10.2f}")


if __name__ == "__main__":
    main()
