"""`make student-repo DEST=...` (instructor/studentrepo.py): what students may see, as a git repo.

Nothing of the masters leaks (every solution and hidden-test block of source/ is searched for in
the export, with the same search finding them in source/ and solutions/), only the named files
are exported, the content is reproducible, a second run adds a commit and loses nothing, a bad
DEST is refused with nothing changed.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from instructor.__main__ import main
from instructor.studentrepo import MARKER, STUDENT_PACKAGES, StudentRepoError, export
from tests.nbrun import ROOT
from tests.studentcourse import (
    NEW_ASSIGNMENT,
    course_copy,
    leaks,
    new_release,
    secret_texts,
)

URL = "https://git.example.invalid/kobai/kobai-student.git"
TOP_LEVEL = {"講義", "課題", "common", "README.md", "LICENSE", "requirements.txt",
             "constraints.txt", "pyproject.toml", "runtime.txt", "postBuild", ".gitignore", MARKER}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def tracked(repo: Path) -> set[str]:
    return set(filter(None, git(repo, "ls-files", "-z").split("\0")))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("export") / "kobai-student"
    export(dest, ROOT, URL)
    return dest


def test_no_solution_or_hidden_test_leaks(exported):
    blocks, lines = secret_texts()
    assert len(blocks) >= 30 and len(lines) >= 100  # the search has something to look for
    assert leaks(ROOT / "source"), "the leak search finds nothing even in the masters"
    assert leaks(ROOT / "solutions")
    assert leaks(exported) == []


def test_only_student_files_are_exported(exported):
    files = tracked(exported)
    assert {f.split("/")[0] for f in files} == TOP_LEVEL
    assert not [f for f in files if f.split("/")[0] in
                {"source", "solutions", "release", "notebooks", "tests", "instructor", "benchmarks"}
                or f.endswith((".db", "nbgrader_config.py", ".pyc")) or "__pycache__" in f]
    notes = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(f.split("/")[1] for f in files if f.startswith("講義/")) == notes
    for folder in sorted((ROOT / "release").iterdir()):
        got = exported / "課題" / folder.name / f"{folder.name}.ipynb"
        assert got.read_bytes() == (folder / f"{folder.name}.ipynb").read_bytes()
    assert (exported / "common" / "data" / "mnist_subset.npz").read_bytes() == \
        (ROOT / "common" / "data" / "mnist_subset.npz").read_bytes()
    assert git(exported, "status", "--porcelain") == ""  # everything committed
    assert git(exported, "branch", "--show-current").strip() == "main"


def test_readme_and_requirements_are_for_students(exported):
    readme = (exported / "README.md").read_text(encoding="utf-8")
    assert "nbgitpuller" in readme and "Colab" in readme and "Binder" in readme
    assert f"git clone {URL}" in readme and f"COMMON_SOURCE = 'git+{URL}'" in readme
    assert "{" + "url}" not in readme and "{colab_cell}" not in readme
    pins = {}
    for line in (exported / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "-")):
            req = Requirement(line)
            pins[req.name.lower()] = str(req.specifier)
    assert set(pins) == {name.lower() for name in STUDENT_PACKAGES}
    # the pins are the versions the course is tested with (installed in this environment)
    assert all(spec == f"=={version(name)}" for name, spec in pins.items())
    assert "-c constraints.txt" in (exported / "requirements.txt").read_text(encoding="utf-8")
    assert "kobai-enshu==" not in (exported / "constraints.txt").read_text(encoding="utf-8")


def test_command_line_reports_the_commit_and_a_missing_url(tmp_path, capsys):
    dest = tmp_path / "student"
    assert main(["student-repo", str(dest)]) == 0
    out = capsys.readouterr().out
    assert git(dest, "rev-parse", "HEAD").strip()[:12] in out and "new commit" in out
    assert "no URL given" in out
    assert "<学生用リポジトリの URL>" in (dest / "README.md").read_text(encoding="utf-8")
    assert main(["student-repo", str(dest), "--url", URL]) == 0
    out = capsys.readouterr().out
    assert "no URL given" not in out and "new commit" in out
    assert int(git(dest, "rev-list", "--count", "HEAD")) == 2


def test_content_is_reproducible(exported, tmp_path):
    again = tmp_path / "again"
    export(again, ROOT, URL)
    assert git(again, "rev-parse", "HEAD^{tree}") == git(exported, "rev-parse", "HEAD^{tree}")
    assert (again / "postBuild").stat().st_mode & 0o111  # executable, as repo2docker runs it
    other = tmp_path / "other-url"
    export(other, ROOT, "https://other.example.invalid/x.git")
    assert git(other, "rev-parse", "HEAD^{tree}") != git(exported, "rev-parse", "HEAD^{tree}")


def test_second_run_updates_without_losing_anything(tmp_path):
    course = course_copy(tmp_path / "course")
    dest = tmp_path / "student"
    first = export(dest, course, URL)
    assert first.changed and int(git(dest, "rev-list", "--count", "HEAD")) == 1
    assert not export(dest, course, URL).changed  # nothing new: no empty commit
    old_notes = sorted(f for f in tracked(dest) if f.startswith("講義/"))
    new_release(course)
    second = export(dest, course, URL)
    assert second.changed and second.commit != first.commit
    assert git(dest, "rev-list", "HEAD").split() == [second.commit, first.commit]
    files = tracked(dest)
    assert f"課題/{NEW_ASSIGNMENT}/{NEW_ASSIGNMENT}.ipynb" in files
    assert old_notes[-1] not in files and not (dest / old_notes[-1]).exists()
    assert "来週の予告" in (dest / old_notes[0]).read_text(encoding="utf-8")
    assert git(dest, "show", f"{first.commit}:{old_notes[-1]}")  # the old release stays in history
    assert leaks(dest, course) == []


def test_uncommitted_changes_in_the_export_are_refused(tmp_path):
    course = course_copy(tmp_path / "course")
    dest = tmp_path / "student"
    export(dest, course, URL)
    note = sorted((dest / "講義").glob("*.ipynb"))[0]
    nb = nbformat.read(note, as_version=4)
    nb.cells[0].source += "\n教員のメモ"
    nbformat.write(nb, note)
    edited = note.read_bytes()
    new_release(course)
    with pytest.raises(StudentRepoError, match="uncommitted changes"):
        export(dest, course, URL)
    assert note.read_bytes() == edited
    assert not (dest / "課題" / NEW_ASSIGNMENT).exists()


@pytest.mark.parametrize("where", ["root", "inside", "not-export", "file", "parent"])
def test_bad_dest_is_refused_with_a_clear_message(where, tmp_path, capsys):
    course = course_copy(tmp_path / "course") if where == "parent" else ROOT
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("大事なメモ", encoding="utf-8")
    dest = {"root": ROOT, "inside": ROOT / "release" / "student", "not-export": keep,
            "file": keep / "notes.txt", "parent": tmp_path}[where]
    message = {"root": "inside the course folder", "inside": "inside the course folder",
               "not-export": "is not empty and is not a student repository",
               "file": "is a file", "parent": "contains the course folder"}[where]
    assert main(["--root", str(course), "student-repo", str(dest), "--url", URL]) == 2
    err = capsys.readouterr().err
    assert message in err and "error:" in err
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "大事なメモ"
    assert sorted(p.name for p in keep.iterdir()) == ["notes.txt"]
    assert not (ROOT / "release" / "student").exists()
