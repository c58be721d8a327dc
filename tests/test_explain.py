"""Japanese explanations of a student's errors (common.explain, common.syntax, common.cellframes)
and the grading step that names an answer cell that does not compile."""

from __future__ import annotations

import linecache

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from common.cellframes import candidate_names, explain_exception, student_frames
from common.explain import Frame, explain
from common.syntax import defined_names, syntax_problem
from common.testing import CheckFailed, explained
from instructor.preprocessors import ExplainBrokenAnswers, ShortTracebacks

CELL = Frame("In [5]", 3, "    grad = np.zero_like(x)", "numerical_gradient")


@pytest.mark.parametrize(("exc_type", "message", "names", "phrases"), [
    ("NameError", "name 'numerical_dif' is not defined", ["numerical_diff", "np"],
     ["numerical_diff の打ち間違い"]),
    ("NameError", "name 'N' is not defined", ["self.N", "x"], ["self.N"]),
    ("NameError", "name 'np' is not defined", [], ["import numpy as np"]),
    ("NameError", "name 'ｈ' is not defined", ["h"], ["全角"]),
    ("UnboundLocalError", "cannot access local variable 'x' where it is not associated with a "
     "value", [], ["ローカル変数"]),
    ("AttributeError", "module 'numpy' has no attribute 'zero_like'", [],
     ["np.zeros_like の打ち間違い"]),
    ("AttributeError", "module 'numpy.random' has no attribute 'randm'", [],
     ["np.random.rand"]),
    ("AttributeError", "'list' object has no attribute 'shape'", [], ["np.array"]),
    ("AttributeError", "'NoneType' object has no attribute 'shape'", [], ["return"]),
    ("AttributeError", "'simpleNet' object has no attribute 'W'", [], ["self.W = ... と保存"]),
    ("AttributeError", "'dict' object has no attribute 'W1'", [], ['params["W1"]']),
    ("IndexError", "list assignment index out of range", [], ["[0*len(x)] は長さ 1"]),
    ("IndexError", "index 2 is out of bounds for axis 0 with size 2", [], ["ループの範囲"]),
    ("IndexError", "too many indices for array: array is 1-dimensional, but 2 were indexed", [],
     ["1 次元か 2 次元か"]),
    ("KeyError", "'W1'", [], ["for key in network.params", "書籍"]),
    ("TypeError", "simpleNet.predict() takes 1 positional argument but 2 were given", [],
     ["def predict(self, ...)"]),
    ("TypeError", "numerical_diff() missing 1 required positional argument: 'h'", [],
     ["引数 'h' が足りません"]),
    ("TypeError", "unsupported operand type(s) for -: 'NoneType' and 'float'", [], ["return"]),
    ("TypeError", "can't multiply sequence by non-int of type 'float'", [], ["np.array"]),
    ("TypeError", "'numpy.ndarray' object is not callable", [], ["関数ではない値"]),
    ("TypeError", "'int' object is not callable", [], ["* を書き忘れて"]),
    ("ValueError", "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
     "signature (n?,k),(k,m?)->(n?,m?) (size 4 is different from 3)", [], ["積の順番"]),
    ("ValueError", "operands could not be broadcast together with shapes (4,3) (4,) ", [],
     ["shape が合わない"]),
    ("ValueError", "too many values to unpack (expected 2)", [], ["返した値の数が違います"]),
    ("AxisError", "axis 1 is out of bounds for array of dimension 1", [], ["argmax をとらず"]),
    ("ZeroDivisionError", "float division by zero", [], ["0 で割りました"]),
    ("ZeroDivisionError", "integer modulo by zero", [], ["max(train_size // batch_size, 1)"]),
    ("RecursionError", "maximum recursion depth exceeded", [], ["自分自身を呼び続けて"]),
])
def test_each_error_gets_its_meaning_and_fix(exc_type, message, names, phrases):
    text = explain(exc_type, message, [CELL], "numerical_gradient", names)
    for phrase in phrases:
        assert phrase in text, text
    lines = text.splitlines()
    assert len(lines) <= 5, text
    assert lines[0].startswith(f"numerical_gradient を呼んだところで {exc_type}")
    assert "In [5] の 3 行目" in lines[1] and "np.zero_like(x)" in lines[1]


def test_not_implemented_says_not_answered_yet():
    frames = [Frame("In [2]", 9, "        raise NotImplementedError()", "backward")]
    assert explain("NotImplementedError", "", frames, "backward").startswith(
        "まだ解答していません: backward の")


def test_without_student_frames_the_test_used_the_return_value():
    text = explain("KeyError", "'W'", [], None)
    assert "テストの途中で KeyError" in text and "戻り値" in text


def test_long_messages_are_cut():
    text = explain("ValueError", "x" * 1000, [CELL])
    assert len(text.splitlines()[0]) < 250


@pytest.mark.parametrize(("source", "phrase"), [
    ("def f(x):\n    return\u3000x\n", "2 行目の 11 文字目に全角スペース (U+3000)"),
    ("def f(x):\n    return np.zeros_like（x）\n", "全角の「（」(U+FF08)"),
    ("y ＝ 1\n", "全角の「＝」"),
    ("d = {“W”: 1}\n", "全角の「“」"),
    ("def f(x):\nreturn x\n", "字下げされていません"),
    ("def f(x):\n    a = 1\n      b = 2\n", "字下げ"),
    ("def f(x)\n    return x\n", ": がありません"),
    ("y = (1 + 2\n", "括弧"),
])
def test_syntax_problem_names_line_and_character(source, phrase):
    text = syntax_problem(source, cell="解答セル f")
    assert text is not None and phrase in text, text
    assert text.startswith("解答セル f の")


def test_full_width_characters_in_strings_and_comments_are_fine():
    assert syntax_problem("s = '（全角）'  # コメント：全角\u3000スペース\nprint(s)\n") is None
    assert defined_names("class A:\n    pass\n\ndef f（x):\n") == ["A", "f"]


def _raise_in_cell(code: str, filename: str):
    """Run ``code`` as if it were a notebook cell named ``filename``; return what it raised."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    namespace = {"np": __import__("numpy")}
    exec(compile(code, filename, "exec"), namespace)
    try:
        exec(compile("numerical_gradient(lambda v: v @ v, np.ones(3))", "<テスト>", "exec"),
             namespace)
    except Exception as exc:  # noqa: BLE001
        return exc, namespace
    raise AssertionError("no error")


def test_adapter_takes_only_the_students_cells():
    student = "<cell-7>"
    exc, namespace = _raise_in_cell(
        "def numerical_gradient(f, x):\n"
        "    grad = np.zero_like(x)\n"
        "    return grad\n", student)
    frames, inner = student_frames(exc.__traceback__, is_cell=lambda f: f == student,
                                   label=lambda f: "In [7]", exclude=lambda f: f == "<テスト>")
    assert frames == [Frame("In [7]", 2, "    grad = np.zero_like(x)", "numerical_gradient")]
    names = candidate_names(exc, inner, namespace, lambda f: f == student)
    assert "zeros_like" in names and "numerical_gradient" in names
    text = explain_exception(exc, is_cell=lambda f: f == student, label=lambda f: "In [7]",
                             exclude=lambda f: f == "<テスト>", namespace=namespace)
    assert "np.zeros_like の打ち間違い" in text and "<テスト>" not in text


def test_names_defined_by_tests_are_never_suggested():
    """A helper of a hidden test (code in the test's file) is not a candidate name."""
    student = "<cell-8>"
    exc, namespace = _raise_in_cell(
        "def numerical_gradient(f, x):\n"
        "    return reference_pth(x)\n", student)
    exec(compile("def reference_path(x):\n    return x\n", "<テスト>", "exec"), namespace)
    text = explain_exception(exc, is_cell=lambda f: f == student, label=lambda f: "In [8]",
                             exclude=lambda f: f == "<テスト>", namespace=namespace)
    assert "reference_path" not in text


class _Shell:
    """The part of an IPython shell that :func:`common.testing.explained` reads."""

    def __init__(self, cells):
        self.compile = type("Compile", (), {"_filename_map": cells})()
        self.user_ns = {}


def test_explained_makes_a_check_failed_and_leaves_check_failed_alone():
    exc, _ = _raise_in_cell("def numerical_gradient(f, x):\n    return x[5]\n", "<cell-9>")
    failure = explained(exc, _Shell({"<cell-9>": 9}), test_file="<テスト>")
    assert isinstance(failure, CheckFailed)
    assert "In [9] の 2 行目" in str(failure) and "return x[5]" in str(failure)
    assert explained(CheckFailed("x"), _Shell({})) is None
    assert explained(KeyboardInterrupt(), _Shell({})) is None


def _answer(source: str, grade_id: str):
    meta = {"nbgrader": {"grade": False, "solution": True, "locked": False,
                         "grade_id": grade_id, "schema_version": 3}}
    cell = new_code_cell(source, metadata=meta)
    cell.outputs = [new_output("error", ename="SyntaxError", evalue="invalid non-printable "
                               "character U+3000", traceback=["raw"])]
    return cell


def _test(evalue: str, ename: str = "NameError"):
    meta = {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                         "grade_id": "f_test", "schema_version": 3}}
    cell = new_code_cell("check_close(f(1), 2)", metadata=meta)
    cell.outputs = [new_output("error", ename=ename, evalue=evalue, traceback=["raw"])]
    return cell


def test_broken_answer_cell_is_named_and_its_tests_say_fix_it_first():
    nb = new_notebook(cells=[_answer("def f(x):\n    return\u3000x\n", "f"),
                             _test("name 'f' is not defined"),
                             _test("name 'g' is not defined")])
    nb, _ = ExplainBrokenAnswers().preprocess(nb, {})
    answer, dependent, other = (c.outputs[0] for c in nb.cells)
    assert "解答セル f の 2 行目の 11 文字目に全角スペース (U+3000)" in "\n".join(answer.traceback)
    assert dependent.ename == "CheckFailed"
    assert dependent.evalue.startswith("f が定義されていません。先に解答セル f を直してください")
    assert other.ename == "NameError"  # not a name of the broken cell: left as it was
    nb, _ = ShortTracebacks().preprocess(nb, {})
    assert "先に解答セル f を直して" in "\n".join(nb.cells[1].outputs[0].traceback)
    nbformat.validate(nb)


def test_answer_cells_that_compile_are_left_alone():
    cell = _answer("def f(x):\n    return x  # 全角（コメント）\n", "f")
    nb, _ = ExplainBrokenAnswers().preprocess(new_notebook(cells=[cell]), {})
    assert nb.cells[0].outputs[0].traceback == ["raw"]


def test_students_kernel_shows_explanations(tmp_path):
    """In the student's own kernel (JupyterLab, no grading): the hooks installed by importing
    common.testing explain an error raised in another cell and a cell that does not compile."""
    from tests.nbrun import execute

    cells = [
        "import numpy as np\nfrom common.testing import check_close",
        "def numerical_gradient(f, x):\n    grad = np.zero_like(x)\n    return grad",
        "numerical_gradient(lambda v: v @ v, np.ones(2))",  # error in the cell above: explained
        "undefined_here + 1",  # error of this very cell: IPython's own traceback
        "def tangent_line(f, x):\n    return lambda t:\u3000f(x)",  # does not compile
        "tangent_line(abs, 1.0)",  # the name of that cell: fix it first
        "check_close(1.0, 2.0, name='x')",  # a failed check: its message only
    ]
    nb = execute(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path, grading=False)
    outputs = [c.outputs for c in nb.cells]
    assert outputs[1] == []
    error = outputs[2][0]
    assert error.ename == "CheckFailed"
    text = "\n".join(error.traceback)
    assert "numerical_gradient を呼んだところで AttributeError" in text
    assert "In [2] の 2 行目" in text and "np.zeros_like の打ち間違い" in text
    assert outputs[3][0].ename == "NameError"  # not explained: the error is in this cell
    assert "undefined_here" in "".join(outputs[3][0].traceback)
    shown = "".join(o.get("text", "") for o in outputs[4])
    assert "セル In [5] の 2 行目の 21 文字目に全角スペース (U+3000)" in shown
    assert "先に セル In [5] を直してください" in outputs[5][0].evalue
    assert outputs[6][0].ename == "CheckFailed" and "チェック: x の値" in outputs[6][0].evalue
