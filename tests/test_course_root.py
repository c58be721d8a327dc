"""The course folder is where the instructor works, not where the package is installed.

One installed environment (this venv, the package installed once) serves two course folders:
``python -m instructor`` run in each acts on that folder's files only. A folder that is no course
gets a clear error; only grading needs bubblewrap (``grades`` runs with a PATH that has no bwrap).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from instructor.course import CONFIG_FILE, CourseNotFound, find_root, load_config
from tests.toycourse import make_course, submission

NAME = "99_toy"
VENV_BIN = Path(sys.executable).parent


def _instructor(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess:
    """``python -m instructor <args>`` in ``cwd`` with this venv's Python (installed package)."""
    env = {**os.environ, "PYTHONUTF8": "1", "PATH": path or os.environ.get("PATH", "")}
    env.pop("PYTHONPATH", None)  # the package comes from the venv's install, not from this repo
    return subprocess.run([sys.executable, "-m", "instructor", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _submit(root: Path, student: str, assignment: str = NAME) -> None:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(submission(root, NAME, "x = 1\n"), folder / f"{assignment}.ipynb")


def _add_assignment(root: Path, name: str) -> None:
    """A second assignment in ``root/source``: the toy master under another name."""
    (root / "source" / name).mkdir()
    shutil.copyfile(root / "source" / NAME / f"{NAME}.ipynb",
                    root / "source" / name / f"{name}.ipynb")


@pytest.fixture
def sections(tmp_path) -> tuple[Path, Path]:
    """Two course folders (two sections of the class), each with its own student."""
    first, second = make_course(tmp_path / "section-a"), make_course(tmp_path / "section-b")
    _submit(first, "s1111111")
    _submit(second, "s2222222")
    return first, second


def test_the_package_is_not_inside_the_course_folders(sections):
    # Otherwise `python -m instructor` in a course folder would import that folder's own copy.
    for root in sections:
        assert not (root / "instructor").exists() and not (root / "common").exists()
    where = _instructor("--help", cwd=sections[0])
    assert where.returncode == 0, where.stderr


def test_two_course_folders_served_by_one_installed_environment(sections):
    first, second = sections
    _add_assignment(second, "98_extra")

    made = _instructor("assignments", "98_extra", cwd=second / "source")  # found upward
    assert made.returncode == 0, made.stderr
    assert (second / "release" / "98_extra" / "98_extra.ipynb").is_file()
    assert not (first / "release" / "98_extra").exists()

    for root, own, other in ((first, "s1111111", "s2222222"), (second, "s2222222", "s1111111")):
        table = _instructor("grades", cwd=root)
        assert table.returncode == 0, table.stderr
        assert own in table.stdout and other not in table.stdout, table.stdout
        assert ("98_extra" in table.stdout) == (root == second), table.stdout

        config = _instructor("exchange", "student-config", cwd=root)
        assert config.returncode == 0, config.stderr
        assert f"c.Exchange.root = {str(root / 'exchange')!r}" in config.stdout


def test_root_option_names_the_course_from_anywhere(sections, tmp_path):
    first, _second = sections
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    table = _instructor("--root", str(first), "grades", cwd=elsewhere)
    assert table.returncode == 0, table.stderr
    assert "s1111111" in table.stdout and "s2222222" not in table.stdout


def test_a_folder_that_is_no_course_gets_a_clear_error(tmp_path):
    elsewhere = tmp_path / "no-course"
    elsewhere.mkdir()
    for args in (("grades",), ("assignments",), ("exchange", "student-config")):
        done = _instructor(*args, cwd=elsewhere)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert "no course folder here" in done.stderr and "--root" in done.stderr, done.stderr
        assert str(elsewhere) in done.stderr
    named = _instructor("--root", str(elsewhere), "grades", cwd=tmp_path)
    assert named.returncode == 2 and "Traceback" not in named.stderr
    assert f"{elsewhere} is not a course folder: it has no {CONFIG_FILE}" in named.stderr
    assert list(elsewhere.iterdir()) == []  # nothing written where no course is


def test_grades_needs_no_bubblewrap_but_grading_does(sections):
    root = sections[0]
    no_bwrap = str(VENV_BIN)  # the venv's bin only: nbgrader's alembic, no bwrap
    assert shutil.which("bwrap", path=no_bwrap) is None
    table = _instructor("grades", cwd=root, path=no_bwrap)
    assert table.returncode == 0, table.stderr
    assert "s1111111" in table.stdout
    grading = _instructor("grade", cwd=root, path=no_bwrap)
    assert grading.returncode == 2 and "Traceback" not in grading.stderr
    assert "bubblewrap" in grading.stderr and "--unsafe" in grading.stderr, grading.stderr
    assert not (root / "autograded").exists()


# -- find_root and load_config, in process --------------------------------------------------
def test_find_root_walks_up_from_the_working_folder(tmp_path, monkeypatch):
    course = tmp_path / "course"
    deep = course / "submitted" / "s1" / NAME
    deep.mkdir(parents=True)
    (course / CONFIG_FILE).write_text("c = get_config()  # noqa: F821\n", encoding="utf-8")
    assert find_root(start=deep) == course.resolve()
    assert find_root(start=course) == course.resolve()
    monkeypatch.chdir(deep)
    assert find_root() == course.resolve()
    # --root wins over the working folder, and must itself be a course folder
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(CourseNotFound, match="is not a course folder"):
        find_root(other)
    (other / CONFIG_FILE).write_text("c = get_config()  # noqa: F821\n", encoding="utf-8")
    assert find_root(other) == other.resolve()
    # the nearest course folder wins: a course inside another (a copy in a subfolder)
    inner = course / "copy"
    inner.mkdir()
    (inner / CONFIG_FILE).write_text("c = get_config()  # noqa: F821\n", encoding="utf-8")
    assert find_root(start=inner) == inner.resolve()


def test_find_root_outside_any_course(tmp_path):
    with pytest.raises(CourseNotFound, match="no course folder here") as err:
        find_root(start=tmp_path)
    assert str(tmp_path) in str(err.value) and "--root" in str(err.value)


def test_load_config_uses_no_other_course_config(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    with pytest.raises(CourseNotFound):  # no silent fallback to the repository's config
        load_config(course)
    (course / CONFIG_FILE).write_text(
        'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "section-b"\n',
        encoding="utf-8")
    config = load_config(course)
    assert config.CourseDirectory.course_id == "section-b"
    assert config.CourseDirectory.root == str(course.resolve())
