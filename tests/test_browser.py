"""The student's and the instructor's day in a real Chromium (issue 11).

One throwaway copy of the course, one `make lab` (student) and one `make instructor` server for
the whole module; each test is a step of the journey and asserts what a person sees on screen.
The tests run in file order: the student answers assignment 01 in their work copy, the
instructor releases it through the formgrader, the student submits it from the Assignments
panel, the instructor grades it and releases feedback, the student fetches and opens it.
Screenshots: tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from tests.browser import (
    TOKEN,
    Server,
    block_network,
    copy_course,
    git_status,
    launch_chromium,
    require_browser,
    screenshot,
)

A01 = "01_gradient"
A02 = "02_gradient_descent"
WORK_NB = f"課題/{A01}/{A01}.ipynb"
TIMEOUT_MS = 90_000

# Answers as a student might write them (not the official solution's wording).
DIFF_OK = '''def numerical_diff(f, x):
    h = 0.0001
    return (f(x + h) - f(x - h)) / (h * 2)
'''
DIFF_FORWARD = '''def numerical_diff(f, x):
    h = 1e-4
    return (f(x + h) - f(x)) / h
'''
GRADIENT_OK = '''def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros(x.shape)
    for i in range(len(x)):
        keep = x[i]
        x[i] = keep + h
        up = f(x)
        x[i] = keep - h
        down = f(x)
        x[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad
'''
TANGENT_OK = '''def tangent_line(f, x):
    a = numerical_diff(f, x)
    b = f(x) - a * x
    def line(t):
        return a * t + b
    return line
'''
# English words of nbgrader's own feedback frame; the course's feedback is Japanese.
ENGLISH_FRAME = ("Student's answer", "Test cell", "Comments:", "No response.")


@pytest.fixture(scope="module")
def course():
    require_browser()
    tmp = Path(tempfile.mkdtemp(prefix="kobai-browser-"))
    try:
        yield copy_course(tmp / "course")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def student(course):
    server = Server(course, "lab", course.parent / "student-home")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def instructor(course):
    server = Server(course, "instructor", course.parent / "instructor-home")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    require_browser()
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def journey():
    """What one step of the journey leaves for the next (e.g. the feedback file)."""
    return {}


def new_page(browser, server=None):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    if server is not None:  # log in once: the token becomes a cookie
        page.goto(f"{server.url}/lab?token={TOKEN}")
        page.wait_for_selector("#jp-main-dock-panel")
    return page


# -- JupyterLab, as a person uses it ------------------------------------------------------------
def open_notebook(page, server, path: str) -> None:
    page.goto(f"{server.url}/lab/tree/{path}?reset")  # only this notebook, no restored tabs
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    server.wait_kernel_idle(path)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]')


def cell(page, index: int):
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)


def type_into_cell(page, index: int, text: str) -> None:
    """Replace the code of cell ``index`` by typing ``text`` (as a paste of the whole answer)."""
    editor = cell(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def run_cells(page, first: int, last: int) -> None:
    """Select cell ``first`` and press Shift+Enter until ``last`` has run; wait for its result."""
    cell(page, first).locator(".jp-InputArea-editor, .jp-MarkdownOutput").first.click()
    for _ in range(first, last + 1):
        page.keyboard.press("Shift+Enter")
    prompt = cell(page, last).locator(".jp-InputPrompt")  # "[*]:" while queued or running
    page.wait_for_function("el => /^\\[\\d+\\]/.test(el.textContent.trim())",
                           arg=prompt.element_handle())


def output_text(page, index: int) -> str:
    return cell(page, index).locator(".jp-OutputArea").inner_text()


def index_of(notebook: Path, grade_id: str) -> int:
    nb = nbformat.read(notebook, as_version=4)
    for i, c in enumerate(nb.cells):
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def modified(server, path: str) -> str:
    """The server's last_modified of ``path`` (changes when a save has been written)."""
    return server.api(f"/api/contents/{path}?content=0")["last_modified"]


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def validate(page) -> str:
    """Click nbgrader's Validate button; the text of the dialog it opens (then closed)."""
    page.locator(".jp-NotebookPanel:visible .jp-Toolbar").get_by_text("Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    text = dialog.inner_text()
    return text


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").first.click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def save(page) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')")


# -- the student ---------------------------------------------------------------------------------
def test_student_answers_in_work_copy_and_sees_ok_and_japanese_message(course, student, browser):
    work_nb = course / "work" / WORK_NB
    assert work_nb.is_file(), f"make lab made no work copy: {sorted(course.glob('work/**/*'))}"
    diff = index_of(work_nb, "numerical_diff")
    page = new_page(browser, student)
    open_notebook(page, student, WORK_NB)
    # no instructor UI: no Create Assignment panel, no formgrader or course list in the menu
    assert page.get_by_text("Create Assignment").count() == 0
    page.locator(".lm-MenuBar").get_by_text("Nbgrader", exact=True).click()
    menu = page.locator(".lm-Menu").inner_text()
    page.keyboard.press("Escape")
    assert "Assignment List" in menu and "Formgrader" not in menu and "Course" not in menu, menu
    type_into_cell(page, diff, DIFF_OK)
    run_cells(page, 1, diff + 1)  # imports, functions, the answer, its visible test
    screenshot(page, "student-01-ok")
    assert "OK: numerical_diff_test" in output_text(page, diff + 1)

    type_into_cell(page, diff, DIFF_FORWARD)
    run_cells(page, diff, diff + 1)
    wrong = output_text(page, diff + 1)
    screenshot(page, "student-02-wrong")
    assert "前進差分" in wrong and "中心差分" in wrong, wrong
    assert "OK: numerical_diff_test" not in wrong

    # Validate with the mistake: fails, with the Japanese message in the dialog
    text = validate(page)
    screenshot(page, "student-03-validate-fails")
    assert "前進差分" in text, text
    assert "Success" not in text
    close_dialog(page)

    # every answer correct: Validate passes
    type_into_cell(page, diff, DIFF_OK)
    type_into_cell(page, index_of(work_nb, "numerical_gradient"), GRADIENT_OK)
    type_into_cell(page, index_of(work_nb, "tangent_line"), TANGENT_OK)
    text = validate(page)
    screenshot(page, "student-04-validate-passes")
    assert "Success! Your notebook passes all the tests." in text, text
    close_dialog(page)
    assert page.get_by_text("公式ニュース").count() == 0  # no news prompt (overrides.json)
    save(page)
    saved = nbformat.read(work_nb, as_version=4)
    assert "(h * 2)" in saved.cells[diff].source  # the answer is in the student's copy
    assert "(h * 2)" not in (course / "release" / A01 / f"{A01}.ipynb").read_text("utf-8")
    assert page.goto(f"{student.url}/formgrader").status == 404  # not served to students
    page.context.close()


def test_validate_failure_shows_messages_not_test_code(course, student, browser):
    """A failing Validate shows the Japanese messages, not the test cells' source."""
    work_nb = course / "work" / WORK_NB
    diff = index_of(work_nb, "numerical_diff")
    page = new_page(browser, student)
    open_notebook(page, student, WORK_NB)
    type_into_cell(page, diff, DIFF_FORWARD)
    text = validate(page)
    screenshot(page, "student-05-validate-readable")
    close_dialog(page)
    type_into_cell(page, diff, DIFF_OK)
    save(page)
    page.context.close()
    assert "前進差分" in text
    assert "def diff_mistakes" not in text and "check_close(" not in text, text[:3000]


def test_lecture_figure_renders_with_japanese_labels(student, browser):
    page = new_page(browser, student)
    open_notebook(page, student, "講義/01_gradient.ipynb")
    figure = cell(page, 14)  # the tangent line, drawn with Japanese labels
    image = figure.locator(".jp-OutputArea-output img")
    figure.scroll_into_view_if_needed()
    image.wait_for()  # the figure stored in the lecture note: cleared, then drawn again
    page.locator(".lm-MenuBar").get_by_text("編集", exact=True).click()
    page.locator(".lm-Menu").get_by_text("すべてのセルの出力を消去", exact=True).click()
    image.wait_for(state="detached")
    run_cells(page, 1, 14)
    image.wait_for()
    figure.scroll_into_view_if_needed()
    screenshot(page, "student-06-lecture-figure")
    width = image.evaluate("img => img.naturalWidth")
    assert width > 200, width
    text = output_text(page, 14)
    # matplotlib warns "Glyph ... missing from font" when a Japanese label cannot be drawn
    assert "missing from" not in text and "Glyph" not in text, text
    page.context.close()


def test_committed_files_unchanged_after_the_students_session(course, student):
    assert (course / "work" / WORK_NB).is_file()
    assert git_status(course) == ""


# -- the instructor --------------------------------------------------------------------------------
def open_assignments(page) -> None:
    """Nbgrader menu -> Assignment List (the student's Assignments panel)."""
    page.locator(".lm-MenuBar").get_by_text("Nbgrader", exact=True).click()
    page.locator(".lm-Menu").get_by_text("Assignment List", exact=True).click()
    page.locator(".nbgrader-mainarea-widget").wait_for()


def formgrader_modal(page) -> str:
    modal = page.locator(".modal.in, .modal.show").last
    modal.wait_for()
    text = modal.inner_text()
    modal.locator("button", has_text=re.compile("Close|OK")).first.click()
    page.locator(".modal.in, .modal.show").wait_for(state="detached")
    return text


def assignment_row(page, name: str):
    return page.locator("tr", has=page.locator(f"td a:text-is('{name}')"))


def graded_errors(course: Path) -> list[str]:
    """The errors shown in the autograded notebooks (what cost points), for failure messages."""
    errors = []
    for path in course.glob("autograded/*/*/*.ipynb"):
        for c in nbformat.read(path, as_version=4).cells:
            errors += [f"{path.name}: {o.get('ename')}: {o.get('evalue')}"[:300]
                       for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return errors


def test_formgrader_lists_every_assignment_without_error(course, instructor, browser):
    page = new_page(browser, instructor)
    page.goto(f"{instructor.url}/formgrader")
    names = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    for name in names:
        assignment_row(page, name).wait_for()
    screenshot(page, "instructor-01-manage-assignments")
    body = page.locator("body").inner_text()
    assert "does not exist" not in body and "error" not in body.lower(), body[:2000]
    assert page.locator("#warning-exchange").count() == 0
    page.context.close()


def test_release_submit_grade_and_return_feedback(course, instructor, student, browser,
                                                  journey):
    teacher = new_page(browser, instructor)
    teacher.goto(f"{instructor.url}/formgrader")
    for name in (A01, A02):
        assignment_row(teacher, name).locator("td.release a").click()
        assert f"Successfully released '{name}'" in formgrader_modal(teacher)
    screenshot(teacher, "instructor-02-released")

    # the student: assignment 02's copy is gone (deleted in the file browser); fetch it again
    pupil = new_page(browser, student)
    shutil.rmtree(course / "work" / "課題" / A02)
    open_assignments(pupil)
    released = pupil.locator("#released_assignments_list")
    released.get_by_text(A02).first.wait_for()
    body = pupil.locator(".nbgrader-mainarea-widget").inner_text()
    assert "Error" not in body and "does not exist" not in body, body
    released.locator(".list_item", has_text=A02).get_by_role("button", name="Fetch").click()
    fetched = pupil.locator("#fetched_assignments_list")
    fetched.get_by_text(A02).first.wait_for()
    assert (course / "work" / "課題" / A02 / f"{A02}.ipynb").is_file()
    # assignment 01 is the work copy answered above: submit it
    fetched.locator(".list_item", has_text=A01).get_by_role("button", name="Submit").click()
    pupil.locator("#submitted_assignments_list").get_by_text(A01).first.wait_for()
    screenshot(pupil, "student-07-submitted")
    inbound = list((course / "exchange").glob(f"*/inbound/*{A01}*/{A01}.ipynb"))
    assert len(inbound) == 1 and "(h * 2)" in inbound[0].read_text("utf-8")  # the answered copy

    # the instructor: collect, autograde, generate and release feedback
    teacher.reload()
    row = assignment_row(teacher, A01)
    row.locator("td.collect a").click()
    assert "Successfully collected" in formgrader_modal(teacher)
    collected = list((course / "submitted").glob(f"*/{A01}/{A01}.ipynb"))
    assert len(collected) == 1 and "(h * 2)" in collected[0].read_text("utf-8")
    teacher.goto(f"{instructor.url}/formgrader/manage_submissions/{A01}")
    teacher.locator("td.autograde a").first.click()
    assert "Successfully autograded" in formgrader_modal(teacher)
    teacher.reload()
    teacher.locator("td.autograde a").first.wait_for()
    screenshot(teacher, "instructor-03-autograded")
    scores = teacher.locator("table").inner_text()
    assert "10 / 10" in scores.replace("10.0", "10"), (graded_errors(course)[:2], scores)
    teacher.goto(f"{instructor.url}/formgrader")
    assignment_row(teacher, A01).locator("td.generate-feedback a").click()
    assert "Successfully generated feedback" in formgrader_modal(teacher)
    assignment_row(teacher, A01).locator("td.release-feedback a").click()
    released_text = formgrader_modal(teacher)
    assert "Successfully released feedback" in released_text, released_text
    screenshot(teacher, "instructor-04-feedback-released")

    # the student fetches the feedback in the Assignments panel
    open_assignments(pupil)  # shows the list again, read afresh
    submitted = pupil.locator("#submitted_assignments_list")
    submitted.get_by_role("button", name="Fetch Feedback").first.click()
    submitted.get_by_text("(view feedback)").first.wait_for()
    screenshot(pupil, "student-08-feedback-fetched")
    pages = sorted((course / "work" / "課題" / A01 / "feedback").glob(f"*/{A01}.html"))
    assert pages, "no feedback HTML in the student's folder"
    journey["feedback"] = pages[-1]
    teacher.context.close()
    pupil.context.close()


def test_feedback_page_offline_has_rendered_math_and_japanese_frame(browser, journey):
    feedback = journey.get("feedback")
    assert feedback is not None, "the feedback journey above did not finish"
    page = new_page(browser)
    aborted = block_network(page)
    page.goto(feedback.as_uri())
    page.wait_for_load_state("load")
    time.sleep(1.0)  # any script that would typeset math has had its chance
    screenshot(page, "student-09-feedback-offline")
    text = page.locator("body").inner_text()
    math = page.locator("math, mjx-container").count()
    page.context.close()
    assert math > 0, f"no rendered math (MathML or MathJax); blocked requests: {aborted}"
    assert "$f_1(x)" not in text and "\\frac" not in text, "raw LaTeX on the page"
    assert not [w for w in ENGLISH_FRAME if w in text], [w for w in ENGLISH_FRAME if w in text]
    assert "点" in text  # the score, in Japanese


def test_committed_files_unchanged_after_grading(course):
    assert git_status(course) == ""


# -- bad input -------------------------------------------------------------------------------------
def test_deleted_or_renamed_work_copy_comes_back_on_next_make_lab(course, student, browser):
    work = course / "work"
    deleted = work / "課題" / "03_simplenet" / "03_simplenet.ipynb"
    renamed = work / "講義" / "02_gradient_descent.ipynb"
    deleted.unlink()
    renamed.rename(renamed.with_name("私のノート.ipynb"))
    answered = (work / WORK_NB).read_bytes()
    student.stop()
    again = Server(course, "lab", course.parent / "student-home")
    try:
        assert "Error" not in again.log() and "Traceback" not in again.log(), again.log()
        for path, original in ((deleted, course / "release" / "03_simplenet" / deleted.name),
                               (renamed, course / "notebooks" / renamed.name)):
            assert path.read_bytes() == original.read_bytes()
        assert (work / "講義" / "私のノート.ipynb").is_file()  # the renamed one is kept
        assert (work / WORK_NB).read_bytes() == answered  # answers never overwritten
        page = new_page(browser, again)
        page.goto(f"{again.url}/lab/tree/講義")
        listing = page.locator(".jp-DirListing-content")
        listing.get_by_text("02_gradient_descent.ipynb").wait_for()
        listing.get_by_text("私のノート.ipynb").wait_for()
        screenshot(page, "student-10-fresh-copy")
        page.context.close()
    finally:
        again.stop()


def test_notebooks_left_open_by_the_instructor_change_no_committed_file(course, instructor,
                                                                        browser):
    path = f"release/{A01}/{A01}.ipynb"
    before = (course / path).read_bytes()
    page = new_page(browser, instructor)
    open_notebook(page, instructor, path)
    type_into_cell(page, index_of(course / path, "numerical_diff"), DIFF_OK)
    page.get_by_text("notebook is read-only").wait_for()  # JupyterLab's badge in the toolbar
    page.keyboard.press("Control+s")
    time.sleep(2.0)
    screenshot(page, "instructor-05-release-read-only")
    assert (course / path).read_bytes() == before
    # a master in source/ and a lecture note, opened (the kernel fills in language_info) and
    # saved as autosave would: no committed byte changes
    for opened in (f"source/{A01}/{A01}.ipynb", "notebooks/01_gradient.ipynb"):
        open_notebook(page, instructor, opened)
        saved_at = modified(instructor, opened)
        page.locator(".jp-NotebookPanel:visible .jp-Notebook").click()
        page.keyboard.press("Control+s")
        backup = (course / opened).with_name(f".~{Path(opened).name}")  # while writing
        wait_until(lambda p=opened, t=saved_at, b=backup: modified(instructor, p) != t
                   and not b.exists())
    page.context.close()
    assert git_status(course) == ""
