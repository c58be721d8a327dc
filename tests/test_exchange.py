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

# First grading in a fresh gradebook: nbgrader's own SQLAlchemy noise.
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


# -- attacks on collect, written the way a student on the shared machine would --------------------
def _inbound(course: Path) -> Path:
    return course / "exchange" / "kobai-enshu" / "inbound"


def _entry(course: Path, student: str, timestamp: str = "2024-05-01 10:00:00.000000 UTC") -> Path:
    """An inbound submission made by hand (what nbgrader's submit makes, without nbgrader)."""
    entry = _inbound(course) / f"{student}+{NAME}+{timestamp}+{student}rand"
    entry.mkdir()
    nb = nbformat.read(course / "release" / NAME / NOTEBOOK, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    cell.source = f"# 答案 {student}\n{CORRECT_ANSWER}"
    nbformat.write(nb, entry / NOTEBOOK)
    (entry / "timestamp.txt").write_text(timestamp.removesuffix(" UTC"))
    return entry


def _quarantined(course: Path) -> list[str]:
    folder = course / "exchange" / "kobai-enshu" / "quarantine"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_collect_refuses_links_foreign_owners_and_bad_names_and_collects_the_rest(course):
    import os
    import pwd

    from instructor.exchange import collect_report

    release_assignment(NAME, course)
    honest = _entry(course, "s1111111")
    inbound = _inbound(course)
    master = course / "source" / NAME
    # 1. the whole entry is a link to the master's folder
    (inbound / f"s3333333+{NAME}+2024-05-01 11:00:00.000000 UTC+x").symlink_to(master)
    # 2. a real folder whose notebook is a link to the master notebook
    linked = _entry(course, "s4444444")
    (linked / NOTEBOOK).unlink()
    (linked / NOTEBOOK).symlink_to(master / NOTEBOOK)
    # 3. a fifo inside (copying it would hang the collector)
    fifo = _entry(course, "s5555555")
    os.mkfifo(fifo / "notes.txt")
    # 4. a timestamp nbgrader cannot parse (aborted collect for everyone, on every run)
    _entry(course, "s6666666", timestamp="yesterday-ish")
    # 5. named after a classmate with an account ("nobody") but written by someone else (us)
    _entry(course, "nobody")
    # 6. named after a student without an account, written by another account
    foreign = _entry(course, "s7777777")
    nobody = pwd.getpwnam("nobody")
    for path in (foreign, *foreign.iterdir()):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)

    students, refused = collect_report(NAME, course)

    assert students == ["s1111111"]
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["s1111111"]
    text = (submitted / "s1111111" / NAME / NOTEBOOK).read_text(encoding="utf-8")
    assert "答案 s1111111" in text
    assert not list(submitted.rglob("*.collecting"))
    why = dict(refused)
    assert len(why) == 6, refused
    assert "symbolic link" in why[f"s3333333+{NAME}+2024-05-01 11:00:00.000000 UTC+x"]
    assert any("symbolic link" in w and k.startswith("s4444444") for k, w in why.items())
    assert any("fifo" in w and k.startswith("s5555555") for k, w in why.items())
    assert any("timestamp" in w and k.startswith("s6666666") for k, w in why.items())
    assert any("not by nobody" in w and k.startswith("nobody") for k, w in why.items())
    assert any("owned by nobody" in w and k.startswith("s7777777") for k, w in why.items())
    # quarantined and reported once: the next run sees only the honest entry, still collected
    assert len(_quarantined(course)) == 6
    assert sorted(p.name for p in inbound.iterdir()) == [honest.name]
    assert (master / NOTEBOOK).is_file(), "the master is untouched (the link was moved, not it)"
    assert collect_report(NAME, course) == (["s1111111"], [])
    assert "REFUSED" not in command("collect", NAME, course)


def test_a_bad_timestamp_in_a_collected_submission_blocks_nothing(course):
    from instructor.exchange import collect_report

    release_assignment(NAME, course)
    _entry(course, "s1111111")
    assert collect_report(NAME, course) == (["s1111111"], [])
    stamp = course / "submitted" / "s1111111" / NAME / "timestamp.txt"
    stamp.write_text("not a time")  # what the student wrote into their own timestamp.txt
    _entry(course, "s2222222")
    newer = _entry(course, "s1111111", timestamp="2024-05-02 10:00:00.000000 UTC")
    students, refused = collect_report(NAME, course)
    assert (students, refused) == (["s1111111", "s2222222"], [])
    assert stamp.read_text() == "2024-05-02 10:00:00.000000"  # unreadable counts as older
    assert newer.exists()
