"""``make report``: what the class got wrong, as a Japanese HTML page and two CSV files.

``build(course)`` reads the course (``collect``), computes the numbers (``stats``), draws the
figures (``figures``) and writes ``report/index.html``, ``report/tests.csv`` and
``report/mistakes.csv`` (``render``).
"""

from instructor.report.render import build

__all__ = ["build"]
