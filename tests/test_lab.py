"""`make lab` — the students' command — serves JupyterLab on 127.0.0.1, in Japanese."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from tests.nbrun import ROOT

TOKEN = "course-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_make_lab_answers_api_status_in_japanese(tmp_path):
    port = _free_port()
    env = {**os.environ, "JUPYTER_TOKEN": TOKEN, "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        status, deadline = None, time.monotonic() + 90
        while status is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            try:
                status = _get(port, "/api/status")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status is not None, "JupyterLab did not answer within 90 s"
        assert "started" in status
        setting = _get(port, "/lab/api/settings/@jupyterlab/translation-extension:plugin")
        # overrides.json (written by `make install`) makes Japanese the default locale
        assert setting["schema"]["properties"]["locale"]["default"] == "ja_JP"
        languages = _get(port, "/lab/api/translations/")["data"]
        assert "ja_JP" in languages
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
