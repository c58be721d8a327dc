"""instructor.exchange end to end: one instructor, two students, one machine, one OS user.

The exchange is ``<course>/exchange`` of a toy course in tmp_path (nbgrader creates it 0777 at
the first release). Each student acts through nbgrader's own exchange actions with the settings
``student_config_text`` gives, plus what nbgrader would take from their account on a real machine:
their student id (``CourseDirectory.student_id``, normally the login name), their home folder
(``Exchange.assignment_dir``) and their private nbgrader cache (``Exchange.cache``, normally
``~/.local/share/jupyter/nbgrader_cache``; the cache is what ties a student to their feedback).
Grading in between is stock nbgrader (Autograde, GenerateFeedback), enough for the exchange.
"""

from __future__ import annotations

import stat
from pathlib import Path

import nbformat
import pytest
from nbgrader.auth import Authenticator
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError, ExchangeFactory
from traitlets.config.loader import PyFileConfigLoader

from instructor.exchange import (
    collect_submissions,
    command,
    exchange_config,
    release_assignment,
    release_feedback,
    student_config_text,
)
from tests.toycourse import CORRECT_ANSWER, TOTAL_POINTS, WRONG_ANSWER, make_course

# First grading in a fresh gradebook: nbgrader's own SQLAlchemy noise (PITFALLS.md).
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

NAME = "99_toy"
NOTEBOOK = f"{NAME}.ipynb"
# Each student's answer carries a marker that shows up in their own feedback only.
ANSWERS = {"s1111111": f"# 答案 s1111111\n{CORRECT_ANSWER}",
           "s2222222": f"# 答案 s2222222\n{WRONG_ANSWER}"}


class Student:
    """A student of the course on the shared machine, driving nbgrader's exchange actions."""

    def __init__(self, student_id: str, home: Path, course: Path):
        self.id, self.home = student_id, home
        home.mkdir(parents=True)
        settings = home / "nbgrader_config.py"
        settings.write_text(student_config_text(course), encoding="utf-8")
        self.config = PyFileConfigLoader(settings.name, path=str(home)).load_config()
        self.config.CourseDirectory.student_id = student_id
        self.config.Exchange.assignment_dir = str(home)
        self.config.Exchange.cache = str(home / ".nbgrader_cache")

    def act(self, name: str) -> None:
        coursedir = CourseDirectory(config=self.config)
        coursedir.assignment_id = NAME
        action = getattr(ExchangeFactory(config=self.config), name)(
            coursedir=coursedir, authenticator=Authenticator(config=self.config))
        action.start()

    def answer(self) -> None:
        path = self.home / NAME / NOTEBOOK
        nb = nbformat.read(path, as_version=4)
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        cell.source = ANSWERS[self.id]
        nbformat.write(nb, path)

    def feedback(self) -> list[Path]:
        return sorted((self.home / NAME / "feedback").glob(f"*/{NAME}.html"))


def _grade(course: Path) -> None:
    config = exchange_config(course)
    for converter_class in (Autograde, GenerateFeedback):
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = NAME
        converter_class(coursedir=coursedir, config=config).start()


@pytest.fixture
def course(tmp_path) -> Path:
    return make_course(tmp_path / "course", NAME)


def test_release_submit_collect_feedback_for_two_students(course, tmp_path):
    students = [Student(sid, tmp_path / "home" / sid, course) for sid in ANSWERS]

    released = release_assignment(NAME, course)
    exchange = course / "exchange"
    assert released == exchange / "kobai-enshu" / "outbound" / NAME
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o777
    # Students may drop submissions into inbound/ but not list it.
    assert stat.S_IMODE((exchange / "kobai-enshu" / "inbound").stat().st_mode) == 0o2733
    assert (released / NOTEBOOK).read_bytes() == (course / "release" / NAME / NOTEBOOK).read_bytes()
    with pytest.raises(ExchangeError, match="already exists"):
        release_assignment(NAME, course)  # a second release needs force=True
    assert release_assignment(NAME, course, force=True) == released

    for student in students:
        student.act("FetchAssignment")
        assert (student.home / NAME / NOTEBOOK).is_file()
        student.answer()
        student.act("Submit")

    assert collect_submissions(NAME, course) == sorted(ANSWERS)
    for sid, answer in ANSWERS.items():
        nb = nbformat.read(course / "submitted" / sid / NAME / NOTEBOOK, as_version=4)
        assert answer in [c.source for c in nb.cells], f"{sid}'s own answer must be collected"

    _grade(course)
    assert release_feedback(NAME, course) == sorted(ANSWERS)

    for student in students:
        student.act("FetchFeedback")
        (html,) = student.feedback()
        text = html.read_text(encoding="utf-8")
        for sid in ANSWERS:
            assert (f"答案 {sid}" in text) == (sid == student.id), (student.id, sid)
        score = TOTAL_POINTS if CORRECT_ANSWER in ANSWERS[student.id] else 0.0
        assert f"(得点: {score} / {TOTAL_POINTS} 点)" in text, student.id  # Japanese frame
    # Feedback files are named by a secret of each submission, in a folder nobody else can list.
    assert stat.S_IMODE((exchange / "kobai-enshu" / "feedback").stat().st_mode) == 0o711


def test_a_newer_submission_replaces_the_collected_one(course, tmp_path):
    student = Student("s1111111", tmp_path / "home" / "s1111111", course)
    release_assignment(NAME, course)
    student.act("FetchAssignment")
    student.act("Submit")  # the untouched release first
    assert collect_submissions(NAME, course) == ["s1111111"]
    submitted = course / "submitted" / "s1111111" / NAME / NOTEBOOK
    assert ANSWERS["s1111111"] not in submitted.read_text(encoding="utf-8")

    student.answer()
    student.act("Submit")
    assert collect_submissions(NAME, course) == ["s1111111"]
    nb = nbformat.read(submitted, as_version=4)
    assert ANSWERS["s1111111"] in [c.source for c in nb.cells]


def test_students_get_the_course_settings(course):
    text = student_config_text(course)
    assert "c.CourseDirectory.course_id = 'kobai-enshu'" in text
    assert f"c.Exchange.root = {str(course.resolve() / 'exchange')!r}" in text


def test_command_line_actions(course):
    assert command("student-config", None, course) == student_config_text(course)
    with pytest.raises(ValueError, match="needs an assignment"):
        command("release", None, course)
    assert command("release", NAME, course) == (
        f"released to {course.resolve() / 'exchange' / 'kobai-enshu' / 'outbound' / NAME}\n")
    assert command("collect", NAME, course) == f"{NAME}: collected: 0 student(s)\n"
