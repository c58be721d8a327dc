"""The terminal of ``make grade``: a progress bar and a summary; everything else to a log file.

nbgrader logs a few lines per notebook (converting, writing, permissions), and the kernels it
starts write their own warnings to the inherited standard error; for a class of 200 that is
thousands of lines that hide what matters. While grading, :func:`quiet_console`:

- sends every log record (nbgrader's, the course's) to ``<course>/.grading/grade.log``;
- points the process's standard error (file descriptor 2, inherited by kernels, sandboxes and
  worker processes) at the same file, so nothing printed by a child reaches the terminal;
- hands back a stream on the terminal's original standard error for the progress bar.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

LOG_FILE = Path(".grading") / "grade.log"  # inside the course folder (git-ignored)
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def quiet_console(root: Path) -> Iterator[TextIO]:
    """Log records and standard error into ``root/.grading/grade.log`` while inside.

    Yields a text stream on the original standard error (the terminal). On exit, logging and
    file descriptor 2 are as they were.
    """
    log_path = Path(root) / LOG_FILE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved_fd = os.dup(2)
    console = os.fdopen(os.dup(saved_fd), "w", encoding="utf-8", errors="replace")
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    root_logger = logging.getLogger()
    saved_handlers, saved_level = root_logger.handlers[:], root_logger.level
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root_logger.handlers = [handler]
    root_logger.setLevel(logging.INFO)
    os.dup2(log_fd, 2)
    try:
        yield console
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(log_fd)
        root_logger.handlers = saved_handlers
        root_logger.setLevel(saved_level)
        handler.close()
        console.close()


def progress_bar(console: TextIO, total: int) -> tqdm:
    """The bar over the ``total`` submissions of a run, on ``console``."""
    return tqdm(total=total, desc="grading", unit="submission", file=console, dynamic_ncols=True)


def summary_lines(outcomes, *, csv_path: Path, feedback: Path, log_path: Path) -> list[str]:
    """A few lines for the end of ``make grade``: counts by status and where the results are.

    ``outcomes``: the ``Outcome`` list of ``Course.grade_all``.
    """
    counts = Counter(o.status.split(":")[0] for o in outcomes)
    graded, missing, failed = counts.pop("graded", 0), counts.pop("missing", 0), \
        counts.pop("failed", 0)
    other = sum(counts.values())
    lines = [f"{len(outcomes)} submission(s): {graded} graded, {failed} failed, "
             f"{missing} missing" + (f", {other} unknown notebook" if other else "")]
    for o in outcomes:
        if o.status not in ("graded", "missing"):
            lines.append(f"  {o.student} {o.assignment}: {o.status}")
    noted = [o for o in outcomes if o.notes]
    if noted:
        lines.append(f"{len(noted)} submission(s) with notes (see the notes column of grades.csv)")
    lines += [f"grades:   {csv_path} (table: make grades)",
              f"feedback: {feedback}/<student>/<assignment>/",
              f"log:      {log_path}"]
    return lines
