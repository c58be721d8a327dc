"""``SandboxedExecute``: nbgrader's ``Execute`` with the kernel in the sandbox and the guard on.

It replaces ``Execute`` in ``Autograde.autograde_preprocessors`` (``nbgrader_config.py``):

- the kernel is started through :mod:`instructor.sandbox` (bubblewrap, rlimits, one wall-time
  budget for the notebook) and talks to us over IPC sockets (the sandbox has no network);
- test cells run through :mod:`instructor.guard`: ``reset`` before, ``verdict`` after; a test
  cell scores only when the guard confirms that it ran to its end untouched (fail closed:
  no answer, a wrong answer or a dead kernel all count as failed);
- a kernel that dies (budget spent, ``os._exit``, a crash) or stops answering does not abort
  the notebook: the cell gets an error saying why, the remaining cells are marked as not run,
  and the tests that already passed keep their points;
- output is capped in bytes per cell while it arrives (a 50 MB line never reaches memory), and
  everything the kernel sends counts against one budget per notebook (:mod:`instructor.budget`):
  once it is spent nothing more is kept, the kernel is ended and the remaining cells fail.

What happened is appended to ``notes_file`` (one line per note) for the grading record.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import hmac
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer

from instructor import guard, sandbox
from instructor.budget import DEFAULT_BYTES, OutputBudget
from instructor.preprocessors import GradingStep

KERNEL_NAME = "kobai-sandbox"
STOPPED = "KernelStopped"
EXIT_REPORT = "exit.json"  # the launcher's report, next to (not inside) the socket folder


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"{ename}: {message}"])


def _has_error(cell: NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def _output_size(msg: dict) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    size = 0
    for value in content.get("data", {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    size += sum(len(line) for line in content.get("traceback", []))
    return size


class SandboxedExecute(GradingStep, Execute):
    """Execute a notebook for grading: sandboxed kernel, guarded tests, one time budget."""

    wall_budget = Float(300.0, help="seconds for the whole notebook, kernel start included"
                        ).tag(config=True)
    memory_limit = Integer(sandbox.Limits.memory_bytes, help="address space of the kernel (bytes)"
                           ).tag(config=True)
    process_limit = Integer(sandbox.Limits.processes, help="processes + threads in the sandbox"
                            ).tag(config=True)
    file_size_limit = Integer(sandbox.Limits.file_bytes).tag(config=True)
    cpu_limit = Integer(sandbox.Limits.cpu_seconds).tag(config=True)
    max_output_bytes = Integer(200_000, help="output kept per cell (bytes)").tag(config=True)
    output_budget = Integer(DEFAULT_BYTES, help="bytes the kernel may send for the whole notebook "
                            "(outputs, metadata, errors, comms); then it is ended").tag(config=True)
    guard_timeout = Float(15.0, help="seconds the guard may take to answer").tag(config=True)
    unsafe = Bool(False, help="run without bubblewrap (limits and budget only)").tag(config=True)

    # -- kernel start ------------------------------------------------------------------------
    def create_kernel_manager(self):
        if not self.unsafe:
            ok, why = sandbox.available()
            if not ok:
                raise RuntimeError(f"no sandbox for the grading kernel: {why}")
        self._workdir = Path(tempfile.mkdtemp(prefix="kobai-kernel-"))
        spec_dir = self._workdir / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        ipc = self._workdir / "ipc"
        ipc.mkdir()
        connection_file = ipc / "connection.json"
        self._guard_key = secrets.token_bytes(32)
        self._guard_module = guard.module_name(self._guard_key)
        key_file = ipc / guard.KEY_FILE  # read and deleted by the guard before any cell runs
        key_file.write_bytes(self._guard_key)
        key_file.chmod(0o600)
        launcher = [sys.executable, "-m", "instructor.sandbox",
                    "--connection-file", "{connection_file}",
                    "--report", str(self._workdir / EXIT_REPORT),
                    "--wall", str(self.wall_budget), "--cpu", str(self.cpu_limit),
                    "--memory", str(self.memory_limit), "--processes", str(self.process_limit),
                    "--file-size", str(self.file_size_limit)]
        for path in sandbox.kernel_paths():
            launcher += ["--ro", str(path)]
        mpl_cache = _matplotlib_cache()
        if mpl_cache is not None:
            launcher += ["--mpl-cache", str(mpl_cache)]
        if self.unsafe:
            launcher.append("--unsafe")
        kernel = [sys.executable, "-I", "-B", "-X", "utf8", "-m", "instructor.guard",
                  "-f", "{connection_file}"]
        spec = {"argv": launcher + ["--"] + kernel, "display_name": "Python 3 (grading sandbox)",
                "language": "python", "interrupt_mode": "message", "metadata": {}}
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        self.kernel_name = KERNEL_NAME
        self.km = self.kernel_manager_class(
            kernel_name=KERNEL_NAME, config=self.config,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(self._workdir / "kernels")]),
            transport="ipc", ip=str(ipc / "k"), connection_file=str(connection_file),
            client_class="instructor.budget.LimitedClient")  # huge messages dropped unread
        self._connection_file = connection_file
        self._stopped = ""
        self._out_bytes: dict[int, int] = {}
        self._budget = OutputBudget(self.output_budget)
        return self.km

    def preprocess(self, nb, resources, retries=None):
        try:
            return super().preprocess(nb, resources, retries)
        finally:
            workdir = getattr(self, "_workdir", None)
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
                self._workdir = None

    def _exit_reason(self) -> str:
        if self._budget.spent:
            return self._budget.reason
        exit_file = self._workdir / EXIT_REPORT
        for _ in range(20):  # the launcher writes it right after the sandbox ends
            if exit_file.exists():
                try:
                    return json.loads(exit_file.read_text(encoding="utf-8"))["reason"]
                except (ValueError, KeyError):
                    break
            time.sleep(0.05)
        return "カーネルが停止しました"

    # -- the guard ---------------------------------------------------------------------------
    async def _guard(self, method: str, *args, timeout: float | None = None) -> str | None:
        """Call ``Guard.<method>(*args)`` in the kernel, outside IPython's input pipeline.

        The answer counts only when it carries the guard's signature for this call; anything
        else (no answer, an error, a forged answer) is None.
        """
        call_id = secrets.token_hex(8)
        entry = f"__import__('sys').modules[{self._guard_module!r}].call"
        expr = f"{entry}({call_id!r}, {method!r}, *{args!r})"
        msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                 stop_on_error=False, user_expressions={"r": expr})
        limit = time.monotonic() + (timeout or self.guard_timeout)
        while time.monotonic() < limit:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=0.5))
            except Exception:  # queue.Empty
                if not await ensure_async(self.km.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            result = msg["content"].get("user_expressions", {}).get("r", {})
            if result.get("status") != "ok":
                return None
            try:
                signed = ast.literal_eval(result["data"]["text/plain"])
                answer, signature = signed.rsplit("|", 1)
            except (KeyError, ValueError, SyntaxError, AttributeError):
                return None
            if not hmac.compare_digest(signature, guard.sign(self._guard_key, call_id, answer)):
                return None
            return answer
        return None

    async def _stop_kernel(self, reason: str) -> None:
        self._stopped = reason
        try:  # SIGTERM first: the launcher then ends the sandbox and cleans up after it
            await ensure_async(self.km.provisioner.terminate())
            for _ in range(40):
                if not await ensure_async(self.km.is_alive()):
                    break
                await asyncio.sleep(0.05)
            await ensure_async(self.km.shutdown_kernel(now=True))
        except Exception:  # already gone
            pass

    # -- cells -------------------------------------------------------------------------------
    def process_message(self, msg, cell, cell_index):
        keep = self._budget.take(msg)
        if self._budget.spent and not self._stopped:  # this cell fails, the later ones too
            self._stopped = self._budget.reason
            cell.outputs.append(_error(STOPPED, self._budget.reason))
            self.note(f"output budget spent at cell {cell_index} ({self._budget.used:,} bytes)")
            self._budget_stop = asyncio.get_running_loop().create_task(
                self._stop_kernel(self._budget.reason))
        return super().process_message(msg, cell, cell_index) if keep else None

    def output(self, outs, msg, display_id, cell_index):
        used = self._out_bytes.get(cell_index, 0)
        if msg.get("msg_type") in ("stream", "display_data", "execute_result",
                                   "update_display_data", "error"):
            size = _output_size(msg)
            self._out_bytes[cell_index] = used + size
            if used + size > self.max_output_bytes and msg["msg_type"] != "error":
                if used <= self.max_output_bytes:
                    outs.append(NotebookNode(
                        output_type="stream", name="stdout",
                        text=f"\n[出力が {self.max_output_bytes:,} バイトを超えたため、"
                             "以降は省略しました]\n"))
                    self._out_bytes[cell_index] = self.max_output_bytes + 1
                return None
        return super().output(outs, msg, display_id, cell_index)

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell
        if self._stopped:
            cell.outputs = [_error(STOPPED, f"このセルは実行されませんでした ({self._stopped})")]
            return cell
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        from_master = not utils.is_solution(cell)
        try:
            if is_test:
                await self._execute_test(cell, cell_index, execution_count, store_history)
            elif from_master:
                await self._guard("mark")
                await super().async_execute_cell(cell, cell_index, execution_count,
                                                 store_history)
                await self._guard("checkpoint")
            else:
                await super().async_execute_cell(cell, cell_index, execution_count,
                                                 store_history)
            if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
                # interrupted on timeout: a kernel that ignores the interrupt is ended now
                if await self._guard("mark", timeout=5) is None:
                    await self._stop_kernel("セルの実行が時間切れになり、中断にも応答しません")
        except DeadKernelError:
            reason = self._exit_reason()
            self._stopped = reason
            cell.outputs.append(_error(STOPPED, f"カーネルが停止しました: {reason}"))
            self.note(f"kernel stopped at cell {cell_index}: {reason}")
        except CellTimeoutError:  # the reply came, its output did not (stopped or dropped)
            await self._stop_kernel(self._stopped or "カーネルからの出力が途切れました")
            cell.outputs.append(_error(STOPPED, f"カーネルを停止しました: {self._stopped}"))
            self.note(f"kernel stopped at cell {cell_index}: output lost ({self._stopped})")
        except ValueError as exc:  # a message the kernel's session did not sign (forked child)
            await self._stop_kernel("カーネルとの通信が壊れました")
            cell.outputs.append(_error(STOPPED, f"カーネルを停止しました: {self._stopped}"))
            self.note(f"kernel stopped at cell {cell_index}: broken message ({exc})"[:300])
        self.nb["cells"][cell_index] = cell
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync name to its own

    async def _execute_test(self, cell, cell_index, execution_count, store_history) -> None:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        nonce = secrets.token_hex(8)
        answer = await self._guard("reset", nonce, cell.source)
        prefix = f"ok:{nonce}:"
        if not isinstance(answer, str) or not answer.startswith(prefix):
            cell.outputs = [_error("GuardUnavailable",
                                   "採点環境が応答しない、または書き換えられているため、"
                                   "このテストは実行されませんでした")]
            self.note(f"{grade_id}: guard did not answer before the test")
            if answer is None:
                await self._stop_kernel("採点環境が応答しません")
            return
        restored = json.loads(answer[len(prefix):])
        if restored:
            self.note(f"{grade_id}: restored before the test: {', '.join(restored[:8])}")
        source = cell.source
        cell.source = f"__kobai_run_test__({nonce!r})"
        try:
            await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            cell.source = source
        verdict = await self._guard("verdict", nonce)
        if verdict != "pass" and not _has_error(cell):
            cell.outputs.append(_error("TestNotConfirmed",
                                       "テストが最後まで実行されたことを確認できませんでした"))
            self.note(f"{grade_id}: test not confirmed by the guard ({verdict})")
        elif isinstance(verdict, str) and verdict.startswith("tampered:"):
            self.note(f"{grade_id}: changed while the test ran: {verdict[9:]}")


@functools.cache
def _matplotlib_cache() -> Path | None:
    """The grader's matplotlib cache folder, if matplotlib has one (never imports pyplot)."""
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_cachedir())
    return path if path.is_dir() else None

