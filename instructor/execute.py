"""``SandboxedExecute``: nbgrader's ``Execute`` with the kernel in the sandbox and tests in a judge.

It replaces ``Execute`` in ``Autograde.autograde_preprocessors`` (``nbgrader_config.py``):

- the kernel is started through :mod:`instructor.sandbox` (bubblewrap, rlimits, one wall-time
  budget for the notebook) and talks to us over IPC sockets (the sandbox has no network);
- test cells are never sent to the kernel: a judge process (:mod:`instructor.judge`, one per
  notebook, trusted code only) runs them and calls the student's objects through the agent in
  the kernel (:mod:`instructor.agent`), which serves it while the kernel runs
  ``__kobai_serve__()``. The cell's outputs are the judge's verdict only (its stdout, and an
  error if the test failed); nothing the kernel sends lands in a test cell, so no
  ``execute_result`` can give nbgrader partial credit;
- a kernel that dies (budget spent, ``os._exit``, a crash) or stops answering does not abort
  the notebook: the cell gets an error saying why, the remaining cells are marked as not run,
  and the tests that already passed keep their points;
- output is capped in bytes per cell while it arrives (a 50 MB line never reaches memory), and
  everything the kernel sends counts against one budget per notebook (:mod:`instructor.budget`):
  once it is spent nothing more is kept, the kernel is ended and the remaining cells fail.

What happened is appended to ``notes_file`` (one line per note) for the grading record.
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import os
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

from instructor import judge, sandbox
from instructor.budget import DEFAULT_BYTES, OutputBudget
from instructor.preprocessors import GradingStep

KERNEL_NAME = "kobai-sandbox"
STOPPED = "KernelStopped"
EXIT_REPORT = "exit.json"  # the launcher's report, next to (not inside) the socket folder
SERVE = "__kobai_serve__()"  # the kernel serves the judge while this runs
JUDGE_PRELOAD = ["instructor.judge", "numpy", "common.testing", "common.grad", "common.loss",
                 "common.activations", "common.layers", "common.optimizers", "common.plotting",
                 "common.datasets", "tqdm.auto"]


@functools.cache
def _judge_context():
    """A fork server with numpy and ``common`` imported: a judge starts in milliseconds."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(JUDGE_PRELOAD)
    return context


def _forget_inherited_fork_server() -> None:
    """In a process forked from the grader (a parallel worker), the grader's fork server is not
    a child: multiprocessing would fail to check on it. The worker starts its own when needed."""
    import multiprocessing.forkserver as forkserver

    server = getattr(forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", None) is None:
        return
    if server._forkserver_alive_fd is not None:
        try:
            os.close(server._forkserver_alive_fd)
        except OSError:
            pass
    server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None


os.register_at_fork(after_in_child=_forget_inherited_fork_server)


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
    """Execute a notebook for grading: sandboxed kernel, tests in the judge, one time budget."""

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
    judge_grace = Float(15.0, help="seconds the judge may take beyond the cell timeout"
                        ).tag(config=True)
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
        judge_socket = self._start_judge()
        launcher = [sys.executable, "-m", "instructor.sandbox",
                    "--connection-file", "{connection_file}",
                    "--report", str(self._workdir / EXIT_REPORT),
                    "--wall", str(self.wall_budget), "--cpu", str(self.cpu_limit),
                    "--memory", str(self.memory_limit), "--processes", str(self.process_limit),
                    "--file-size", str(self.file_size_limit)]
        for path in sandbox.kernel_paths() + [judge_socket.parent]:
            launcher += ["--ro", str(path)]
        mpl_cache = _matplotlib_cache()
        if mpl_cache is not None:
            launcher += ["--mpl-cache", str(mpl_cache)]
        if self.unsafe:
            launcher.append("--unsafe")
        kernel = [sys.executable, "-I", "-B", "-X", "utf8", "-m", "instructor.agent",
                  "-f", "{connection_file}", "--judge-socket", str(judge_socket)]
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

    def _start_judge(self) -> Path:
        """Start this notebook's judge; the socket it listens on (folder made by us, 0700)."""
        folder = self._workdir / "judge"
        folder.mkdir(mode=0o700)
        path = folder / "j"
        context = _judge_context()
        ours, theirs = context.Pipe()
        self._judge = context.Process(target=judge.main, args=(theirs, str(path)), daemon=True)
        self._judge.start()
        theirs.close()
        self._judge_conn = ours
        if not ours.poll(60) or ours.recv()[0] != "ready":
            raise RuntimeError("the judge process did not start")
        return path

    def _stop_judge(self) -> None:
        process = getattr(self, "_judge", None)
        if process is None:
            return
        try:
            self._judge_conn.send(("stop",))
        except OSError:
            pass
        process.join(2)
        if process.is_alive():
            process.kill()
            process.join(2)
        self._judge_conn.close()
        self._judge = None

    async def _judge_setup_done(self, timeout: float) -> bool:
        """Whether the judge answers the setup cell just sent within ``timeout`` seconds."""
        limit = time.monotonic() + timeout
        conn = self._judge_conn
        while time.monotonic() < limit:
            try:
                while conn.poll(0):
                    if conn.recv()[0] == "setup":  # a late verdict is dropped
                        return True
            except (EOFError, OSError):
                return False
            if not self._judge.is_alive():
                return False
            await asyncio.sleep(0.002)
        return False

    def preprocess(self, nb, resources, retries=None):
        try:
            return super().preprocess(nb, resources, retries)
        finally:
            self._stop_judge()
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

    # -- the kernel ---------------------------------------------------------------------------
    async def _kernel_responds(self, timeout: float) -> bool:
        """Whether the kernel answers a silent empty request within ``timeout`` seconds."""
        msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False)
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=0.5))
            except Exception:  # queue.Empty
                if not await ensure_async(self.km.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

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
        setup = utils.is_locked(cell) and not utils.is_solution(cell) and not is_test
        try:
            if is_test:
                await self._execute_test(cell, cell_index, execution_count, store_history)
            else:
                await super().async_execute_cell(cell, cell_index, execution_count,
                                                 store_history)
                if setup:  # the master's given code: the judge runs it too if it is self-contained
                    self._judge_conn.send(("setup", cell.source))
                    if not await self._judge_setup_done(60):
                        self.note(f"cell {cell_index}: the judge did not run the setup cell")
            if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs) \
                    or getattr(self, "_interrupted", False):
                # interrupted on timeout: a kernel that ignores the interrupt is ended now
                self._interrupted = False
                if not await self._kernel_responds(5):
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
        """The judge runs the test; the kernel serves it; the cell shows the judge's verdict."""
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        try:
            self._test_seq = getattr(self, "_test_seq", 0) + 1
            self._judge_conn.send(("test", cell.source, float(self.timeout or 60) + 10,
                                   self._test_seq))
        except OSError:
            cell.outputs = [_error("JudgeUnavailable", "採点プロセスが停止したため、"
                                   "このテストは実行されませんでした")]
            self.note(f"{grade_id}: judge gone")
            return
        source = cell.source
        cell.source = SERVE
        # whatever the kernel sends while it serves is dropped: the verdict is the judge's
        task = asyncio.ensure_future(super().async_execute_cell(cell, cell_index,
                                                                execution_count, store_history))
        answer, broken_since, dead = None, None, None
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.005)
                if answer is None:
                    answer = self._poll_judge(self._test_seq)
                    if answer is not None and answer[1].get("broken"):
                        broken_since = time.monotonic()
                if done:
                    break
                if broken_since is not None and time.monotonic() - broken_since > 2:
                    # the judge gave up on this kernel (garbage, a dead link): end it now
                    broken_since = None
                    await self._stop_kernel("採点プロセスとの通信が壊れたため停止しました")
                    self.note(f"{grade_id}: kernel stopped: {answer[1].get('note', '')}"[:300])
            task.result()
        except DeadKernelError as exc:
            dead = exc
        except Exception:
            if not self._stopped:  # not ours to explain
                raise
        finally:
            cell.source = source
        timed_out = any(o.get("ename") == "CellTimeoutError" for o in cell.outputs)
        limit = time.monotonic() + self.judge_grace + (5 if timed_out else 0)
        while answer is None and time.monotonic() < limit:
            answer = self._poll_judge(self._test_seq)
            await asyncio.sleep(0.002)
        outputs = []
        if answer is None:
            cell.outputs = [_error("JudgeUnavailable", "採点プロセスが応答しないため、"
                                   "このテストは不合格です")]
            self.note(f"{grade_id}: no verdict from the judge")
            # the judge and the kernel are out of step: nothing later could be trusted
            await self._stop_kernel("採点プロセスとカーネルのやりとりが止まりました")
            return
        verdict = answer[1]
        if verdict["stdout"]:
            outputs.append(NotebookNode(output_type="stream", name="stdout",
                                        text=verdict["stdout"]))
        if verdict["error"]:
            error = verdict["error"]
            outputs.append(NotebookNode(output_type="error", ename=error["ename"],
                                        evalue=error["evalue"], traceback=error["traceback"]))
        elif timed_out:
            outputs.append(_error("CellTimeoutError", "テストが時間内に終わりませんでした"))
        cell.outputs = outputs
        if verdict.get("note"):
            self.note(f"{grade_id}: {verdict['note']}"[:300])
        self._interrupted = timed_out
        if dead is not None and not self._stopped:
            raise dead

    def _poll_judge(self, seq: int):
        """The judge's verdict of test ``seq`` if it has come (late verdicts are dropped)."""
        try:
            while self._judge_conn.poll(0):
                answer = self._judge_conn.recv()
                if answer[0] == "verdict" and answer[2] == seq:
                    return answer
        except (EOFError, OSError):
            return None
        return None


@functools.cache
def _matplotlib_cache() -> Path | None:
    """The grader's matplotlib cache folder, if matplotlib has one (never imports pyplot)."""
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_cachedir())
    return path if path.is_dir() else None

