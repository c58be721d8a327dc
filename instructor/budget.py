"""One output budget per graded notebook: every byte the kernel sends for its cells counts.

:class:`instructor.execute.SandboxedExecute` passes each iopub message of the running cell
through :meth:`OutputBudget.take` before nbclient looks at it. Everything the kernel puts in
a message counts, not only what becomes an output: stream text, display data *and its
metadata*, ``execute_result``, errors (``evalue`` and the traceback lines), ``clear_output``,
``comm_open`` / ``comm_msg`` / ``comm_close`` and binary buffers; only the envelope (message
header, our own request's header), a few hundred bytes of fixed fields, is left out, so that
many small prints cost what they print. Once the budget is spent nothing more is kept, and the
caller ends the kernel and fails the rest of the notebook with :attr:`OutputBudget.reason`:
what the grader holds in memory and writes into the graded notebook stays below the budget,
whatever the kernel sends.

Status messages are counted but always passed on (they end a cell; nbclient keeps nothing of
them). Comm messages are counted but never passed on: grading keeps no widget state, and
nbclient's widget handler fails on a malformed ``comm_open`` (which ended the whole notebook).

Before a message is counted it has been read into the grader's memory: :class:`LimitedClient`
(the kernel client's class) makes zmq drop a message over ``MESSAGE_BYTES`` before reading it
(the per-cell cap keeps less than that of any output anyway) and bounds the messages queued
unread, so the grader holds at most ``QUEUED_MESSAGES x MESSAGE_BYTES`` of what the kernel
sends at any time. A dropped message never scores: a test's error also comes back in the
execute reply, and a cell whose output stops coming fails with the kernel ended.
"""

from __future__ import annotations

import json

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import default

DEFAULT_BYTES = 2_000_000  # c.SandboxedExecute.output_budget in nbgrader_config.py
MESSAGE_BYTES = 1024 * 1024  # one message (frame) from the kernel, at most
QUEUED_MESSAGES = 128  # received but not yet read, per socket


class LimitedClient(AsyncKernelClient):
    """The grader's kernel client: its sockets drop huge messages and queue few unread ones."""

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_BYTES)
        context.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES)
        return context


def message_bytes(msg: dict) -> int:
    """Bytes the kernel put in one deserialized message: metadata, content, binary buffers."""
    parts = [msg.get("metadata"), msg.get("content")]
    size = len(json.dumps(parts, default=str, ensure_ascii=False))
    for buffer in msg.get("buffers") or ():
        try:
            size += memoryview(buffer).nbytes
        except TypeError:
            size += len(str(buffer))
    return size


class OutputBudget:
    """Bytes a notebook's kernel may send before nothing more is kept and the kernel ends."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.spent = False

    @property
    def reason(self) -> str:
        return (f"出力の合計が上限 ({self.limit:,} バイト) を超えたため、カーネルを停止しました"
                " (表示・メタデータ・エラー・comm メッセージをすべて数えます)")

    def take(self, msg: dict) -> bool:
        """Count ``msg``; whether it may be kept: a status always, a comm message never,
        anything else while the budget lasts (then :attr:`spent` is True)."""
        self.used += message_bytes(msg)
        if self.used > self.limit:
            self.spent = True
        kind = msg.get("msg_type", "")
        if kind == "status":
            return True
        return not (self.spent or kind.startswith("comm"))
