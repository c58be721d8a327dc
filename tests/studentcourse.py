"""Helpers of the student-repository tests: a course copy to change, its secrets, an export's text.

``course_copy`` copies what ``make student-repo`` reads (and ``source/``, ``solutions/``, the
tests and the instructor tooling too, so a test sees that the export leaves them out even when
they sit beside the rest). ``secrets`` lists what students must never see: the content of every
``### BEGIN SOLUTION`` and ``### BEGIN HIDDEN TESTS`` block of the masters. ``new_release``
plays an instructor's next week: a new assignment, a lecture note changed, one removed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat

from tests.nbrun import ROOT

COURSE_ITEMS = ("notebooks", "release", "source", "solutions", "common", "instructor", "tests",
                "LICENSE", "runtime.txt", "postBuild", "requirements.txt", "constraints.txt",
                "pyproject.toml", "nbgrader_config.py")
BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
NEW_ASSIGNMENT = "07_extra"


def course_copy(dest: Path) -> Path:
    """A copy of the course in ``dest`` (caches and the venv left out)."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", "screenshots")
    for item in COURSE_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / item)
    return dest


def secrets(root: Path = ROOT) -> list[str]:
    """Each solution and hidden-test block of ``root/source`` (the lines between the markers)."""
    blocks = []
    for path in sorted((Path(root) / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            blocks += [body.strip("\n") for _kind, body in BLOCK.findall(cell.source)]
    return [b for b in blocks if b.strip()]


def _allowed_text(root: Path) -> str:
    """Everything students are meant to have (release/, notebooks/, common/) as plain text."""
    return "\n".join(text_of(p) for folder in ("release", "notebooks", "common")
                     for p in sorted((Path(root) / folder).rglob("*")) if p.is_file())


def secret_texts(root: Path = ROOT, min_chars: int = 12) -> tuple[list[str], set[str]]:
    """(blocks, lines) that no file students are meant to have contains: any of them in an
    export is a leak. Lines are stripped and at least ``min_chars`` long; a block or line that
    the student version shows anyway (given code repeated in a solution) is no secret.
    """
    allowed = _allowed_text(root)
    blocks = [b for b in secrets(root) if b not in allowed]
    lines = {line.strip() for block in secrets(root) for line in block.splitlines()}
    return blocks, {line for line in lines if len(line) >= min_chars and line not in allowed}


def text_of(path: Path) -> str:
    """What a person reads in ``path``: a notebook's cell sources, outputs and metadata as plain
    text (no JSON escapes), any other text file as it is, "" for a binary file.
    """
    raw = path.read_bytes()
    if b"\0" in raw[:4096]:
        return ""
    text = raw.decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        nb = json.loads(text)
        parts = ["".join(c.get("source", "")) for c in nb.get("cells", [])]
        parts += [json.dumps(c.get("outputs", []), ensure_ascii=False) for c in nb["cells"]]
        parts.append(json.dumps(nb.get("metadata", {}), ensure_ascii=False))
        return "\n".join(parts)
    return text


def leaks(folder: Path, root: Path = ROOT) -> list[str]:
    """``path: what`` for every secret block, secret line or marker found in ``folder``."""
    blocks, lines = secret_texts(root)
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and ".git" not in
                       p.relative_to(folder).parts):
        text = text_of(path)
        rel = path.relative_to(folder)
        found += [f"{rel}: block {b[:40]!r}" for b in blocks if b in text]
        found += [f"{rel}: line {line!r}" for line in lines if line in text]
        found += [f"{rel}: marker {m!r}" for m in MARKERS if m in text]
    return found


def new_release(course: Path) -> None:
    """The instructor's next week in ``course``: a new assignment in release/, the first lecture
    note changed (a markdown cell appended), the last lecture note removed.
    """
    first = sorted((course / "release").iterdir())[0]
    new = course / "release" / NEW_ASSIGNMENT
    new.mkdir()
    shutil.copyfile(first / f"{first.name}.ipynb", new / f"{NEW_ASSIGNMENT}.ipynb")
    notes = sorted((course / "notebooks").glob("*.ipynb"))
    nb = nbformat.read(notes[0], as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("## 追記\n\n来週の予告です。"))
    nbformat.write(nb, notes[0])
    notes[-1].unlink()
