"""The grading kernel's agent: answers the judge's requests about the notebook's objects.

Started as the grading kernel itself (``python -m instructor.agent -f <connection file>
--judge-socket <path>``): it connects to the judge (:mod:`instructor.judge`) before any cell
runs, then starts an IPython kernel. For each test cell the grader runs ``__kobai_serve__()``
in the kernel; while it runs, the agent serves the judge's requests (names of the notebook,
calls, attributes) until the judge says the test has ended.

The agent is untrusted by construction: the student's code can replace or patch it, which only
changes the data the judge receives, and the judge validates that. It holds no key and no test.
``exit()`` in a cell raises instead of ending the kernel (a later cell would otherwise find no
kernel).
"""

from __future__ import annotations

import builtins
import socket
import sys
import time
import traceback

from instructor import link, wire


class JudgeObject(wire.RemoteCallable):
    """A stand-in for an object of the judge (the test's ``f``, a test double)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<採点側の {object.__getattribute__(self, '_wire_name')}>"


_BUILTIN_ERRORS = {name: cls for name, cls in vars(builtins).items()
                   if isinstance(cls, type) and issubclass(cls, Exception)}


def _judge_error(info: dict) -> BaseException:
    cls = _BUILTIN_ERRORS.get(info.get("t"), RuntimeError)
    message = info.get("m") if type(info.get("m")) is str else ""
    return cls(message)


class Agent:
    """Serves the judge over ``sock`` with the objects of ``shell.user_ns``."""

    def __init__(self, sock: socket.socket, shell) -> None:
        self.shell = shell
        self.codec = wire.Codec(1, lambda hid, name, _c: JudgeObject(hid, self, name))
        self.link = link.Link(sock, self.codec, self._handle, deadline=lambda: None,
                              fail=_judge_error, describe_error=self._describe)

    def _cell_files(self) -> set[str]:
        compiler = getattr(self.shell, "compile", None)
        return set(getattr(compiler, "_filename_map", {}) or {})

    def _describe(self, exc: BaseException) -> dict:
        """The student's exception: type, message, the lines of their own cells, and what the
        judge's explanation needs (``f``: their cell frames, ``c``: names to suggest for a typo;
        :mod:`common.cellframes`)."""
        cells = self._cell_files()
        lines = []
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename in cells:
                code = (frame.line or "").strip()
                lines.append(f"  関数 {frame.name}, 行 {frame.lineno}: {code}")
        info = link.error_info(exc, lines[-20:])
        try:
            info.update(self._explanation_input(exc, cells))
        except Exception:  # noqa: BLE001 - the bare error is still told
            pass
        return info

    def _explanation_input(self, exc: BaseException, cells) -> dict:
        from common import cellframes

        counts = getattr(self.shell.compile, "_filename_map", {}) or {}
        frames, inner = cellframes.student_frames(
            exc.__traceback__, is_cell=cells.__contains__,
            label=lambda filename: f"In [{counts.get(filename, '?')}]", exclude=lambda _f: False)
        names = cellframes.candidate_names(exc, inner, self.shell.user_ns, cells.__contains__)
        if isinstance(exc, AttributeError):  # self.W -> W, as in the student's own kernel
            names += [n[5:] for n in names if n.startswith("self.")]
        key = repr(exc.args[0]) if isinstance(exc, KeyError) and exc.args else None
        return {"f": [[f.cell, f.line, f.source, f.function] for f in frames],
                "c": list(dict.fromkeys(n for n in names if type(n) is str))[:2000],
                **({"k": key} if key is not None else {})}

    def _handle(self, op: str, fields: dict):
        if op == "begin":
            self.codec.reset()
            return None
        if op == "get":
            names = fields["names"] if type(fields["names"]) is tuple else ()
            user_ns = self.shell.user_ns
            return tuple((name, user_ns[name]) for name in names
                         if type(name) is str and name in user_ns)
        if op == "rng":  # the global random state (common.testing.global_rng_unused)
            import numpy

            return numpy.random.get_state()  # noqa: NPY002 - the global state students may use
        if op == "call":
            kwargs = dict(fields["kw"] or ())
            return fields["h"](*(fields["a"] or ()), **kwargs)
        if op == "getattr":
            return getattr(fields["h"], fields["n"])
        if op == "setattr":
            setattr(fields["h"], fields["n"], fields["v"])
            return None
        raise TypeError(f"unknown request {op!r}")

    def serve(self) -> None:
        """Serve one test: skip what an interrupted test left, then ``begin`` ... ``end``."""
        while True:
            header, bufs = self.link._receive()
            if header.get("k") == "q" and header.get("op") == "begin":
                self.link.serve(header, bufs)
                break
        self.link.serve_until_end()


def _refuse_exit(*_args, **_kwargs) -> None:
    raise SystemExit("採点中は exit() / quit() でカーネルを終了できません")


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.05)
    sock.connect(path)
    return sock


def main() -> None:
    """Connect to the judge, then start an IPython kernel that serves it."""
    from ipykernel.kernelapp import IPKernelApp

    argv = sys.argv[1:]
    i = argv.index("--judge-socket")
    path = argv[i + 1]
    del argv[i:i + 2]
    sock = _connect(path)
    app = IPKernelApp.instance()
    app.initialize(argv)
    app.shell.ask_exit = _refuse_exit
    agent = Agent(sock, app.shell)
    app.shell.user_ns["__kobai_serve__"] = agent.serve
    app.start()


if __name__ == "__main__":
    main()
