"""nbgrader preprocessors of the course, listed in ``nbgrader_config.py``.

Each is one small step with one guarantee, tested on its own.
"""

from __future__ import annotations

import copy
import os
import re

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests as NbgraderClearHiddenTests
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode
from traitlets.config import Configurable

from common import syntax
from common.testing import CheckFailed

HIDDEN_NOTE = "(テストのコードは表示されません。エラーの種類とメッセージを手がかりにしてください)"


class FeedbackPreprocessor(NbGraderPreprocessor):
    """Base of the feedback preprocessors: accepts the HTML exporter's ``display_data_priority``.

    nbconvert's ``HTMLExporter`` configures ``NbConvertBase.display_data_priority`` for every
    preprocessor it runs; nbgrader's base class redeclares that trait without ``config=True``,
    so traitlets logs "Config option `display_data_priority` not recognized" once per
    preprocessor and submission. Declaring it configurable again (as nbgrader's ``GetGrades``
    does) is the fix; the value is not used.
    """

    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default_value
                                 ).tag(config=True)


class ClearHiddenTests(FeedbackPreprocessor, NbgraderClearHiddenTests):
    """nbgrader's ``ClearHiddenTests`` (hidden tests out of the feedback), quiet in feedback."""


class ShortTracebacks(FeedbackPreprocessor):
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


class GradingStep(Configurable):
    """Mixin: a grading step that reports what it did to the grader (``notes_file``)."""

    notes_file = Unicode("", help="file the grader reads the notes from (one per line)"
                         ).tag(config=True)

    def note(self, text: str) -> None:
        self.log.warning("%s", text)
        if self.notes_file:
            with open(self.notes_file, "a", encoding="utf-8") as fh:
                fh.write(text.replace("\n", " ") + "\n")


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


class RebuildFromMaster(GradingStep, NbGraderPreprocessor):
    """Autograde: grade the student version of the master with only the answers put in.

    The notebook that runs is the student version (the output of ``generate_assignment`` for
    the gradebook's master), never the submitted file: from the submission only the source of
    each solution cell is taken, found by ``grade_id`` (or, when the nbgrader metadata was
    lost, by cell id). Test cells, given code and markdown come from the master, so a test
    edited, deleted or pasted twice by the student changes nothing; cells the student added
    are dropped; all are noted. A solution cell pasted twice: the first one is graded.

    Locked cells get the source the gradebook holds for them (for a test cell: with its hidden
    tests). The student version has the hidden tests cut out, so its checksum is not the
    gradebook's, and nbgrader's ``OverwriteCells`` would otherwise report "Attribute 'checksum'
    ... has changed!" for every test cell with hidden tests of every submission, the official
    solution included. A locked cell the student really edited is compared here, against the
    student version's checksum, and reported (log warning and note) before being replaced.
    """

    student_version = Unicode(
        os.path.join("release", "{assignment}", "{notebook}.ipynb"),
        help="path of the student version, with {assignment} and {notebook}").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        path = self.student_version.format(assignment=info["assignment"],
                                           notebook=info["notebook"])
        template = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        masters = _gradebook_sources(info)
        by_grade_id: dict[str, NotebookNode] = {}
        by_cell_id: dict[str, NotebookNode] = {}
        pasted_twice = set()
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in by_grade_id:
                pasted_twice.add(grade_id)
            elif grade_id:
                by_grade_id[grade_id] = cell
            if cell.get("id"):
                by_cell_id.setdefault(cell["id"], cell)
        # None is no grade_id: a cell the student added has no nbgrader metadata
        known_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in template.cells}
        known_ids.discard(None)
        known_cells = {c.get("id") for c in template.cells}
        known_sources = {_source(c).strip() for c in template.cells}
        missing, edited, deleted = [], [], []
        for cell in template.cells:
            if utils.is_locked(cell):
                grade_id = cell.metadata.nbgrader.get("grade_id")
                submitted = by_grade_id.get(grade_id) or by_cell_id.get(cell.get("id"))
                if submitted is None:
                    deleted.append(grade_id)
                elif _edited(submitted, cell):
                    edited.append(grade_id)
                if grade_id in masters:
                    cell.source = masters[grade_id]
                continue
            if not utils.is_solution(cell):
                continue
            grade_id = cell.metadata.nbgrader.grade_id
            answer = by_grade_id.get(grade_id)
            if answer is None and cell.get("id") in by_cell_id:
                answer = by_cell_id[cell["id"]]
                self.note(f"{grade_id}: found by cell id (nbgrader metadata missing)")
            if answer is None:
                missing.append(grade_id)
                continue
            cell.source = _source(answer)
        added = [c for c in nb.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in known_ids
                 and c.get("id") not in known_cells
                 and _source(c).strip() and _source(c).strip() not in known_sources]
        for grade_id in edited:
            self.note(f"Attribute 'checksum' for cell {grade_id} has changed! "
                      "(locked cell edited by the student; graded with the master's version)")
        if deleted:
            self.note(f"locked cells missing from the submission (restored from the master): "
                      f"{', '.join(deleted)}")
        if missing:
            self.note(f"answer cells not found, graded as unanswered: {', '.join(missing)}")
        if pasted_twice:
            self.note(f"cells pasted twice (the first one was graded): "
                      f"{', '.join(sorted(pasted_twice))}")
        if added:
            self.note(f"{len(added)} cell(s) added by the student were not run")
        return template, resources


def _gradebook_sources(info: dict) -> dict[str, str]:
    """grade_id -> source of every cell the gradebook recorded for this notebook ({} if none)."""
    db_url = info.get("db_url")
    if not db_url:
        return {}
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return {}
        return {cell.name: cell.source for cell in notebook.source_cells}


def _edited(submitted: NotebookNode, released: NotebookNode) -> bool:
    """Whether a locked cell's submitted source differs from the student version's.

    nbgrader's checksum of the released cell (``ComputeChecksums``, hidden tests already cut)
    is compared with the same checksum over the submitted source.
    """
    probe = copy.deepcopy(released)
    probe.source = _source(submitted)
    expected = released.metadata.nbgrader.get("checksum") or utils.compute_checksum(released)
    return utils.compute_checksum(probe) != expected


_UNDEFINED = re.compile(r"name '([A-Za-z_]\w*)' is not defined")


class ExplainBrokenAnswers(NbGraderPreprocessor):
    """Feedback: an answer cell that does not compile is named, with its line and character.

    Runs after the execution. The answer cell's SyntaxError becomes the Japanese explanation of
    :func:`common.syntax.syntax_problem` (e.g. a full-width space from a Japanese IME), and a test
    that failed only because a name that cell defines is missing says to fix that cell first
    instead of showing a NameError. Scores do not change: the outputs stay errors.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        broken: dict[str, str] = {}  # name the cell defines -> what to tell
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if utils.is_solution(cell) and not utils.is_grade(cell):
                source = _source(cell)
                label = f"解答セル {cell.metadata.nbgrader.get('grade_id', '')}".rstrip()
                problem = syntax.syntax_problem(_transformed(source), cell=label)
                if problem is None:
                    continue
                first = problem.splitlines()[0]
                cell.outputs = [nbformat.v4.new_output(
                    "error", ename="SyntaxError", evalue=first,
                    traceback=["SyntaxError: このセルは Python として読めません",
                               *problem.splitlines()])]
                for name in syntax.defined_names(source):
                    broken[name] = f"先に{label} を直してください:\n{first}"
            elif utils.is_grade(cell) and broken:
                for output in cell.get("outputs", []):
                    if output.output_type != "error":
                        continue
                    found = _UNDEFINED.search(output.get("evalue", ""))
                    if found and found.group(1) in broken:
                        output.ename = CheckFailed.__name__
                        output.evalue = f"{found.group(1)} が定義されていません。" \
                                        f"{broken[found.group(1)]}"
                        output.traceback = CheckFailed(output.evalue)._render_traceback_()
        return nb, resources


def _transformed(source: str) -> str:
    """The cell as IPython compiles it (magics and ! commands made into Python)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - the plain source is checked then
        return source
