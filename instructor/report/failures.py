"""Why a test cell failed, read back from a graded notebook (``autograded/<student>/<a>/*.ipynb``).

A failed check of ``common.testing`` is an error output ``CheckFailed`` whose message ends with
the line ``考えられる原因: <cause>`` when the test knew the likely mistake; that cause is the
message the report groups students by. Other failures are named by what the cell showed: a check
without a cause by its ``チェック: ...`` line, an unanswered cell (``NotImplementedError``, or the
judge's explanation of it) as such, an explained error of the student's code (common.explain) by
its first line, any other error by its type and first line, output on stderr by its first line.
"""

from __future__ import annotations

import json
from pathlib import Path

from common.explain import NOT_ANSWERED
from common.testing import CAUSE_LABEL, CHECK_LABEL, CheckFailed

UNANSWERED = "未回答 (NotImplementedError: 穴埋めのセルがそのまま)"
NO_OUTPUT = "(採点済みノートブックに失敗の出力が見つかりません)"
MAX_CHARS = 300  # a message longer than this is cut (an error text may quote student data)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def message(outputs: list[dict]) -> str:
    """The message a failed test cell's ``outputs`` (nbformat output dicts) stand for."""
    for out in outputs:
        if out.get("output_type") != "error":
            continue
        ename, evalue = str(out.get("ename", "")), str(out.get("evalue", ""))
        cause_tag = f"{CAUSE_LABEL}:"
        if cause_tag in evalue:
            return _short(evalue.split(cause_tag, 1)[1])
        if ename == "NotImplementedError" or evalue.startswith(NOT_ANSWERED):
            return UNANSWERED  # the stub itself, or the judge's explanation of it
        if ename == CheckFailed.__name__:
            check = next((line.strip() for line in evalue.splitlines()
                          if line.strip().startswith(f"{CHECK_LABEL}:")), None)
            if check is None:  # an explained error of the student's code: its first line
                return _short(_first_line(evalue))
            return _short(f"(原因の表示なし) {check}")
        first = _first_line(evalue)
        return _short(f"{ename}: {first}" if first else ename)
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = out.get("text", "")
            return _short("標準エラー出力: " + _first_line(
                "".join(text) if isinstance(text, list) else text))
    return NO_OUTPUT


def read_failures(folder: Path, failed: set[str]) -> dict[str, str]:
    """Messages of the test cells named in ``failed`` (grade_ids), from the notebooks in
    ``folder``; a test whose notebook is missing or unreadable gets ``NO_OUTPUT``.

    Plain ``json`` (no nbformat validation): a report reads a thousand notebooks.
    """
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in failed and grade_id not in found:
                found[grade_id] = message(cell.get("outputs", []))
    return {test: found.get(test, NO_OUTPUT) for test in failed}
