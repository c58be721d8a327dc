"""One end of a judge <-> kernel connection: requests, answers and nested callbacks.

Both ends run the same loop (:class:`Link`): a request is sent, and while its answer has not
come, requests of the other end are served (the student's function calls the test's ``f``,
which calls the student's method...). Messages and values are those of :mod:`instructor.wire`.

Requests (``op``): ``begin`` / ``end`` (a test starts / ends: the kernel's serving loop runs
between them), ``get`` (names of the notebook), ``call``, ``getattr``, ``setattr`` on a handle.
An answer is ``{"ok": true, "v": value}`` or ``{"ok": false, "e": {"t": builtin exception
class, "n": class name, "m": message, "tb": [lines]}}``.
"""

from __future__ import annotations

import builtins
import socket
import time

from instructor import wire

MAX_DEPTH = 60  # nested calls (both ways) within one request
TEXT_CHARS = 2000
TB_LINES = 40


class LinkBroken(BaseException):  # noqa: N818 - not an Exception: test code cannot catch it
    """The other end is gone, late or broke the protocol: the test cannot go on."""


def _clip(text, size: int = TEXT_CHARS) -> str:
    return text[:size] if type(text) is str else ""


def builtin_base(exc: BaseException) -> str:
    """Name of the first builtin exception class of ``exc``'s class (MRO order)."""
    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
    return "Exception"


def error_info(exc: BaseException, tb_lines: list[str] | None = None) -> dict:
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a student's exception may fail to print
        message = ""
    try:
        name = type(exc).__name__
    except Exception:  # noqa: BLE001
        name = "Exception"
    return {"t": builtin_base(exc), "n": _clip(name, 100), "m": _clip(message),
            "tb": [_clip(line, 300) for line in (tb_lines or [])[:TB_LINES]]}


class Link:
    """Requests to the other end; serves its requests with ``handler(op, fields)``.

    ``deadline()`` gives the monotonic time by which any answer must have come (None: no
    limit). ``fail(info)`` turns an error answer into the exception to raise here.
    """

    def __init__(self, sock: socket.socket, codec: wire.Codec, handler, *, deadline,
                 fail, describe_error, limits: wire.Limits = wire.LIMITS) -> None:
        self.sock = sock
        self.codec = codec
        self.handler = handler
        self.deadline = deadline
        self.fail = fail
        self.describe_error = describe_error
        self.limits = limits
        self.depth = 0
        self.broken: str | None = None
        self.ended = False

    # -- sending ------------------------------------------------------------------------------
    def _send(self, header: dict, fields: dict) -> None:
        """Send a message; ProtocolError (nothing sent, codec rolled back) if it cannot be."""
        mark = self.codec.mark()
        try:
            header, bufs = self.codec.encode_message(header, fields)
            wire.send_frame(self.sock, header, bufs, self.limits)
        except wire.ProtocolError:
            self.codec.rollback(mark)
            raise
        except (OSError, ValueError) as exc:
            self._break(f"送信できません ({type(exc).__name__})")

    def _break(self, why: str):
        self.broken = self.broken or why
        raise LinkBroken(self.broken)

    def _receive(self) -> tuple[dict, list[bytes]]:
        if self.broken:
            raise LinkBroken(self.broken)
        try:
            return wire.recv_frame(self.sock, self.deadline(), self.limits)
        except TimeoutError:
            self._break("時間内に応答がありませんでした")
        except EOFError:
            self._break("カーネルとの接続が切れました")
        except (OSError, wire.ProtocolError) as exc:
            self._break(f"通信の内容が正しくありません ({exc})"[:200])

    # -- requests -----------------------------------------------------------------------------
    def request(self, op: str, **fields):
        """Send request ``op``, serve nested requests, return the answer's value or raise."""
        if self.broken:
            raise LinkBroken(self.broken)
        if self.depth >= MAX_DEPTH:
            raise RecursionError("呼び出しの入れ子が深すぎます")
        self.depth += 1
        try:
            self._send({"k": "q", "op": op}, fields)
            while True:
                header, bufs = self._receive()
                kind = header.get("k")
                if kind == "a":
                    try:
                        value = self.codec.decode_message(header, bufs, ("v",))["v"]
                    except wire.ProtocolError as exc:
                        self._break(f"通信の内容が正しくありません ({exc})"[:200])
                    if header.get("ok") is True:
                        return value
                    info = header.get("e")
                    raise self.fail(info if type(info) is dict else {})
                if kind == "q":
                    self.serve(header, bufs)
                    if self.ended:
                        self._break("テストの途中で終了を求められました")
                    continue
                self._break("通信の内容が正しくありません (種類)")
        finally:
            self.depth -= 1

    def serve(self, header: dict, bufs: list[bytes]) -> None:
        """Serve one request of the other end and send its answer."""
        op = header.get("op")
        try:
            fields = self.codec.decode_message(header, bufs, ("h", "a", "kw", "n", "v", "names"))
        except wire.ProtocolError as exc:
            self._break(f"通信の内容が正しくありません ({exc})"[:200])
        if op == "end":
            self.ended = True
            self._send({"k": "a", "ok": True}, {"v": None})
            return
        if self.depth >= MAX_DEPTH:
            error = error_info(RecursionError("呼び出しの入れ子が深すぎます"))
            self._send({"k": "a", "ok": False, "e": error}, {"v": None})
            return
        self.depth += 1
        try:
            value = self.handler(op, fields)
        except LinkBroken:
            raise
        except BaseException as exc:  # noqa: BLE001 - any error of the served code is answered
            header = {"k": "a", "ok": False, "e": self.describe_error(exc)}
            self._send(header, {"v": None})
            return
        finally:
            self.depth -= 1
        try:
            self._send({"k": "a", "ok": True}, {"v": value})
        except wire.ProtocolError as exc:
            error = error_info(ValueError(f"答えの値が大きすぎるか, 送れない値です ({exc})"))
            self._send({"k": "a", "ok": False, "e": error}, {"v": None})

    def serve_until_end(self) -> None:
        """Serve requests until ``end`` (the kernel's loop during one test)."""
        self.ended = False
        while not self.ended:
            header, bufs = self._receive()
            if header.get("k") != "q":
                continue  # a late answer of an interrupted call: dropped
            self.serve(header, bufs)


def now_plus(seconds: float) -> float:
    return time.monotonic() + seconds
