"""Browser test harness: a throwaway copy of the course, real `make lab` / `make instructor`
servers in it, and Debian's Chromium driven by Playwright (never a downloaded browser).

Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nbrun import ROOT

CHROMIUM = Path("/usr/bin/chromium")
JAPANESE_FONT = Path("/usr/share/fonts/opentype/ipafont-gothic")
INSTALL = "make system-deps (or: sudo apt-get install chromium fonts-ipafont-gothic)"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "tests" / "screenshots"
TOKEN = "browser-test-token"
VENV = Path(sys.prefix)


def require_browser() -> None:
    """Fail (never skip) with the install command when Chromium or the Japanese font is missing."""
    missing = [str(p) for p in (CHROMIUM, JAPANESE_FONT) if not p.exists()]
    if missing:
        pytest.fail(f"browser tests need {', '.join(missing)}: install with {INSTALL}",
                    pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_course(dest: Path) -> Path:
    """The course as a developer has it (tracked and new files, ignored ones left out) in
    ``dest``, committed in a fresh git repository so that `git status` shows any change.

    ``common/`` is a link to this clone's: the venv's editable install imports it from here, and
    the grading sandbox lets the kernel read only that folder (found through the server).
    """
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode()
    dest.mkdir(parents=True)
    (dest / "common").symlink_to(ROOT / "common", target_is_directory=True)
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file() and not rel.startswith("common/"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)  # keeps mtimes: make sees the install as up to date
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "course"], cwd=dest, check=True)
    return dest


def git_status(course: Path) -> str:
    """`git status --porcelain` of the committed course files (ignored files never show)."""
    return subprocess.run(["git", "status", "--porcelain"], cwd=course, check=True,
                          capture_output=True, text=True).stdout


class Server:
    """`make <target>` (lab or instructor) in ``course`` on a free port, with a token."""

    def __init__(self, course: Path, target: str, home: Path, *extra: str) -> None:
        self.course, self.target, self.port = course, target, free_port()
        home.mkdir(parents=True, exist_ok=True)
        self.log_path = home / f"{target}-{self.port}.log"
        env = {**os.environ, "JUPYTER_TOKEN": TOKEN, "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
               "PYTHONUTF8": "1"}
        env.pop("JUPYTER_CONFIG_PATH", None)
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                ["make", "--no-print-directory", target, f"PORT={self.port}", f"VENV={VENV}",
                 "-o", f"{VENV}/.installed", *extra],
                cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make {self.target} exited:\n{self.log()}")
            try:
                req = urllib.request.Request(f"{self.url}/api/status",
                                             headers={"Authorization": f"token {TOKEN}"})
                with urllib.request.urlopen(req, timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"make {self.target} did not answer in {timeout} s:\n{self.log()}")

    def api(self, path: str):
        """GET ``path`` of the server's REST API (JSON)."""
        req = urllib.request.Request(f"{self.url}{path}",
                                     headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def wait_kernel_idle(self, notebook: str, timeout: float = 60) -> None:
        """Wait until the notebook ``notebook`` (API path) has a started kernel that is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for session in self.api("/api/sessions"):
                kernel = session.get("kernel") or {}
                if session.get("path") == notebook and kernel.get("execution_state") == "idle":
                    return
            time.sleep(0.2)
        raise TimeoutError(f"no idle kernel for {notebook} after {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_FLAGS)


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """Save the page as ``tests/screenshots/<name>.png`` (to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def block_network(page) -> list[str]:
    """Abort every request that leaves the machine; returns the list of aborted URLs."""
    aborted: list[str] = []

    def handle(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")) or re.match(
                r"https?://(127\.0\.0\.1|localhost)[:/]", url):
            route.continue_()
        else:
            aborted.append(url)
            route.abort()

    page.route("**/*", handle)
    return aborted


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator:
    """A new page in headless Chromium for local files: every request that leaves the machine
    is aborted and recorded in ``page.blocked`` (a list of URLs)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.blocked = block_network(page)
            yield page
        finally:
            browser.close()
