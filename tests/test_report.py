"""``python -m instructor report`` on a graded corpus (``tests/reportcorpus.py``).

One grading run with SQLite (module fixture, about a dozen notebooks) and one with PostgreSQL:
- tests.csv and the per-assignment numbers equal what grades.csv says (recomputed here from
  grades.csv and the masters' points, independently of the report's code);
- mistakes.csv lists the corpus's mistakes with the right counts and students, each failing test
  of a graded submission exactly once, and no student whose submission was not graded;
- the PostgreSQL gradebook gives the same CSV files;
- a course with no submissions gives an empty report, not an error (and creates no gradebook);
- the page in headless Chromium: the figures are drawn (non-zero size), the text is Japanese,
  nothing is fetched from the network, every feedback link leads to an existing page.
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from instructor.__main__ import main
from instructor.grade import Course
from instructor.report import build
from instructor.report.collect import ClassData, Submission, Test, collect
from instructor.report.failures import NO_OUTPUT, UNANSWERED, message
from instructor.report.render import render_html
from instructor.report.stats import assignment_stats, correlation, mistakes, test_stats
from tests.browser import chromium, screenshot
from tests.nbrun import ROOT
from tests.reportcorpus import EMPTY, FIRST, ROSTER_ONLY, SECOND, grade, make_submissions

pytest_plugins = ("tests.pgserver",)


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _points(name: str) -> dict[str, float]:
    """Points of each test cell (code grade cell) of a master, from its nbgrader metadata."""
    nb = json.loads((ROOT / "source" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
    meta = [c["metadata"].get("nbgrader", {}) for c in nb["cells"] if c["cell_type"] == "code"]
    return {m["grade_id"]: float(m["points"]) for m in meta if m.get("grade")}


def _report(course: Path) -> Path:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = build(Course(course, unsafe=True))
    glyphs = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not glyphs, glyphs  # every Japanese character of the figures is in the font
    return page


@pytest.fixture(scope="module")
def sqlite_course(tmp_path_factory):
    course = tmp_path_factory.mktemp("report-sqlite")
    mistakes = make_submissions(course)
    grade(course)
    page = _report(course)
    return {"course": course, "page": page, "mistakes": mistakes,
            "grades": _read_csv(course / "grades.csv")}


def test_tests_csv_equals_grades_csv(sqlite_course):
    grades = sqlite_course["grades"]
    got = {(r["assignment"], r["test"]): r
           for r in _read_csv(sqlite_course["course"] / "report" / "tests.csv")}
    want = {}
    for name in (FIRST, SECOND):
        rows = [r for r in grades if r["assignment"] == name and r["status"] == "graded"]
        totals = [float(r["score"]) for r in rows]
        for test, points in _points(name).items():
            scores = [float(r[f"{name}/{test}"]) for r in rows]
            passed = sum(s == points for s in scores)
            corr = np.corrcoef(scores, totals)[0, 1] if np.std(scores) > 0 else None
            want[(name, test)] = {
                "points": points, "passed": passed, "graded": len(rows),
                "pass_rate": round(passed / len(rows), 3),
                "discrimination": None if corr is None else round(float(corr), 3)}
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        assert float(g["points"]) == w["points"], key
        assert int(g["passed"]) == w["passed"], key
        assert int(g["graded"]) == w["graded"], key
        assert float(g["pass_rate"]) == pytest.approx(w["pass_rate"]), key
        if w["discrimination"] is None:
            assert g["discrimination"] == "", key
        else:
            assert float(g["discrimination"]) == pytest.approx(w["discrimination"]), key
    # the corpus has a test everyone passed and tests some failed
    assert {int(g["passed"]) == int(g["graded"]) for g in got.values()} == {True, False}


def test_assignment_and_student_numbers_equal_grades_csv(sqlite_course):
    course, grades = sqlite_course["course"], sqlite_course["grades"]
    data = collect(Course(course, unsafe=True))
    by_key = {(s.student, s.assignment): s for s in data.submissions}
    assert set(by_key) == {(r["student_id"], r["assignment"]) for r in grades}
    for r in grades:
        sub = by_key[(r["student_id"], r["assignment"])]
        assert sub.status == r["status"]
        assert sub.score == float(r["score"])
    for stats in assignment_stats(data):
        rows = [r for r in grades if r["assignment"] == stats.name]
        kinds = [r["status"].split(":")[0] for r in rows]
        assert stats.counts == {k: kinds.count(k) for k in stats.counts}
        totals = [float(r["score"]) for r in rows if r["status"] == "graded"]
        assert stats.mean == pytest.approx(np.mean(totals))
        assert stats.median == pytest.approx(np.median(totals))
        assert stats.max_score == float(rows[0]["max_score"])
    first = next(s for s in assignment_stats(data) if s.name == FIRST)
    assert first.counts == {"graded": 7, "missing": 1, "unknown notebook": 0, "failed": 1}


def test_mistakes_table_lists_the_corpus_mistakes(sqlite_course):
    course, grades = sqlite_course["course"], sqlite_course["grades"]
    rows = _read_csv(course / "report" / "mistakes.csv")
    for row in rows:
        assert int(row["count"]) == len(row["students"].split()), row
    for mistake in sqlite_course["mistakes"]:
        same = {m.student for m in sqlite_course["mistakes"]
                if (m.assignment, m.message) == (mistake.assignment, mistake.message)
                and set(m.fails) & set(mistake.fails)}
        found = [r for r in rows if r["assignment"] == mistake.assignment
                 and r["test"] in mistake.fails and mistake.message in r["message"]]
        assert len(found) == 1, (mistake, found)
        assert set(found[0]["students"].split()) == same, (mistake, found)
        assert int(found[0]["count"]) == len(same)
    forward = [r for r in rows if r["test"] == "numerical_diff_test" and "前進差分" in r["message"]]
    assert [(r["count"], r["students"]) for r in forward] == [("2", "s03 s04")]
    assert rows[0] == forward[0]  # most frequent first
    unanswered = [r for r in rows if r["message"] == UNANSWERED]
    assert {r["test"] for r in unanswered} == set(_points(FIRST))
    assert {r["students"] for r in unanswered} == {"s07"}
    # every failing test of a graded submission is counted once, under one message
    for name in (FIRST, SECOND):
        for test, points in _points(name).items():
            failing = sorted(r["student_id"] for r in grades if r["assignment"] == name
                             and r["status"] == "graded" and float(r[f"{name}/{test}"]) < points)
            listed = sorted(s for r in rows if (r["assignment"], r["test"]) == (name, test)
                            for s in r["students"].split())
            assert listed == failing, (name, test)
    assert not [r for r in rows if r["message"] == NO_OUTPUT]
    assert not [r for r in rows if {EMPTY[0], ROSTER_ONLY} & set(r["students"].split())]


def test_report_on_postgresql_gives_the_same_csvs(sqlite_course, tmp_path, db_url):
    course = tmp_path / "course"
    course.mkdir()
    make_submissions(course, db_url)
    grade(course)
    assert Course(course, unsafe=True).db_url.startswith("postgresql")
    _report(course)
    for name in ("tests.csv", "mistakes.csv"):
        assert (course / "report" / name).read_text(encoding="utf-8") == (
            sqlite_course["course"] / "report" / name).read_text(encoding="utf-8"), name
    # same grades (grades.csv orders its test columns by the gradebook's random cell ids)
    assert _read_csv(course / "grades.csv") == sqlite_course["grades"]
    assert not (course / "gradebook.db").exists()


def test_a_course_without_submissions_gives_an_empty_report(tmp_path):
    shutil.copytree(ROOT / "source" / FIRST, tmp_path / "source" / FIRST)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    assert main(["--root", str(tmp_path), "report"]) == 0  # what `make report` runs
    page = tmp_path / "report" / "index.html"
    assert not (tmp_path / "gradebook.db").exists()  # reading does not create a gradebook
    tests = _read_csv(tmp_path / "report" / "tests.csv")  # from the master: nothing graded
    assert [(r["test"], float(r["points"])) for r in tests] == list(_points(FIRST).items())
    assert {(r["passed"], r["graded"], r["pass_rate"], r["discrimination"]) for r in tests} == {
        ("0", "0", "", "")}
    assert (tmp_path / "report" / "mistakes.csv").read_text(encoding="utf-8") == (
        "assignment,test,message,count,students\n")
    text = page.read_text(encoding="utf-8")
    assert "まだ学生がいません" in text and "<img" not in text
    data = collect(Course(tmp_path, unsafe=True))
    assert data.max_scores[FIRST] == sum(_points(FIRST).values())


def test_page_in_chromium_shows_figures_and_links(sqlite_course):
    page_path = sqlite_course["page"]
    with chromium() as page:
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight,"
                   " e.getBoundingClientRect().width, e.getBoundingClientRect().height, e.alt])")
        shot = screenshot(page, "report", full_page=True)
        body = page.inner_text("body")
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert page.blocked == []
    assert len(images) == 4, images  # two figures for each graded assignment
    for complete, nw, nh, w, h, alt in images:
        assert complete and nw > 100 and nh > 100 and w > 100 and h > 100, alt
        assert "得点分布" in alt or "正答率" in alt
    assert "よくある間違い" in body and "考えられる原因" in body and "前進差分" in body
    assert shot.stat().st_size > 10_000
    feedback = [h for h in hrefs if "/feedback/" in h]
    assert len(feedback) >= 6
    for href in feedback:
        assert href.startswith("file://"), href
        assert Path(unquote(href[len("file://"):])).is_file(), href
    assert all(h.startswith("file://") for h in hrefs)


@pytest.mark.parametrize(("outputs", "expected"), [
    ([{"output_type": "error", "ename": "CheckFailed",
       "evalue": "チェック: f(1) の値\n  期待した結果: 2\n  あなたの結果: 1\n"
                 "  考えられる原因: 前進差分になっていませんか?", "traceback": []}],
     "前進差分になっていませんか?"),
    ([{"output_type": "error", "ename": "CheckFailed",
       "evalue": "チェック: f(1) の値\n  期待した結果: 2\n  あなたの結果: 1", "traceback": []}],
     "(原因の表示なし) チェック: f(1) の値"),
    ([{"output_type": "error", "ename": "NotImplementedError", "evalue": "", "traceback": []}],
     UNANSWERED),
    # the judge explains the student's errors (common.explain): an unanswered blank, a typo
    ([{"output_type": "error", "ename": "CheckFailed",
       "evalue": "まだ解答していません: numerical_diff の中の raise NotImplementedError() "
                 "を消して, コードを書いてください。", "traceback": []}],
     UNANSWERED),
    ([{"output_type": "error", "ename": "CheckFailed",
       "evalue": "f を呼んだところで NameError が起きました: name 'np.ex' is not defined\n"
                 "場所: In [3] の 2 行目 (f の中):  return np.ex(x)\n直し方: np.exp では?",
       "traceback": []}],
     "f を呼んだところで NameError が起きました: name 'np.ex' is not defined"),
    ([{"output_type": "stream", "name": "stdout", "text": "x\n"},
      {"output_type": "error", "ename": "NameError", "evalue": "name 'f' is not defined\nmore",
       "traceback": []}],
     "NameError: name 'f' is not defined"),
    ([{"output_type": "stream", "name": "stderr", "text": ["\n", "Killed\n"]}],
     "標準エラー出力: Killed"),
    ([], NO_OUTPUT),
])
def test_failure_message(outputs, expected):
    assert message(outputs) == expected


def test_correlation_is_none_when_a_side_is_constant():
    assert correlation([1, 1, 1], [0, 5, 10]) is None
    assert correlation([3], [3]) is None
    x, y = [0, 1, 1], [2, 5, 6]
    assert correlation(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert correlation([0, 1, 2], [4, 2, 0]) == pytest.approx(-1.0)


def test_text_from_submissions_is_escaped_in_the_page(tmp_path):
    """Messages quote what a student's code raised; student ids come from folder names."""
    evil = '<script>alert("x")</script>'
    data = ClassData(["a1"], {"a1": [Test("t1", 1.0)]}, {"a1": 1.0}, ['s"1<b>'], [
        Submission('s"1<b>', "a1", "graded", 0.0, {"t1": 0.0}, {"t1": f"ValueError: {evil}"},
                   'feedback/s"1<b>/a1/a1.html')])
    html = render_html(data, assignment_stats(data), test_stats(data), mistakes(data),
                       tmp_path / "report", tmp_path)
    assert evil not in html and "&lt;script&gt;" in html
    assert 's"1<b>' not in html
    assert 'href="../feedback/s%221%3Cb%3E/a1/a1.html"' in html
