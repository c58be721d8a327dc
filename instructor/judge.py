"""The judge: runs a notebook's test cells outside the student's kernel.

One judge process per graded notebook (started by :class:`instructor.execute.SandboxedExecute`
from a fork server that has numpy and ``common`` imported already). It holds only trusted code:
the master's locked setup cells that need nothing of the student (imports, given functions,
test doubles) and the test cells' source, hidden tests included. Expected values, test source
and hidden tests never enter the kernel.

A test cell runs here in a fresh namespace: the setup names, plus the names the cell's code
looks up (``LOAD_NAME`` / ``LOAD_GLOBAL`` of every code object in it) that the setup does not
define, fetched from the notebook's namespace in the kernel. What comes from the kernel is
plain data (numbers, strings, numeric numpy arrays, lists/dicts/tuples of them) or a
:class:`StudentObject` stand-in whose attributes and calls go to the kernel's agent
(:mod:`instructor.agent`) over :mod:`instructor.link`. Callables of the test (``f`` given to
``numerical_diff``) become handles in the kernel; calls to them come back here.

The student's code can only change what data comes back; everything is validated
(:mod:`instructor.wire`), and a kernel that is late, dead or breaks the protocol fails the
test (:class:`instructor.link.LinkBroken`, which test code cannot catch). A check that fails
inside a callback fails the test even if the student's code catches the exception.

The verdict sent to the grader: the judge's stdout and, on failure, one error (type, message,
the student's own traceback lines) - never the test's source.
"""

from __future__ import annotations

import builtins
import contextlib
import dis
import io
import os
import socket
import sys
import time
import types

import numpy as np

from common import explain
from common.testing import CheckFailed
from instructor import link, wire

JUDGE_MODULE = "__judge__"
MAX_STDOUT = 100_000


# -- names a cell's code looks up ---------------------------------------------------------------
def global_names(code: types.CodeType) -> set[str]:
    """Names ``code`` (and every code object nested in it) loads as globals or names."""
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        for ins in dis.get_instructions(current):
            if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS") \
                    and isinstance(ins.argval, str):
                names.add(ins.argval)
        stack += [c for c in current.co_consts if isinstance(c, types.CodeType)]
    return names


def names_to_fetch(code: types.CodeType) -> set[str]:
    """Names of the notebook a test cell needs: looked up, and not bound by the cell first.

    A name the cell's top level binds before it reads it (``net = TwoLayerNet(...)``), or binds
    at top level and reads only inside its functions, is the test's own: it is not fetched
    (a student's big global ``x`` is never copied for nothing).
    """
    first_load: dict[str, int] = {}
    first_store: dict[str, int] = {}
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL") and isinstance(ins.argval, str):
            first_load.setdefault(ins.argval, ins.offset)
        elif ins.opname in ("STORE_NAME", "STORE_GLOBAL"):
            first_store.setdefault(ins.argval, ins.offset)
    wanted = set()
    for name in global_names(code):
        stored = first_store.get(name)
        loaded = first_load.get(name)
        if stored is None or (loaded is not None and loaded < stored):
            wanted.add(name)
    return wanted


def stored_names(code: types.CodeType) -> set[str]:
    """Names the top level of ``code`` binds (``STORE_NAME``: assignments, imports, defs)."""
    return {ins.argval for ins in dis.get_instructions(code)
            if ins.opname in ("STORE_NAME", "STORE_GLOBAL")}


def strip_magics(source: str) -> str:
    """IPython line magics (``%matplotlib inline``) and shell lines mean nothing here."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


# -- the student's objects, seen from here ----------------------------------------------------
class StudentObject(wire.Remote):
    """A stand-in for an object in the kernel: attribute access and assignment go there
    (special methods are not forwarded: :class:`instructor.wire.Remote`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<あなたの {object.__getattribute__(self, '_wire_name')} 型のオブジェクト>"


class StudentCallable(StudentObject, wire.RemoteCallable):
    """A stand-in for a callable object of the kernel (function, class, bound method)."""

    __slots__ = ()


class StudentError:
    """Mixed into the builtin exception class that the student's code raised (see ``_raise``)."""

    info: dict = {}


_ERROR_CLASSES: dict[str, type] = {}


def student_exception(info: dict) -> BaseException:
    """The exception to raise here for an error answer of the kernel."""
    base_name = info.get("t") if type(info.get("t")) is str else "Exception"
    name = link._clip(info.get("n"), 100) or base_name
    message = link._clip(info.get("m"))
    if base_name in ("KeyboardInterrupt", "SystemExit", "GeneratorExit", "BaseException"):
        if base_name == "KeyboardInterrupt":
            return link.LinkBroken("KeyboardInterrupt で中断されました (時間切れでも)")
        return link.LinkBroken(f"あなたのコードが {name} を送出しました")
    base = getattr(builtins, base_name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) \
            or base_name in ("StopIteration", "StopAsyncIteration"):
        base = RuntimeError
    cls = _ERROR_CLASSES.get(base.__name__)
    if cls is None:
        cls = _ERROR_CLASSES[base.__name__] = type(base.__name__, (StudentError, base), {})
    exc = cls(message)
    tb = info.get("tb") if type(info.get("tb")) is list else []
    exc.info = {"n": name, "m": message, "tb": [link._clip(line, 300) for line in tb][:40],
                "f": _frames(info.get("f")), "k": link._clip(info.get("k"), 200),
                "c": [link._clip(n, 100) for n in (info.get("c") or [])[:2000]
                      if type(n) is str] if type(info.get("c")) is list else []}
    return exc


def _frames(raw) -> list[explain.Frame]:
    """The student's cell frames as the kernel described them (checked, clipped)."""
    frames = []
    for item in raw[:20] if type(raw) is list else ():
        if type(item) is list and len(item) == 4 and type(item[1]) is int \
                and all(type(item[i]) is str for i in (0, 2, 3)):
            frames.append(explain.Frame(link._clip(item[0], 40), item[1],
                                        link._clip(item[2], 300), link._clip(item[3], 100)))
    return frames


def _explained(exc: BaseException) -> str | None:
    """The Japanese explanation (:func:`common.explain.explain`) of an error that ended a test:
    the student's own (their cells' frames and names from the kernel) or one the test met using
    the student's values (no frames). None for a check's own failure."""
    if isinstance(exc, CheckFailed) or not isinstance(exc, Exception):
        return None
    try:
        if isinstance(exc, StudentError):
            info = exc.info
            message = info["k"] if info["n"] == "KeyError" and info["k"] else info["m"]
            return explain.explain(info["n"], message, info["f"], None, info["c"])
        message = repr(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        return explain.explain(type(exc).__name__, message, [], None, ())
    except Exception:  # noqa: BLE001 - the bare error is shown then
        return None


def _describe_own_error(exc: BaseException) -> dict:
    """What the kernel learns of an error here: its type only (messages may hold values)."""
    return {"t": link.builtin_base(exc), "n": type(exc).__name__,
            "m": "採点側の関数でエラーが発生しました", "tb": []}


# -- a session: one notebook -----------------------------------------------------------------------
class Session:
    """The judge's state for one notebook: setup namespace and the connection to the kernel."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.setup_ns: dict = {"__name__": JUDGE_MODULE, "__builtins__": builtins}
        self.sock = sock
        self.codec = wire.Codec(0, self._make_remote)
        self.link: link.Link | None = None
        self.deadline = time.monotonic()
        self.failed_in_callback: BaseException | None = None

    def _make_remote(self, hid: int, name: str, is_callable: bool) -> StudentObject:
        cls = StudentCallable if is_callable else StudentObject
        return cls(hid, self, name)

    def connect(self, sock: socket.socket) -> None:
        self.sock = sock
        self.link = link.Link(sock, self.codec, self._serve, deadline=lambda: self.deadline,
                              fail=student_exception, describe_error=_describe_own_error)
        from common import testing

        testing.read_global_rng_state_with(self._kernel_rng_state)

    def _kernel_rng_state(self):
        """``np.random.get_state()`` of the kernel: the student's code draws from that one."""
        state = self.link.request("rng")
        if type(state) is not tuple or len(state) != 5 or type(state[1]) is not np.ndarray:
            raise link.LinkBroken("乱数の状態を読めませんでした")
        return state

    # -- setup cells ----------------------------------------------------------------------------
    def setup(self, source: str) -> str:
        """Run a master setup cell here if it needs nothing of the student; what happened."""
        try:
            code = compile(strip_magics(source), "<setup>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"setup cell not compiled: {exc}"
        missing = global_names(code) - stored_names(code) - set(self.setup_ns) - set(dir(builtins))
        if missing:
            return "kernel only (uses " + ", ".join(sorted(missing)[:5]) + ")"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, self.setup_ns)
        except Exception as exc:  # noqa: BLE001 - reported to the grader's notes
            return f"setup cell failed in the judge: {type(exc).__name__}: {exc}"[:300]
        return "judge"

    # -- requests of the kernel -----------------------------------------------------------------
    def _own(self, value):
        if not any(value is obj for obj in self.codec.handles.values()):
            raise TypeError("採点側のオブジェクトではありません")
        return value

    def _serve(self, op: str, fields: dict):
        if op == "call":
            target = self._own(fields["h"])
            args = fields["a"] if type(fields["a"]) is tuple else ()
            pairs = fields["kw"] if type(fields["kw"]) is tuple else ()
            kwargs = {}
            for pair in pairs:
                if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str:
                    raise TypeError("キーワード引数が正しくありません")
                kwargs[pair[0]] = pair[1]
            try:
                return target(*args, **kwargs)
            except link.LinkBroken:
                raise
            except AssertionError as exc:  # a check failed inside a callback: the test fails
                self.failed_in_callback = self.failed_in_callback or exc
                raise
        if op == "getattr":
            target = self._own(fields["h"])
            name = fields["n"]
            if type(name) is not str or name.startswith("_") \
                    or type(target).__module__ != JUDGE_MODULE:
                raise AttributeError("採点側のオブジェクトのこの属性は使えません")
            value = getattr(target, name)
            if isinstance(value, types.MethodType) and value.__self__ is target:
                return value
            if callable(value) or isinstance(value, types.ModuleType):
                raise AttributeError("採点側のオブジェクトのこの属性は使えません")
            return value
        if op == "setattr":
            raise AttributeError("採点側のオブジェクトの属性は変更できません")
        raise TypeError("この操作はできません")

    # -- a test cell ----------------------------------------------------------------------------
    def _drain(self) -> None:
        """Drop what a previous, interrupted test left in the socket."""
        self.sock.setblocking(False)
        dropped, limit = 0, time.monotonic() + 2
        try:
            while chunk := self.sock.recv(1 << 16):
                dropped += len(chunk)
                if dropped > 256 * 1024 * 1024 or time.monotonic() > limit:
                    self.link.broken = "カーネルがデータを送り続けています"
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        finally:
            self.sock.setblocking(True)

    def run_test(self, source: str, timeout: float) -> dict:
        """Run one test cell; ``{"stdout": str, "error": None | {ename, evalue, traceback}}``."""
        out = io.StringIO()
        error = None
        if self.link is None or self.link.broken:
            why = self.link.broken if self.link else "カーネルと接続できません"
            return {"stdout": "", "error": _aborted(why), "note": f"link broken: {why}",
                    "broken": True}
        self.deadline = time.monotonic() + timeout
        self.failed_in_callback = None
        self._drain()
        if self.link.broken:
            return {"stdout": "", "error": _aborted(self.link.broken),
                    "note": f"link broken: {self.link.broken}", "broken": True}
        self.codec.reset()
        note = ""
        try:
            code = compile(source, "<テスト>", "exec", dont_inherit=True)
            namespace = dict(self.setup_ns)
            namespace["__name__"] = JUDGE_MODULE
            self.link.request("begin")
            wanted = sorted(names_to_fetch(code) - set(namespace) - set(dir(builtins)))
            if wanted:
                for pair in self.link.request("get", names=tuple(wanted)):
                    if type(pair) is tuple and len(pair) == 2 and pair[0] in wanted:
                        namespace[pair[0]] = pair[1]
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
            if self.failed_in_callback is not None:
                raise self.failed_in_callback
        except link.LinkBroken as exc:
            error = _aborted(str(exc))
            note = f"link broken: {exc}"
        except BaseException as exc:  # noqa: BLE001 - any failure of the test is its verdict
            error = _render(exc)
        if self.link is not None and not self.link.broken:
            try:
                self.deadline = time.monotonic() + 5
                self.link.request("end")
            except link.LinkBroken as exc:
                note = note or f"end not confirmed: {exc}"
            except Exception:  # noqa: BLE001
                pass
        text = out.getvalue()
        if len(text) > MAX_STDOUT:
            text = text[:MAX_STDOUT] + "\n[出力が長すぎるため省略しました]\n"
        return {"stdout": text, "error": error, "note": note,
                "broken": bool(self.link and self.link.broken)}


def _aborted(why: str) -> dict:
    message = f"テストを最後まで実行できませんでした ({why})"
    return {"ename": "TestAborted", "evalue": message, "traceback": [f"TestAborted: {message}"]}


def _render(exc: BaseException) -> dict:
    text = _explained(exc)
    if text is not None:
        exc = CheckFailed(text)
    if isinstance(exc, StudentError):
        info = exc.info
        lines = ["テストから呼び出したあなたのコードで例外が発生しました:", *info["tb"],
                 f"{info['n']}: {info['m']}"]
        return {"ename": info["n"], "evalue": info["m"], "traceback": lines}
    render = getattr(type(exc), "_render_traceback_", None)
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001
        message = ""
    if callable(render):
        try:
            lines = [str(line) for line in render(exc)]
        except Exception:  # noqa: BLE001
            lines = [f"{name}: {message}"]
    else:
        lines = [f"{name}: {message}"]
    return {"ename": name, "evalue": message, "traceback": lines}


# -- the process -------------------------------------------------------------------------------
def main(control, socket_path: str, accept_timeout: float = 60.0) -> None:
    """Serve one notebook: ``("setup", source)``, ``("test", source, timeout)``, ``("stop",)``.

    ``control`` is a ``multiprocessing`` connection to the grader (trusted, our parent).
    """
    os.environ["MPLBACKEND"] = "Agg"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(1)
    session = Session()
    control.send(("ready", os.getpid()))
    while True:
        try:
            message = control.recv()
        except (EOFError, OSError):
            break
        kind = message[0]
        if kind == "stop":
            break
        if kind == "setup":
            control.send(("setup", session.setup(message[1]), None))
        elif kind == "test":
            if session.sock is None and listener is not None:
                listener.settimeout(accept_timeout)
                try:
                    conn, _ = listener.accept()
                    session.connect(conn)
                except OSError:
                    pass
                listener.close()
                listener = None
                with contextlib.suppress(OSError):
                    os.unlink(socket_path)
            control.send(("verdict", session.run_test(message[1], message[2]), message[3]))
    sys.exit(0)
