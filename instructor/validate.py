"""Validate for students: only the Japanese messages, never the test source or a traceback.

nbgrader's ``Validator`` reports a failed test cell as its whole source (our visible tests are
long: the checks and the typical mistakes they recognize) followed by the full traceback, and
the JupyterLab Validate dialog shows both: the Japanese message of ``common.testing`` ends up
under thousands of characters. None of that is configurable in nbgrader 0.9.6: the reported
text is built inside ``Validator.validate`` from ``cell.source`` and ``_extract_error``, the
validate handler of nbgrader's server extension instantiates ``Validator`` itself, and the
labextension prints what the handler returns.

So the course has its own:

- ``ShortValidator``: a failed test is reported as ``テスト <grade_id> (<points> 点)`` and the
  error as its message only (``common.testing``'s Japanese check message, or
  ``<error>: <message>``, e.g. the stub's "まだ解答していません"); all else is nbgrader's.
- a Jupyter server extension (this module; ``--ServerApp.jpserver_extensions``) that serves
  the Validate button's ``/assignments/validate`` with ``ShortValidator`` in place of
  nbgrader's handler;
- ``python -m instructor validate <notebook>``: the same report in a terminal, exit code 1
  when a test fails (``nbgrader validate`` exits 0 then, nbgrader #1908).
"""

from __future__ import annotations

import copy
import traceback
from pathlib import Path

from jupyter_server.utils import url_path_join
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
from nbgrader.validator import Validator
from tornado import web

MAX_MESSAGE = 2000  # characters of one cell's messages (a runaway print stays readable)
NO_RESPONSE = "解答がありません。"
PARTIAL = "一部のテストだけ通りました。"


def label(cell: NotebookNode) -> str:
    """What the report shows in place of a test cell's source."""
    meta = cell.metadata.get("nbgrader", {})
    name = meta.get("grade_id", "?")
    if utils.is_grade(cell):
        return f"テスト {name} ({float(meta.get('points', 0)):g} 点)"
    return f"セル {name}"


def messages(cell: NotebookNode) -> str:
    """The messages of a failed cell: each error as ``name: message``, stderr as printed.

    A failed check of ``common.testing`` (``CheckFailed``) is its Japanese message alone; when a
    cell has one, its other errors are left out (the kernel's hook in ``common.testing`` shows a
    student's error explained as a CheckFailed, and the kernel may still report the raw error).
    """
    found = []
    outputs = cell.get("outputs", [])
    explained = any(o.output_type == "error" and o.ename == "CheckFailed" for o in outputs)
    for output in outputs:
        if output.output_type == "error":
            if output.ename == "CheckFailed":
                found.append(output.evalue)
            elif not explained:
                found.append(f"{output.ename}: {output.evalue}")
        elif output.output_type == "stream" and output.name == "stderr":
            found.append(output.text.rstrip())
    if not found:
        found.append(PARTIAL if cell.cell_type == "code" and utils.is_grade(cell)
                     else NO_RESPONSE)
    text = "\n".join(found)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " …"


class ShortValidator(Validator):
    """nbgrader's ``Validator`` whose failures are a label and the messages (module docstring).

    ``results``: what the last ``validate`` returned (``{}`` when every test passed).
    """

    results: dict = {}

    def validate(self, filename: str) -> dict:
        self.results = super().validate(filename)
        return self.results

    def _get_failed_cells(self, nb: NotebookNode) -> list[NotebookNode]:
        short = []
        for cell in super()._get_failed_cells(nb):
            cell = copy.deepcopy(cell)
            cell.source = label(cell)
            short.append(cell)
        return short

    def _extract_error(self, cell: NotebookNode) -> str:
        return messages(cell)

    def _print_error(self, source: str, error: str) -> None:
        self.stream.write("\n" + "=" * self.width + "\n")
        self.stream.write(f"{source} に合格していません:\n\n")
        self.stream.write(self._indent(error) + "\n\n")

    def _print_num_failed(self, num_failed: int) -> None:
        if num_failed == 0:
            self.stream.write("すべてのテストに合格しました。\n")
        else:
            self.stream.write(f"{num_failed} 個のテストに合格していません。"
                              "このまま提出すると満点になりません。\n")


class ShortValidateHandler(ValidateAssignmentHandler):
    """nbgrader's ``/assignments/validate`` handler, validating with ``ShortValidator``."""

    def validate_notebook(self, path: str) -> dict:
        target = self._checked_path(path)
        try:
            result = ShortValidator(config=self.load_config()).validate(str(target))
        except (SchemaTooOldError, SchemaTooNewError) as exc:
            self.log.error(traceback.format_exc())
            return {"success": False,
                    "value": f"このノートブックの nbgrader の形式が古いか新しすぎます: {exc}"}
        except Exception:
            self.log.error(traceback.format_exc())
            return {"success": False, "value": "確認 (Validate) を実行できませんでした:\n"
                                               + traceback.format_exc(limit=0)}
        return {"success": True, "value": result}

    def _checked_path(self, path: str) -> Path:
        root = Path(self.root_dir).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPError(403, "Access denied: path outside allowed directory")
        return target


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "instructor.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Serve ``/assignments/validate`` with ``ShortValidateHandler``, ahead of nbgrader's.

    Tornado tries host rules in the order they were added; whichever extension loads first,
    the rule added here is moved to the front so that it answers the Validate button.
    """
    web_app = serverapp.web_app
    pattern = url_path_join(web_app.settings["base_url"], r"/assignments/validate")
    web_app.add_handlers(".*$", [(pattern, ShortValidateHandler)])
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))  # add_handlers inserts before the final catch-all rule
    serverapp.log.info("instructor.validate: Validate shows only the Japanese messages")
