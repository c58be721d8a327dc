"""Validate as a student meets it: short Japanese messages, no test source, no traceback.

``instructor.validate`` (module docstring says why nbgrader's own Validator cannot be
configured so) is checked from the command line, through the endpoint that the JupyterLab
Validate button calls (a real ``jupyter server`` on a free port), and by clicking Validate in
JupyterLab in Chromium (screenshot in ``screenshots/``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.nbrun import ROOT, grade_id, read, submission

NAME = "01_gradient"
# Lines of the visible test cells that nbgrader's Validator would print in full.
TEST_SOURCE = ("def diff_mistakes", "check_close(", "Traceback", "print(\"OK:")
STUB_MESSAGE = "まだ解答していません"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUTF8": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def _cli(notebook: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instructor", "validate", str(notebook)],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)


def _wrong_first_answer() -> nbformat.NotebookNode:
    first = next(grade_id(c) for c in read("source", NAME).cells
                 if c.metadata.get("nbgrader", {}).get("solution"))
    return submission(NAME, {first: "def numerical_diff(f, x):\n    h = 1e-4\n"
                                    "    return (f(x + h) - f(x)) / h\n"})


def _test_ids() -> list[str]:
    return [grade_id(c) for c in read("release", NAME).cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def test_release_stubs_raise_a_japanese_message():
    for path in sorted((ROOT / "release").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                 and c.cell_type == "code"]
        assert stubs, path
        for cell in stubs:
            assert f'raise NotImplementedError("{STUB_MESSAGE}' in cell.source, \
                (path.name, cell.source)
            assert "raise NotImplementedError()" not in cell.source


def test_cli_untouched_release_shows_only_the_messages(tmp_path):
    notebook = tmp_path / f"{NAME}.ipynb"
    shutil.copyfile(ROOT / "release" / NAME / f"{NAME}.ipynb", notebook)
    proc = _cli(notebook)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    for gid in _test_ids():
        assert f"テスト {gid} (" in out, (gid, out)
    assert out.count(STUB_MESSAGE) >= len(_test_ids()), out
    assert "合格していません" in out
    for text in TEST_SOURCE:
        assert text not in out, (text, out)
    assert len(out) < 4000, len(out)


def test_cli_wrong_answer_shows_the_check_message(tmp_path):
    notebook = tmp_path / f"{NAME}.ipynb"
    nbformat.write(_wrong_first_answer(), notebook)
    proc = _cli(notebook)
    assert proc.returncode == 1
    assert "前進差分" in proc.stdout and "期待した結果" in proc.stdout, proc.stdout
    for text in TEST_SOURCE:
        assert text not in proc.stdout, (text, proc.stdout)


def test_cli_solution_passes():
    proc = _cli(ROOT / "solutions" / NAME / f"{NAME}.ipynb")
    assert proc.returncode == 0, proc.stdout
    assert "すべてのテストに合格しました" in proc.stdout


def test_cli_missing_notebook_is_a_clear_error(tmp_path):
    proc = _cli(tmp_path / "nothing.ipynb")
    assert proc.returncode == 2 and "no such notebook" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# written by `make install` (Makefile): every Jupyter server of the venv loads the extension
SERVER_CONFIG = (Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d"
                 / "instructor-validate.json")


def _start(app: list[str], root: Path):
    """``app`` (jupyter server or lab) as ``make lab`` configures it, root ``root``."""
    if not SERVER_CONFIG.is_file():
        pytest.fail(f"{SERVER_CONFIG} is missing: run `make install`")
    port, token = _free_port(), "validate-test-token"
    log = root.parent / f"{root.name}-jupyter.log"  # a file: an unread pipe would fill and block
    with log.open("w") as log_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [*app, "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
             *(["--allow-root"] if os.getuid() == 0 else [])],
            cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=log_file)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        return proc, url, token
    except BaseException:
        proc.terminate()
        proc.wait(timeout=30)
        raise


@pytest.fixture
def server(tmp_path):
    """``jupyter server`` with the venv's configuration (no extra flag), root ``tmp_path``."""
    proc, url, token = _start([sys.executable, "-m", "jupyter_server"], tmp_path)
    try:
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _validate(url: str, token: str, path: str) -> dict:
    request = urllib.request.Request(
        f"{url}/assignments/validate", data=json.dumps({"path": path}).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST")
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def _short_failures(answer: dict) -> list[dict]:
    assert answer["success"] is True, answer
    failed = answer["value"]["failed"]
    for entry in failed:
        assert entry["source"].startswith("テスト "), entry["source"]
        for text in TEST_SOURCE:
            assert text not in entry["source"] + entry["raw_error"], (text, entry)
    assert len(json.dumps(answer, ensure_ascii=False)) < 2000 * len(failed)
    return failed


def test_validate_button_endpoint_returns_short_japanese_messages(server, tmp_path):
    url, token = server
    nbformat.write(_wrong_first_answer(), tmp_path / "wrong.ipynb")
    failed = _short_failures(_validate(url, token, "wrong.ipynb"))
    assert [e["source"] for e in failed] == ["テスト numerical_diff_test (3 点)"], failed
    assert "前進差分" in failed[0]["raw_error"], failed
    shutil.copyfile(ROOT / "release" / NAME / f"{NAME}.ipynb", tmp_path / "untouched.ipynb")
    failed = _short_failures(_validate(url, token, "untouched.ipynb"))
    assert len(failed) == len(_test_ids()), failed
    assert all(STUB_MESSAGE in e["raw_error"] for e in failed), failed


def test_validate_dialog_in_jupyterlab(tmp_path):
    """The Validate button of a release notebook in JupyterLab (Chromium): short messages."""
    from tests.test_feedback_page import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS, _browser

    shutil.copyfile(ROOT / "release" / NAME / f"{NAME}.ipynb", tmp_path / f"{NAME}.ipynb")
    lab = [str(Path(sys.executable).parent / "jupyter"), "lab"]
    proc, url, token = _start(lab, tmp_path)
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        with _browser() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
                page.goto(f"{url}/lab/tree/{NAME}.ipynb?token={token}", timeout=180_000)
                button = page.locator("jp-button:has-text('Validate'), "
                                      "button:has-text('Validate')").first
                button.click(timeout=180_000)
                message = page.locator("#validation-message")
                message.wait_for(timeout=300_000)
                page.screenshot(path=str(SCREENSHOTS / "validate_dialog.png"))
                text = message.inner_text()
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for gid in _test_ids():
        assert f"テスト {gid} (" in text, (gid, text)
    assert text.count(STUB_MESSAGE) == len(_test_ids()), text
    for line in TEST_SOURCE:
        assert line not in text, (line, text)
