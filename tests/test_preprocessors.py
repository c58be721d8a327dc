"""The course's nbgrader preprocessors, one by one."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from common.testing import CheckFailed
from instructor.preprocessors import HIDDEN_NOTE, ShortTracebacks

QUOTED = "\x1b[32m----> 3\x1b[39m check_close(secret_hidden_input(7), 1.0)"


def _grade_cell(ename: str, evalue: str):
    meta = {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                         "grade_id": "t", "schema_version": 3}}
    cell = new_code_cell("check()", metadata=meta)
    cell.outputs = [new_output("error", ename=ename, evalue=evalue,
                               traceback=["Traceback (most recent call last)", QUOTED])]
    return cell


def _run(cell):
    nb = new_notebook(cells=[cell])
    nb, _ = ShortTracebacks().preprocess(nb, {})
    return nb.cells[0].outputs[0].traceback


def test_other_errors_keep_name_and_message_only():
    assert _run(_grade_cell("TypeError", "bad operand")) == ["TypeError: bad operand", HIDDEN_NOTE]


def test_check_failed_shows_its_japanese_message_only():
    message = "チェック: f(1) の値\n  期待した結果: 2"
    assert _run(_grade_cell("CheckFailed", message)) == CheckFailed(message)._render_traceback_()


def test_cells_that_are_not_graded_are_left_alone():
    cell = _grade_cell("TypeError", "bad operand")
    cell.metadata = {}
    assert _run(cell) == ["Traceback (most recent call last)", QUOTED]
