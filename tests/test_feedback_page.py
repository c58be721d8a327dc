"""The feedback page as a student opens it: offline, in Chromium, in Japanese, math rendered.

One grading run of the first real assignment in a temporary course (the untouched release and
a submission with one wrong answer), then its feedback HTML is checked as text and opened in
Debian's Chromium through Playwright with every request that is not a local file aborted.
The screenshots go to ``tests/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from instructor.grade import Course
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS, require_browser
from tests.nbrun import ROOT, assignment_names, grade_id, read, submission

NAME = assignment_names()[0]
ENGLISH_FRAME = ("Student's answer", "Test cell", "No response.", "Score:", "Grade cell",
                 "Comments:", "(Top)")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    course = tmp_path_factory.mktemp("feedback")
    for item in ("source", "release", "nbgrader_config.py"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / item)
    solutions = [grade_id(c) for c in read("source", NAME).cells
                 if c.metadata.get("nbgrader", {}).get("solution")]
    wrong = {solutions[0]: "def numerical_diff(f, x):\n    h = 1e-4\n"
                           "    return (f(x + h) - f(x)) / h\n"}
    for student, cells in (("untouched", None), ("wrong", wrong)):
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(submission(NAME, cells), folder / f"{NAME}.ipynb")
    outcomes = Course(course).grade_all([NAME])
    assert [o.status for o in outcomes] == ["graded", "graded"], outcomes
    return {s: course / "feedback" / s / NAME / f"{NAME}.html" for s in ("untouched", "wrong")}


def _text(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    page = re.sub(r"<math\b.*?</math>", " [math] ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_frame_is_japanese(pages):
    page = pages["untouched"].read_text(encoding="utf-8")
    text = _text(page)
    japanese = ("採点結果", "得点:", "あなたの解答", "テスト:", "解答が書かれていません",
                "(先頭へ)")
    for word in japanese:
        assert word in text, word
    for word in ENGLISH_FRAME:
        assert word not in text, word
    assert '<html lang="ja">' in page


def test_math_is_mathml_not_raw_latex(pages):
    page = pages["wrong"].read_text(encoding="utf-8")
    assert page.count("<math ") >= 10, page.count("<math ")
    assert 'class="math-unconverted"' not in page
    text = _text(page)
    assert "$" not in text, re.findall(r".{30}\$.{30}", text)[:5]
    assert "\\partial" not in text and "\\frac" not in text


def test_nothing_is_loaded_from_the_network(pages):
    for page in (p.read_text(encoding="utf-8") for p in pages.values()):
        assert not re.search(r"<script[^>]*\bsrc=", page)
        assert not re.search(r"<link[^>]*\bhref=[\"']?(https?:)?//", page)
        assert not re.search(r"@import\s+url\(\s*[\"']?(https?:)?//", page)
        assert "mathjax" not in page.lower()


def test_nbgrader_generate_feedback_uses_the_same_page(pages):
    """The instructor's `nbgrader generate_feedback` (as the formgrader runs it) reads
    nbgrader_config.py's exporter too: same Japanese frame, MathML, no MathJax."""
    page_path = pages["wrong"]
    course = page_path.parents[3]
    page_path.unlink()
    env = {**os.environ, "PYTHONUTF8": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_feedback",
                           NAME, "--student", "wrong", "--force"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "display_data_priority" not in proc.stderr
    page = page_path.read_text(encoding="utf-8")
    assert "あなたの解答" in page and "<math " in page and "mathjax" not in page.lower()
    assert "Student's answer" not in page


def test_tables_have_borders(pages):
    page = pages["wrong"].read_text(encoding="utf-8")
    assert "<table>" in page  # the assignment's Markdown table
    assert re.search(r"\.rendered_html td[^{]*\{[^}]*border: 1px solid", page)


def _browser():
    """Playwright, after :func:`tests.browser.require_browser` (fails with the install command)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def test_student_sees_rendered_math_and_japanese_offline(pages):
    SCREENSHOTS.mkdir(exist_ok=True)
    blocked = []
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="ja-JP")

            def route(r):
                if r.request.url.startswith("file:"):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(pages["wrong"].as_uri())
            page.wait_for_load_state("load")
            heading = page.locator("h4").first.inner_text()
            assert "得点:" in heading and "点" in heading, heading
            body = page.locator("body").inner_text()
            assert "あなたの解答" in body and "テスト:" in body
            assert "$" not in body
            # MathML is laid out by the browser: a fraction or subscript has a real size
            boxes = page.eval_on_selector_all(
                "math", "ms => ms.map(m => { const r = m.getBoundingClientRect();"
                        " return [r.width, r.height]; })")
            assert len(boxes) >= 10 and all(w > 0 and h > 0 for w, h in boxes), boxes[:5]
            border = page.eval_on_selector(
                ".rendered_html td", "td => getComputedStyle(td).borderTopWidth")
            assert border == "1px", border
            page.screenshot(path=str(SCREENSHOTS / "feedback_top.png"))
            page.locator("table").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "feedback_table.png"))
            failed = page.locator(".output_error").first
            assert "前進差分" in failed.inner_text()
            failed.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "feedback_failed_test.png"))
        finally:
            browser.close()
    assert blocked == [], blocked
