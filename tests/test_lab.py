"""`make lab` — the students' command: a work folder of their own, JupyterLab on it in Japanese.

`make lab` runs in a throwaway copy of the course (tests.browser.copy_course); what the student
sees in the browser is tested in test_browser.py.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from instructor.lab import ASSIGNMENTS, LECTURES, prepare_work, work_copies
from tests.browser import TOKEN, Server, copy_course
from tests.nbrun import ROOT


@pytest.fixture
def course(tmp_path):
    return copy_course(tmp_path / "course")


def test_make_lab_serves_the_work_folder_in_japanese(course):
    server = Server(course, "lab", course.parent / "home")
    try:
        assert "started" in server.api("/api/status")
        setting = server.api("/lab/api/settings/@jupyterlab/translation-extension:plugin")
        # overrides.json (written by `make install`) makes Japanese the default locale
        assert setting["schema"]["properties"]["locale"]["default"] == "ja_JP"
        assert "ja_JP" in server.api("/lab/api/translations/")["data"]
        top = {item["name"] for item in server.api("/api/contents/")["content"]}
        assert top == {LECTURES, ASSIGNMENTS}  # the work folder, not the course
        release = course / "release" / "01_gradient" / "01_gradient.ipynb"
        before = release.read_bytes()
        for path in ("../release/01_gradient/01_gradient.ipynb", "%2E%2E/release/x.txt"):
            body = json.dumps({"type": "file", "format": "text", "content": "x"}).encode()
            req = urllib.request.Request(f"{server.url}/api/contents/{path}", data=body,
                                         method="PUT", headers={"Authorization": f"token {TOKEN}"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=10)
            assert 400 <= refused.value.code < 500
        assert release.read_bytes() == before and not (course / "release" / "x.txt").exists()
    finally:
        server.stop()
    assert "作業フォルダ" in server.log()


def test_every_note_and_release_file_gets_one_copy_with_distinct_names():
    pairs = work_copies(ROOT)
    dests = [dest for _src, dest in pairs]
    assert len(dests) == len(set(dests))
    notes = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(d.name for d in dests if d.parts[0] == LECTURES) == notes
    releases = sorted((ROOT / "release").glob("*/*.ipynb"))
    assert {d for d in dests if d.parts[0] == ASSIGNMENTS} == {
        Path(ASSIGNMENTS) / d.relative_to(ROOT / "release") for d in releases}


def test_work_copies_are_made_once_and_never_overwritten(tmp_path):
    work = tmp_path / "work"
    first = prepare_work(work, ROOT)
    assert first.copied and not first.problems
    answered = work / ASSIGNMENTS / "01_gradient" / "01_gradient.ipynb"
    answered.write_text(answered.read_text("utf-8").replace("raise NotImplementedError()",
                                                            "return 42"), encoding="utf-8")
    mine = answered.read_bytes()
    again = prepare_work(work, ROOT)
    assert again.copied == [] and len(again.kept) == len(first.copied)
    assert answered.read_bytes() == mine


def test_deleted_renamed_or_blocked_copies(tmp_path):
    work = tmp_path / "work"
    prepare_work(work, ROOT)
    deleted = work / LECTURES / "01_gradient.ipynb"
    deleted.unlink()
    renamed = work / ASSIGNMENTS / "02_gradient_descent"
    renamed.rename(renamed.with_name("02_old"))
    blocked = work / ASSIGNMENTS / "03_simplenet"
    shutil.rmtree(blocked)
    blocked.write_text("a file where the assignment's folder belongs", encoding="utf-8")
    result = prepare_work(work, ROOT)
    assert deleted.read_bytes() == (ROOT / "notebooks" / "01_gradient.ipynb").read_bytes()
    assert (renamed / "02_gradient_descent.ipynb").is_file()
    assert (work / ASSIGNMENTS / "02_old" / "02_gradient_descent.ipynb").is_file()
    assert len(result.problems) == 1 and "03_simplenet" in result.problems[0]
    assert blocked.read_text("utf-8").startswith("a file")  # left alone, reported
    assert "注意" in result.report(work)
