"""nbgitpuller: the link generator (instructor/pulllink.py) and a real pull of the student repo.

The pull uses nbgitpuller's own machinery (``nbgitpuller.pull.GitPuller``, what the server
extension runs when a student opens a link) against an export reached by a file:// URL, into a
temporary home. A second pull after the instructor's next release keeps the student's answers
(nbgitpuller commits them, then merges with ``-Xours``) and brings the new files. And a real
``jupyter server`` of the course environment (nbgitpuller's extension loaded, as on the hub)
takes a generated link: its page sends the browser where the link says, its API pulls the repo
into the server's root (the user's home), and the file the link opens is there.
"""

from __future__ import annotations

import html
import re
import sys
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import nbformat
import pytest
from nbgitpuller.pull import GitPuller

from instructor.__main__ import main
from instructor.pulllink import LinkError, nbgitpuller_link, target_folder
from instructor.studentrepo import export
from tests.nbrun import ROOT
from tests.studentcourse import NEW_ASSIGNMENT, course_copy, new_release
from tests.test_validate import _start as start_jupyter

REPO = "https://git.example.invalid/kobai/kobai-student.git"
HUB = "https://hub.example.invalid"


def query(link: str) -> dict[str, str]:
    parts = urlsplit(link)
    values = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in values.values())
    return {k: v[0] for k, v in values.items()}


def test_link_points_at_the_hub_and_round_trips_every_value():
    path = "課題/01_gradient/01_gradient.ipynb"
    link = nbgitpuller_link(REPO, HUB, branch="main", path=path)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == \
        ("https", "hub.example.invalid", "/hub/user-redirect/git-pull")
    assert link.isascii() and " " not in link
    got = query(link)
    assert got["repo"] == REPO and got["branch"] == "main" and "targetpath" not in got
    assert unquote(got["urlpath"]) == f"lab/tree/kobai-student.git/{path}"


@pytest.mark.parametrize("name", ["講義/01 勾配.ipynb", "a#b?c&d=e%20f+g.ipynb", "x/y/z.ipynb"])
def test_any_file_name_stays_one_path(name):
    got = query(nbgitpuller_link(REPO, HUB + "/", path=name))
    urlpath = got["urlpath"]
    assert "#" not in urlpath and "?" not in urlpath and " " not in urlpath
    assert unquote(urlpath) == f"lab/tree/kobai-student.git/{name}"
    assert "branch" not in got


def test_hub_prefix_targetpath_and_no_path():
    link = nbgitpuller_link("file:///srv/kobai-student/", "http://127.0.0.1:8000/jhub/",
                            targetpath="kobai")
    assert link.startswith("http://127.0.0.1:8000/jhub/hub/user-redirect/git-pull?")
    got = query(link)
    assert got["repo"] == "file:///srv/kobai-student/" and got["targetpath"] == "kobai"
    assert got["urlpath"] == "lab/tree/kobai"
    # nbgitpuller's own default: the last part of the URL (trailing slashes dropped, .git kept)
    assert target_folder("file:///srv/kobai-student/") == "kobai-student"
    assert target_folder(REPO) == "kobai-student.git"


@pytest.mark.parametrize("hub, path, message", [
    ("hub.example.invalid", None, "http"),
    ("ftp://hub.example.invalid", None, "http"),
    ("https://hub.example.invalid/?x=1", None, "no query"),
    (HUB, "../secret.ipynb", "inside the repository"),
    (HUB, "課題/../../x", "inside the repository"),
])
def test_bad_arguments_are_refused(hub, path, message):
    with pytest.raises(LinkError, match=message):
        nbgitpuller_link(REPO, hub, path=path)


def test_command_line_prints_the_link(capsys):
    assert main(["nbgitpuller-link", "--repo", REPO, "--hub", HUB, "--branch", "main",
                 "--path", "講義"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == nbgitpuller_link(REPO, HUB, branch="main", path="講義")
    assert main(["nbgitpuller-link", "--repo", REPO, "--hub", "nohub"]) == 2
    assert "error:" in capsys.readouterr().err


def pull(repo: Path, home: Path) -> Path:
    """What the nbgitpuller extension does for a link: GitPuller(...).pull(), run to the end."""
    target = home / target_folder(repo.as_uri())
    lines = list(GitPuller(repo.as_uri(), str(target), branch="main", depth=1).pull())
    assert lines  # it ran git
    return target


def answer(notebook: Path, text: str) -> None:
    """The student writes ``text`` into the first solution cell of ``notebook``."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    cell.source = text
    nbformat.write(nb, notebook)


def test_pull_into_a_home_and_again_after_a_new_release_keeps_the_students_work(tmp_path):
    course = course_copy(tmp_path / "course")
    repo = tmp_path / "srv" / "kobai-student"
    export(repo, course)
    home = tmp_path / "home" / "s001"
    home.mkdir(parents=True)

    mine = pull(repo, home)
    assert mine == home / "kobai-student"
    first = sorted((mine / "課題").iterdir())[0].name
    notebook = mine / "課題" / first / f"{first}.ipynb"
    assert notebook.read_bytes() == (course / "release" / first / f"{first}.ipynb").read_bytes()
    assert (mine / "common" / "data" / "mnist_subset.npz").is_file()

    my_answer = "def numerical_diff(f, x):\n    return (f(x + 1e-4) - f(x - 1e-4)) / 2e-4\n"
    answer(notebook, my_answer)
    (mine / "メモ.txt").write_text("自分のメモ", encoding="utf-8")
    notes = sorted((mine / "講義").glob("*.ipynb"))
    notes[1].unlink()  # deleted by mistake: nbgitpuller brings it back

    new_release(course)  # a new assignment, lecture note 1 changed, the last one removed
    released = course / "release" / first / f"{first}.ipynb"  # and a fix in the same notebook
    nb = nbformat.read(released, as_version=4)
    nb.cells[-1].source += "\n\n(訂正: 誤植を直しました)"
    nbformat.write(nb, released)
    export(repo, course)
    assert pull(repo, home) == mine

    nb = nbformat.read(notebook, as_version=4)
    assert my_answer in [c.source for c in nb.cells]  # the student's answer is kept
    assert "訂正: 誤植を直しました" in nb.cells[-1].source  # the fix elsewhere merged in
    assert (mine / "メモ.txt").read_text(encoding="utf-8") == "自分のメモ"
    assert (mine / "課題" / NEW_ASSIGNMENT / f"{NEW_ASSIGNMENT}.ipynb").is_file()
    assert "来週の予告" in notes[0].read_text(encoding="utf-8")
    assert notes[1].is_file()
    assert not notes[-1].exists()  # removed upstream, never touched by the student


def test_a_jupyter_server_follows_the_link_and_pulls_into_the_home(tmp_path):
    repo = tmp_path / "srv" / "kobai-student"
    export(repo, ROOT)
    home = tmp_path / "home"
    home.mkdir()
    path = "課題/01_gradient/01_gradient.ipynb"
    link = nbgitpuller_link(repo.as_uri(), "https://hub.example.invalid", branch="main",
                            path=path)
    proc, url, token = start_jupyter([sys.executable, "-m", "jupyter_server"], home)
    auth = {"Authorization": f"token {token}"}

    def get(route: str) -> str:
        request = urllib.request.Request(f"{url}/{route}", headers=auth)
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read().decode("utf-8")

    try:
        # the hub sends /hub/user-redirect/git-pull?... to /user/<name>/git-pull?...
        page = get("git-pull?" + urlsplit(link).query)
        data_path = re.search(r'data-path="([^"]*)"', page).group(1)
        redirect = unquote(html.unescape(data_path))  # what the page's script goes to
        assert unquote(redirect) == f"lab/tree/kobai-student/{path}"
        # what the page's script then asks the server (repo and branch of the link)
        got = query(link)
        events = get("git-pull/api?" + urlencode({"repo": got["repo"], "branch": got["branch"]}))
        assert '"phase": "finished"' in events, events[-2000:]
        pulled = home / "kobai-student" / path
        assert pulled.read_bytes() == (ROOT / "release" / "01_gradient" /
                                       "01_gradient.ipynb").read_bytes()
        model = get("api/contents/" + redirect.removeprefix("lab/tree/") + "?content=0")
        assert '"type": "notebook"' in model
    finally:
        proc.terminate()
        proc.wait(timeout=30)
