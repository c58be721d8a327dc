"""instructor.collect: an LMS download (.zip) into submitted/<student>/<assignment>/.

One toy course (tests/toycourse.py) per test; the zips are written here, member by member, with
their times, so every expectation below comes from the zip the test made.
"""

from __future__ import annotations

import re
import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from instructor.collect import (
    BAD_NAME,
    CONFLICT,
    MAX_MEMBERS,
    NAMED_REGEXP,
    NOT_NOTEBOOK,
    REFUSED_ZIP,
    SUPERSEDED,
    UNKNOWN_NOTEBOOK,
    UNSAFE,
    CollectError,
    collect,
)
from tests.toycourse import CORRECT_ANSWER, WRONG_ANSWER, make_course, submission

NAME = "99_toy"
NOTEBOOK = f"{NAME}.ipynb"
T_OLD, T_MID, T_NEW = (2024, 5, 1, 9, 0, 0), (2024, 5, 1, 10, 0, 0), (2024, 5, 1, 11, 0, 0)


def _utc(date_time: tuple) -> datetime:
    """A zip time (local, no zone) as nbgrader stores timestamps: UTC, naive."""
    return datetime(*date_time).astimezone(timezone.utc).replace(tzinfo=None)


def _write_zip(path: Path, members: list[tuple[str, bytes, tuple]], links=()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, date_time in members:
            zf.writestr(zipfile.ZipInfo(name, date_time), data)
        for name, target in links:
            info = zipfile.ZipInfo(name, T_MID)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def course(tmp_path) -> Path:
    # Deep enough that the traversal members below would land inside tmp_path if unpacked.
    return make_course(tmp_path / "course", NAME)


@pytest.fixture
def answers(course) -> dict[str, bytes]:
    return {kind: nbformat.writes(submission(course, NAME, src)).encode()
            for kind, src in (("right", CORRECT_ANSWER), ("wrong", WRONG_ANSWER))}


@pytest.fixture
def lms_zip(tmp_path, course, answers) -> Path:
    """A download with good files of two students (one twice), and everything that must be left."""
    escape = "../" * 5  # from downloaded/<a>/extracted/<zip>/ up to tmp_path
    members = [
        ("Taro Yamada_101_assignsubmission_file_/s1234567_99_toy.ipynb", answers["wrong"], T_OLD),
        ("s1234567_99_toy-1.ipynb", answers["right"], T_NEW),  # same student, resubmitted later
        ("yamadahanako_202_303_s7654321_99_toy.ipynb", answers["right"], T_MID),  # Canvas prefix
        ("homework.ipynb", answers["right"], T_MID),  # name does not fit
        ("99_toy.ipynb", answers["right"], T_MID),  # no student id
        ("s1111111_98_other.ipynb", answers["right"], T_MID),  # unknown notebook
        ("s1111111_99_toy.py", b"print(1)\n", T_MID),  # not a notebook
        (f"{escape}escaped_s2222222_99_toy.ipynb", answers["right"], T_MID),
        (str(tmp_path / "escaped_abs.ipynb"), answers["right"], T_MID),
        ("..\\..\\..\\..\\..\\escaped_backslash.ipynb", answers["right"], T_MID),
    ]
    return _write_zip(tmp_path / "lms.zip", members,
                      links=[("escaped_link.ipynb", str(tmp_path / "course" / "gradebook.db"))])


def test_places_good_files_and_reports_every_other(course, lms_zip, answers, tmp_path):
    report = collect(lms_zip, NAME, course)

    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["s1234567", "s7654321"]
    assert report.students == ["s1234567", "s7654321"]
    s1 = submitted / "s1234567" / NAME
    assert sorted(p.name for p in s1.iterdir()) == [NOTEBOOK, "timestamp.txt"]
    assert (s1 / NOTEBOOK).read_bytes() == answers["right"], "the later copy must win"
    assert (s1 / "timestamp.txt").read_text() == str(_utc(T_NEW))
    assert (submitted / "s7654321" / NAME / NOTEBOOK).read_bytes() == answers["right"]
    assert (submitted / "s7654321" / NAME / "timestamp.txt").read_text() == str(_utc(T_MID))

    kinds = {}
    for s in report.skipped:
        if s.kind == UNSAFE:
            assert s.path == report.archive
            kinds[s.member] = s.kind
        else:
            assert s.path.is_file(), f"{s.path} reported but not kept"
            kinds[s.path.name] = s.kind
    assert kinds == {
        "s1234567_99_toy.ipynb": SUPERSEDED,
        "homework.ipynb": BAD_NAME,
        "99_toy.ipynb": BAD_NAME,
        "s1111111_98_other.ipynb": UNKNOWN_NOTEBOOK,
        "s1111111_99_toy.py": NOT_NOTEBOOK,
        "../../../../../escaped_s2222222_99_toy.ipynb": UNSAFE,
        str(tmp_path / "escaped_abs.ipynb"): UNSAFE,
        "..\\..\\..\\..\\..\\escaped_backslash.ipynb": UNSAFE,
        "escaped_link.ipynb": UNSAFE,
    }
    # Every member is either collected or listed; nothing was written outside the course.
    with zipfile.ZipFile(lms_zip) as zf:
        assert len(zf.namelist()) == len(report.collected) + len(report.skipped)
    assert report.archive.read_bytes() == lms_zip.read_bytes()
    assert list(tmp_path.rglob("escaped*")) == []
    text = report.format(course)
    for s in report.skipped:
        assert s.kind in text and s.detail in text


def test_running_again_changes_nothing(course, lms_zip):
    first = collect(lms_zip, NAME, course)
    before = _tree(course / "submitted"), _tree(course / "downloaded")
    second = collect(lms_zip, NAME, course)
    assert (_tree(course / "submitted"), _tree(course / "downloaded")) == before
    assert second.collected == first.collected
    assert sorted(map(str, second.skipped)) == sorted(map(str, first.skipped))


def test_a_later_download_adds_to_the_first(course, lms_zip, answers, tmp_path):
    collect(lms_zip, NAME, course)
    later = tmp_path / "later" / lms_zip.name  # same file name, other content
    later.parent.mkdir()
    _write_zip(later, [("s1234567_99_toy.ipynb", answers["wrong"], (2024, 5, 2, 8, 0, 0)),
                       ("s3333333_99_toy.ipynb", answers["right"], T_OLD)])
    report = collect(later, NAME, course)

    assert len(list(report.archive.parent.iterdir())) == 2, "the first download must be kept"
    assert report.students == ["s1234567", "s3333333", "s7654321"]
    submitted = course / "submitted"
    assert (submitted / "s1234567" / NAME / NOTEBOOK).read_bytes() == answers["wrong"]
    assert (submitted / "s3333333" / NAME / NOTEBOOK).read_bytes() == answers["right"]
    superseded = [s.path for s in report.skipped if s.kind == SUPERSEDED]
    assert sorted(p.name for p in superseded) == ["s1234567_99_toy-1.ipynb",
                                                  "s1234567_99_toy.ipynb"]


def test_reads_japanese_names_of_zips_made_on_windows(course, answers, tmp_path):
    # Windows tools store cp932 bytes without the UTF-8 flag: write ASCII placeholders of the
    # same length, then put the cp932 bytes in their place.
    real = {b"X" * 8: "課題提出".encode("cp932"), b"Y" * 4: "メモ".encode("cp932")}
    path = _write_zip(tmp_path / "win.zip", [("XXXXXXXX/s4444444_99_toy.ipynb", answers["right"],
                                              T_MID),
                                             ("XXXXXXXX/YYYY.txt", b"memo", T_MID)])
    raw = path.read_bytes()
    for placeholder, cp932 in real.items():
        assert len(placeholder) == len(cp932)
        raw = raw.replace(placeholder, cp932)
    path.write_bytes(raw)
    with zipfile.ZipFile(path) as zf:
        assert all(not info.flag_bits & 0x800 for info in zf.infolist())

    report = collect(path, NAME, course)
    assert report.collected[0].source.parent.name == "課題提出"
    assert [s.path.name for s in report.skipped] == ["メモ.txt"]


@pytest.mark.parametrize(("name", "student_id", "file_id"), [
    ("s1234567_01_gradient.ipynb", "s1234567", "01_gradient"),
    ("S1234567_01_gradient-2.ipynb", "S1234567", "01_gradient"),
    ("s1234567_01_gradient (1).ipynb", "s1234567", "01_gradient"),
    ("1234567_02_gradient_descent.ipynb", "1234567", "02_gradient_descent"),
    ("yamadataro_LATE_12345_67890_s1234567_03_simplenet.ipynb", "s1234567", "03_simplenet"),
    ("yamadataro_12345_67890_s1234567_03_simplenet-1.ipynb", "s1234567", "03_simplenet"),
    ("s1234567-01_gradient.ipynb", None, None),
    ("s.1234567_01_gradient.ipynb", None, None),
    ("s1234567_01_gradient.ipynb.txt", None, None),
])
def test_file_name_pattern(name, student_id, file_id):
    match = re.match(NAMED_REGEXP, name)
    if student_id is None:
        assert match is None
    else:
        assert (match["student_id"], match["file_id"]) == (student_id, file_id)


def test_refuses_what_is_not_a_zip_or_has_no_release(course, tmp_path, lms_zip):
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("not a zip")
    with pytest.raises(CollectError, match="not a zip"):
        collect(not_zip, NAME, course)
    with pytest.raises(CollectError, match="no such file"):
        collect(tmp_path / "missing.zip", NAME, course)
    with pytest.raises(CollectError, match="make assignments"):
        collect(lms_zip, "00_missing", course)
    assert not (course / "submitted").exists()


# -- attacks, written the way a student who reads this repository would ---------------------------
def test_an_upload_named_like_a_classmates_replaces_nothing(course, answers, tmp_path):
    """Moodle: each student's files sit in the folder Moodle names after them; Canvas: in the
    name prefix Canvas writes. The student id in the file name is the student's own choice."""
    first = _write_zip(tmp_path / "first.zip", [
        ("Taro Yamada_101_assignsubmission_file_/s1234567_99_toy.ipynb", answers["right"], T_OLD),
        ("Hanako Sato_202_assignsubmission_file_/s7654321_99_toy.ipynb", answers["wrong"], T_OLD),
    ])
    collect(first, NAME, course)
    victim = course / "submitted" / "s1234567" / NAME / NOTEBOOK
    assert victim.read_bytes() == answers["right"]

    # Hanako uploads a later file named like Taro's (Moodle), Jiro does the same on Canvas
    later = _write_zip(tmp_path / "later.zip", [
        ("Hanako Sato_202_assignsubmission_file_/s1234567_99_toy.ipynb", answers["wrong"], T_NEW),
        ("satojiro_303_909_s7654321_99_toy.ipynb", answers["right"], T_NEW),
        ("satojiro_303_910_s3333333_99_toy.ipynb", answers["right"], T_NEW),
    ])
    report = collect(later, NAME, course)

    assert victim.read_bytes() == answers["right"], "the classmate's submission was replaced"
    hanako = course / "submitted" / "s7654321" / NAME / NOTEBOOK
    assert hanako.read_bytes() == answers["wrong"]
    assert not (course / "submitted" / "s3333333").exists()
    conflicts = {s.path.name: s.detail for s in report.skipped if s.kind == CONFLICT}
    assert set(conflicts) == {"s1234567_99_toy.ipynb", "s7654321_99_toy.ipynb",
                              "satojiro_303_909_s7654321_99_toy.ipynb",
                              "satojiro_303_910_s3333333_99_toy.ipynb"}, report.format(course)
    assert any("Moodle Hanako Sato_202" in d and "Moodle Taro Yamada_101" in d
               for d in conflicts.values())
    assert "[conflict]" in report.format(course)
    assert report.students == []


def test_bad_members_are_reported_and_block_no_one(course, answers, tmp_path):
    long_name = "n" * 300 + ".ipynb"
    bad = _write_zip(tmp_path / "bad.zip", [
        ("s1234567_99_toy.ipynb", answers["right"], T_MID),
        ("x", b"a file", T_MID),  # then x/y: a member below a file
        ("x/s7654321_99_toy.ipynb", answers["right"], T_MID),
        (f"s2222222_{long_name}", answers["right"], T_MID),  # a name over 255 bytes
        (f"{'d' * 300}/s3333333_99_toy.ipynb", answers["right"], T_MID),  # a folder over 255
    ])
    report = collect(bad, NAME, course)
    assert report.students == ["s1234567"]
    unsafe = {s.member: s.detail for s in report.skipped if s.kind == UNSAFE}
    assert set(unsafe) == {"x/s7654321_99_toy.ipynb", f"s2222222_{long_name}",
                           f"{'d' * 300}/s3333333_99_toy.ipynb"}, report.format(course)
    assert "folder" in unsafe["x/s7654321_99_toy.ipynb"]
    assert "255" in unsafe[f"s2222222_{long_name}"]
    # a later, good download still goes in, and the bad one is reported again, nothing more
    good = _write_zip(tmp_path / "good.zip", [("s7654321_99_toy.ipynb", answers["right"], T_NEW)])
    again = collect(good, NAME, course)
    assert again.students == ["s1234567", "s7654321"]
    assert {s.member for s in again.skipped if s.kind == UNSAFE} == set(unsafe)


def _bomb(path: Path, members: int, size: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for i in range(members):
            info = zipfile.ZipInfo(f"s{i:07d}_99_toy.ipynb", T_MID)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as out:
                chunk = b" " * (1 << 20)
                for _ in range(size // len(chunk)):
                    out.write(chunk)
    return path


def test_a_zip_bomb_is_refused_without_unpacking(course, tmp_path):
    bomb = _bomb(tmp_path / "bomb.zip", members=16, size=32 * 1024 * 1024)  # 512 MB
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(CollectError, match="zip bomb"):
        collect(bomb, NAME, course)
    downloaded = course / "downloaded"
    unpacked = sum(p.stat().st_size for p in downloaded.rglob("*") if p.is_file()) \
        if downloaded.exists() else 0
    assert unpacked == 0
    assert not (course / "submitted").exists()


def test_limits_on_count_size_and_a_stored_bomb_is_quarantined(course, answers, tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(MAX_MEMBERS + 1):
            zf.writestr(zipfile.ZipInfo(f"f{i}.txt", T_MID), b"")
    with pytest.raises(CollectError, match="members"):
        collect(many, NAME, course)
    one_big = _bomb(tmp_path / "one.zip", members=1, size=80 * 1024 * 1024)
    with pytest.raises(CollectError, match="zip bomb"):
        collect(one_big, NAME, course)
    # a bomb stored by an earlier version of collect: moved aside once, later runs go on
    good = _write_zip(tmp_path / "good.zip", [("s1234567_99_toy.ipynb", answers["right"], T_MID)])
    collect(good, NAME, course)
    archive = course / "downloaded" / NAME / "archive"
    (archive / "old-bomb.zip").write_bytes(_bomb(tmp_path / "b2.zip", 16, 32 << 20).read_bytes())
    report = collect(good, NAME, course)
    refused = [s for s in report.skipped if s.kind == REFUSED_ZIP]
    assert [s.path.name for s in refused] == ["old-bomb.zip"]
    assert refused[0].path.parent.name == "quarantine" and refused[0].path.is_file()
    assert report.students == ["s1234567"]
    assert [s.kind for s in collect(good, NAME, course).skipped] == []
