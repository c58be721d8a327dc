"""Headless Chromium for the tests, through Playwright, offline: ``with chromium() as page: ...``.

Debian's ``/usr/bin/chromium`` (package ``chromium``) is used through Playwright's
``executable_path`` (never ``playwright install``, which downloads a browser). Every request
that is not for a ``file:`` URL is aborted and recorded in ``page.blocked`` (a list of URLs),
so a page that needs the network shows it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = ("headless Chromium is needed: `apt-get install -y chromium` (Debian) and "
                "`pip install -r requirements.txt` (playwright); never `playwright install`")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # git-ignored


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator:
    """A new page in a headless Chromium that can reach ``file:`` URLs only."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(INSTALL_HINT, pytrace=False)
    if not CHROMIUM.is_file():
        pytest.fail(INSTALL_HINT, pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.blocked = []

            def route(r):
                if r.request.url.startswith("file:"):
                    r.continue_()
                else:
                    page.blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as ``tests/screenshots/<name>.png`` (to look at)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
