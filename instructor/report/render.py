"""Writing the report: ``index.html`` (Jinja2 template ``templates/report.html.j2``),
``tests.csv`` and ``mistakes.csv``, each written atomically into the report folder.

Links to feedback pages are relative to the report folder (``../feedback/<student>/...``), so
the folder works when the course folder is copied or opened from disk; the figures are inside
the page (``instructor.report.figures``). Nothing is fetched from the network.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from instructor.grade import Course
from instructor.report import figures
from instructor.report.collect import ClassData, collect
from instructor.report.stats import (
    AssignmentStats,
    Mistake,
    TestStats,
    assignment_stats,
    mistakes,
    status_kind,
    test_stats,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
TESTS_COLUMNS = ["assignment", "test", "points", "passed", "graded", "pass_rate",
                 "discrimination"]
MISTAKES_COLUMNS = ["assignment", "test", "message", "count", "students"]
STUDENT_SEPARATOR = " "  # between student ids in mistakes.csv (ids have no spaces)
FOLD_AFTER = 12  # a mistake seen by more students lists them behind a <details> toggle
STATUS_LABELS = {"graded": "採点済み", "missing": "未提出", "unknown notebook": "ノートブックなし",
                 "failed": "採点できず"}


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{round(value, digits):g}"


def tests_csv(stats: list[TestStats]) -> str:
    rows = [[t.assignment, t.test, f"{t.points:g}", t.passed, t.graded, _number(t.pass_rate),
             _number(t.discrimination)] for t in stats]
    return _csv(TESTS_COLUMNS, rows)


def mistakes_csv(found: list[Mistake]) -> str:
    rows = [[m.assignment, m.test, m.message, m.count, STUDENT_SEPARATOR.join(m.students)]
            for m in found]
    return _csv(MISTAKES_COLUMNS, rows)


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class _Section:
    """One assignment's part of the page."""

    stats: AssignmentStats
    tests: list[TestStats]
    histogram: str | None  # data URI
    pass_rates: str | None  # data URI


def _sections(per_assignment: list[AssignmentStats],
              per_test: list[TestStats]) -> list[_Section]:
    sections = []
    for stats in per_assignment:
        tests = [t for t in per_test if t.assignment == stats.name]
        histogram = rates = None
        if stats.scores:
            histogram = figures.score_histogram(stats.scores, stats.max_score,
                                                f"{stats.name} の得点分布 ({len(stats.scores)} 人)")
            rates = figures.pass_rates([t.test for t in tests],
                                       [t.pass_rate or 0.0 for t in tests],
                                       f"{stats.name} のテストごとの正答率")
        sections.append(_Section(stats, tests, histogram, rates))
    return sections


def render_html(data: ClassData, per_assignment: list[AssignmentStats],
                per_test: list[TestStats], found: list[Mistake], out: Path,
                course_root: Path) -> str:
    """The page; links are made relative to the folder ``out`` the page is written to."""
    links = {}
    for s in data.submissions:
        if s.feedback:
            links[(s.student, s.assignment)] = quote(
                os.path.relpath(course_root / s.feedback, out).replace(os.sep, "/"))
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["FOLD_AFTER"] = FOLD_AFTER
    env.filters["num"] = _number
    env.filters["percent"] = lambda v: "—" if v is None else f"{100 * v:.0f}%"
    env.globals["status_label"] = lambda status: STATUS_LABELS[status_kind(status)]
    return env.get_template("report.html.j2").render(
        data=data, sections=_sections(per_assignment, per_test), mistakes=found, links=links,
        status_labels=STATUS_LABELS)


def build(course: Course, out: Path | None = None,
          assignments: list[str] | None = None) -> Path:
    """Write the report of ``course`` into ``out`` (default ``<course>/report``); its page."""
    out = (Path(out) if out is not None else course.root / "report").resolve()
    data = collect(course, assignments)
    per_assignment, per_test, found = assignment_stats(data), test_stats(data), mistakes(data)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "tests.csv", tests_csv(per_test))
    _write(out / "mistakes.csv", mistakes_csv(found))
    page = out / "index.html"
    _write(page, render_html(data, per_assignment, per_test, found, out, course.root))
    return page
