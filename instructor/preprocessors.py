"""nbgrader preprocessors of the course, listed in ``nbgrader_config.py``.

Each is one small step with one guarantee, tested on its own.
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from common.testing import CheckFailed

HIDDEN_NOTE = "(テストのコードは表示されません。エラーの種類とメッセージを手がかりにしてください)"


class ShortTracebacks(NbGraderPreprocessor):
    """Feedback: error outputs of test cells show the error and its message, never code lines.

    nbgrader's ``ClearHiddenTests`` removes hidden tests from the cell source, but a traceback
    raised inside a hidden test still quotes its lines (nbgrader #917). Failed checks of
    ``common.testing`` already render as their Japanese message alone and are kept as they are.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            if output.ename == CheckFailed.__name__:
                # rebuilt from the message, as common.testing renders it (whatever the kernel sent)
                output.traceback = CheckFailed(output.evalue)._render_traceback_()
            else:
                output.traceback = [f"{output.ename}: {output.evalue}", HIDDEN_NOTE]
        return cell, resources
