"""The grading kernel's sandbox: bubblewrap, resource limits and one wall-time budget.

A grading kernel is started by this module as its *launcher* (the kernelspec's argv is
``python -m instructor.sandbox <options> -- <kernel command>``). The launcher

1. sets resource limits that the kernel and all its children inherit: address space (a huge
   allocation gets ``MemoryError``), number of processes of the sandbox user (a fork bomb gets
   ``BlockingIOError``), file size, CPU seconds, no core files;
2. runs the kernel inside ``bwrap`` (bubblewrap, Debian package): new user, PID, network, IPC,
   UTS and cgroup namespaces, uid/gid 65534, every capability dropped, an empty environment,
   read-only views of the system and the Python installation, the course's ``common`` package
   read-only, and nothing else of the course; a fresh ``/tmp``, a fresh working folder and a
   fresh ``/dev/shm`` (tmpfs, each size-limited; ``/dev`` itself read-only); the connection file
   read-only and the kernel's IPC socket folder read-write; ``--die-with-parent`` so the
   sandbox dies with bwrap;
3. watches the socket folder (the one host folder the sandbox can write, created by the
   grader): the whole tree, recursively, never following a link; more than a few sockets and
   small files, or anything that is neither (a link, a fifo, a device), ends the sandbox;
4. kills the whole sandbox when the wall budget is spent, and writes why the kernel ended into
   the report file the grader names (``--report``), which must lie outside the socket folder:
   the sandbox cannot reach it, and it is opened relative to its folder with
   ``O_NOFOLLOW | O_CREAT | O_EXCL`` (read by :class:`instructor.execute.SandboxedExecute`).

Why bubblewrap: it runs as root (CI, a JupyterHub server) and as an ordinary user (unprivileged
user namespaces), needs no daemon, and the PID namespace ends every process the kernel
started, detached ones too, when the kernel goes. Without it (no ``bwrap``, user namespaces
disabled) grading refuses unless ``--unsafe`` is given; then only the limits and the budget hold.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID = 65534  # "nobody" inside the user namespace
COURSE_PACKAGES = ("common", "instructor")  # importable inside; instructor holds the agent
MiB = 1024 * 1024
IPC_FOLDER_BYTES = 1 * MiB  # the socket folder holds sockets and small files only
IPC_FOLDER_ENTRIES = 64  # files and folders in it, at any depth (a kernel makes ~7)


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits (one kernel grades one notebook)."""

    wall_seconds: float = 300.0  # the whole notebook, from kernel start
    cpu_seconds: int = 600
    memory_bytes: int = 2048 * MiB  # address space (RLIMIT_AS)
    processes: int = 64  # processes + threads of the sandbox user, the kernel's ~10 included
    file_bytes: int = 64 * MiB  # largest file the kernel may write
    scratch_bytes: int = 128 * MiB  # size of the tmpfs working folder and of /tmp
    shm_bytes: int = 64 * MiB  # size of /dev/shm (tmpfs lives in the host's memory)
    # everything the sandbox holds in the host's memory: process memory, tmpfs files, System V
    # shared memory (which RLIMIT_AS does not see); a memory cgroup, as root only
    host_memory_bytes: int = 2560 * MiB


def kernel_paths() -> list[Path]:
    """What a grading kernel needs to read: the Python installation, the venv, ``common``."""
    return _python_dirs() + _package_dirs()


def _package_dirs() -> list[Path]:
    """Folders of the course packages the kernel imports (editable install or site-packages)."""
    import importlib.util

    dirs = []
    for name in COURSE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"package {name!r} is not installed (pip install -e .)")
        dirs.append(Path(list(spec.submodule_search_locations)[0]).resolve())
    return dirs


def _python_dirs() -> list[Path]:
    """The interpreter's installation and the virtual environment, read-only inside."""
    dirs = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sysconfig.get_paths()["stdlib"]).resolve().parent}
    return sorted(d for d in dirs if d.exists())


def _system_binds() -> list[str]:
    args = []
    for path in ("/usr", "/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for name in ("bin", "lib", "lib64", "sbin"):
        target = f"/{name}"
        if os.path.islink(target):  # merged /usr (Debian 12): /bin -> usr/bin
            args += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            args += ["--ro-bind", target, target]
    return args


def kernel_environment(grading: str | None) -> dict[str, str]:
    """The only environment variables a sandboxed kernel sees."""
    env = {
        "HOME": "/tmp/home",
        "TMPDIR": "/tmp",
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONUTF8": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": "/tmp/home/.matplotlib",
        "IPYTHONDIR": "/tmp/home/.ipython",
        "JUPYTER_RUNTIME_DIR": "/tmp/home/.jupyter",
        "JUPYTER_PLATFORM_DIRS": "1",
        # one BLAS thread: parallel grading runs one kernel per core
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if grading:
        env["NBGRADER_EXECUTION"] = grading  # common.testing.under_grading()
    return env


def _isolation() -> list[str]:
    """bwrap's namespaces, user and capabilities: the same for the probe and every kernel."""
    return ["bwrap", "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--die-with-parent",
            "--clearenv", "--proc", "/proc", "--dev", "/dev"]


def bwrap_command(kernel_argv: list[str], *, connection_file: Path, limits: Limits,
                  env: dict[str, str], read_only: list[Path],
                  mpl_cache: Path | None = None) -> list[str]:
    """The ``bwrap`` command line that runs ``kernel_argv`` in the sandbox."""
    conn = connection_file.resolve()
    ipc_dir = conn.parent  # the kernel's sockets live next to its connection file
    args = _isolation() + ["--new-session"]
    # the fresh /tmp first: folders bound below may live under /tmp (a course cloned there)
    args += ["--size", str(limits.scratch_bytes), "--tmpfs", "/tmp",
             "--dir", "/tmp/home", "--dir", "/tmp/home/.matplotlib",
             "--size", str(limits.scratch_bytes), "--tmpfs", "/scratch"]
    # bwrap's --dev is an unbounded tmpfs with /dev/shm inside: a bounded /dev/shm, /dev read-only
    args += ["--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
    args += _system_binds()
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    if mpl_cache is not None and mpl_cache.is_dir():
        # the grader's font cache, copied in read-only: saves matplotlib's font scan per kernel
        for cache in mpl_cache.glob("fontlist-*.json"):
            args += ["--ro-bind", str(cache), f"/tmp/home/.matplotlib/{cache.name}"]
    args += ["--bind", str(ipc_dir), str(ipc_dir)]
    args += ["--ro-bind", str(conn), str(conn)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    # the root folder bwrap built (and the folders it made for the binds) is read-only too
    args += ["--remount-ro", "/", "--chdir", "/scratch", "--"]
    return args + kernel_argv


# -- availability ---------------------------------------------------------------------------
_probe_result: tuple[bool, str] | None = None


def available() -> tuple[bool, str]:
    """Whether bubblewrap can run a sandbox here; (False, why) if not. Probed once."""
    global _probe_result
    if _probe_result is not None:
        return _probe_result
    if shutil.which("bwrap") is None:
        _probe_result = (False, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
        return _probe_result
    probe = _isolation() + _system_binds() + ["--", "/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _probe_result = (False, f"bwrap does not start: {exc}")
        return _probe_result
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        why = lines[-1] if lines else f"exit {done.returncode}"
        _probe_result = (False, f"bwrap cannot create a sandbox here ({why}); "
                                "unprivileged user namespaces may be disabled "
                                "(sysctl kernel.unprivileged_userns_clone=1)")
        return _probe_result
    _probe_result = (True, "")
    return _probe_result


# -- the launcher ---------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1


def _user_tasks() -> int:
    """Processes and threads this real uid already runs (RLIMIT_NPROC counts them all)."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


class SandboxCgroups:
    """The cgroups of one sandbox (root only): ``pids`` (RLIMIT_NPROC does not bind uid 0) and
    ``memory`` (bounds what the sandbox holds in the host's memory, System V segments included;
    over it the kernel's processes are killed and the sandbox ends with them).

    cgroup v1 (``/sys/fs/cgroup/<controller>``) or v2 with the controller enabled; a controller
    that is missing is simply not used.
    """

    LIMIT_FILES = {"pids": ("pids.max",), "memory": ("memory.limit_in_bytes", "memory.max")}

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    @classmethod
    def create(cls, max_tasks: int, memory_bytes: int) -> SandboxCgroups | None:
        if os.geteuid() != 0:
            return None
        paths = [path for path in (cls._one("pids", max_tasks), cls._one("memory", memory_bytes))
                 if path is not None]
        return cls(paths) if paths else None

    @classmethod
    def _one(cls, controller: str, value: int) -> Path | None:
        for base in (Path("/sys/fs/cgroup") / controller, Path("/sys/fs/cgroup")):
            if not (base / "cgroup.procs").exists() or not _has(base, controller):
                continue
            for stale in base.glob("kobai-sandbox-*"):  # left by a killed launcher
                owner = stale.name.rsplit("-", 1)[-1]
                if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                    try:  # only an empty cgroup can be removed
                        stale.rmdir()
                    except OSError:
                        pass
            path = base / f"kobai-sandbox-{os.getpid()}"
            try:
                path.mkdir(exist_ok=True)
                limit = next(path / name for name in cls.LIMIT_FILES[controller]
                             if (path / name).exists())
                limit.write_text(str(value))
            except (OSError, StopIteration):
                try:
                    path.rmdir()
                except OSError:
                    pass
                continue
            return path
        return None

    def join(self) -> None:
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def oom_killed(self) -> bool:
        """Whether the memory limit killed a process of the sandbox (v1 failcnt / v2 events)."""
        for path in self.paths:
            try:
                if (path / "memory.failcnt").exists():
                    return int((path / "memory.failcnt").read_text()) > 0
                if (path / "memory.events").exists():
                    events = dict(line.split() for line in
                                  (path / "memory.events").read_text().splitlines())
                    return int(events.get("oom_kill", "0")) > 0
            except (OSError, ValueError):
                pass
        return False

    def remove(self) -> None:
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # tasks still exiting
                    time.sleep(0.02)


def _has(base: Path, controller: str) -> bool:
    if base.name == controller:
        return True
    try:
        return controller in (base / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def _die_with_parent() -> None:
    """SIGKILL this process when the process (thread) that started it ends."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _limit_child(limits: Limits, nproc: int | None, cgroup: SandboxCgroups | None) -> None:
    """In the child, before exec: rlimits, cgroup, and die when the launcher dies."""
    _die_with_parent()
    if cgroup is not None:
        cgroup.join()
    rlimits = [(resource.RLIMIT_NPROC, nproc)] if nproc is not None else []
    for res, value in rlimits + [(resource.RLIMIT_AS, limits.memory_bytes),
                       (resource.RLIMIT_FSIZE, limits.file_bytes),
                       (resource.RLIMIT_CPU, limits.cpu_seconds),
                       (resource.RLIMIT_CORE, 0)]:
        _soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)  # never try to raise a hard limit
        resource.setrlimit(res, (value, value))


def ipc_folder_problem(folder: Path) -> str | None:
    """Why the socket folder's content ends the sandbox, or None while it is sockets and files.

    Walks the whole tree through folder descriptors (no path is ever resolved again, so a link
    is never followed and depth does not matter): at most ``IPC_FOLDER_ENTRIES`` entries and
    ``IPC_FOLDER_BYTES`` bytes of files; a link, fifo or device, or a folder that cannot be
    read, is a problem at once (fail closed).
    """
    try:
        top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        return f"the socket folder cannot be read ({exc.strerror})"
    pending, entries, size = [top], 0, 0
    try:
        while pending:
            fd = pending.pop()
            try:
                names = os.listdir(fd)
            except OSError as exc:
                return f"a folder in the socket folder cannot be read ({exc.strerror})"
            for name in names:
                entries += 1
                if entries > IPC_FOLDER_ENTRIES:
                    return f"more than {IPC_FOLDER_ENTRIES} entries"
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:  # removed meanwhile
                    continue
                if stat.S_ISDIR(info.st_mode):
                    try:
                        pending.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY
                                               | os.O_NOFOLLOW, dir_fd=fd))
                    except OSError as exc:
                        return f"a folder in the socket folder cannot be read ({exc.strerror})"
                elif stat.S_ISREG(info.st_mode):
                    size += info.st_size
                    if size > IPC_FOLDER_BYTES:
                        return f"more than {IPC_FOLDER_BYTES:,} bytes of files"
                elif not stat.S_ISSOCK(info.st_mode):
                    return f"{name!r} is a link, fifo or device"
            if fd != top:
                os.close(fd)
    finally:
        for fd in pending:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.close(top)
    return None


def write_report(path: Path, report: dict) -> None:
    """Write the exit report to ``path`` without following any link in its last part.

    The folder is the grader's (outside the socket folder); the file is created anew next to
    it (``O_CREAT | O_EXCL | O_NOFOLLOW`` relative to the folder's descriptor), then renamed.
    """
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    tmp = f".{path.name}.tmp"
    try:
        with contextlib.suppress(FileNotFoundError):  # left by a launcher killed while writing
            os.unlink(tmp, dir_fd=folder)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                     dir_fd=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(report, fh, ensure_ascii=False)
        os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    finally:
        os.close(folder)


def _describe(returncode: int, budget_spent: bool, limits: Limits) -> str:
    if budget_spent:
        return f"制限時間 ({limits.wall_seconds:g} 秒) を超えたため停止しました"
    if returncode < 0:
        sig = signal.Signals(-returncode)
        if sig == signal.SIGXCPU:
            return f"CPU 時間の上限 ({limits.cpu_seconds} 秒) を超えました"
        if sig == signal.SIGXFSZ:
            return "ファイルサイズの上限を超えました"
        return f"シグナル {sig.name} で停止しました"
    if returncode > 128:  # bwrap reports a signal of the kernel as 128 + n
        try:
            return f"シグナル {signal.Signals(returncode - 128).name} で停止しました"
        except ValueError:
            pass
    return f"終了しました (終了コード {returncode})"


def launch(kernel_argv: list[str], connection_file: Path, limits: Limits, *, report_file: Path,
           sandbox: bool, read_only: list[Path], mpl_cache: Path | None = None) -> int:
    """Run the kernel (sandboxed or not) under the limits and the budget; its exit code."""
    if not _outside(report_file, connection_file.parent):
        raise ValueError(f"the report {report_file} must not be in the socket folder")
    env = kernel_environment(os.environ.get("NBGRADER_EXECUTION"))
    if sandbox:
        argv = bwrap_command(kernel_argv, connection_file=connection_file, limits=limits,
                             env=env, read_only=read_only, mpl_cache=mpl_cache)
    else:
        argv = kernel_argv
        env = {**env, "HOME": os.environ.get("HOME", "/tmp")}
        env.pop("MPLCONFIGDIR")
        env.pop("IPYTHONDIR")
        env.pop("JUPYTER_RUNTIME_DIR")
    # RLIMIT_NPROC counts every task of the real uid (in a user namespace too): allow the
    # sandbox `processes` more than the user runs now. It does not bind root: a pids cgroup does.
    cgroup = SandboxCgroups.create(limits.processes, limits.host_memory_bytes)
    nproc = None if os.geteuid() == 0 else _user_tasks() + limits.processes
    started = time.monotonic()
    child = subprocess.Popen(argv, env=env if not sandbox else {"PATH": os.environ.get("PATH", "")},
                             stdout=subprocess.DEVNULL,
                             preexec_fn=lambda: _limit_child(limits, nproc, cgroup),
                             start_new_session=not sandbox)

    def forward(signum, _frame):  # jupyter_client's kill/terminate reach the whole sandbox
        try:
            if sandbox:
                child.send_signal(signum)
            else:
                os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    budget_spent, flooded = False, None
    deadline = started + limits.wall_seconds
    while True:
        try:
            returncode = child.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            pass
        # the socket folder is the one host folder the kernel can write: sockets only
        flooded = flooded or ipc_folder_problem(connection_file.parent)
        budget_spent = time.monotonic() >= deadline
        if budget_spent or flooded:
            forward(signal.SIGKILL, None)
            returncode = child.wait()
            break
    if not sandbox:  # without a PID namespace: end what the kernel left behind in its session
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    out_of_memory = cgroup is not None and returncode != 0 and cgroup.oom_killed()
    if cgroup is not None:
        cgroup.remove()
    if flooded:
        reason = "ソケット用のフォルダにファイルを書き込んだため停止しました"
    elif out_of_memory:
        reason = (f"メモリの上限 ({limits.host_memory_bytes // MiB} MiB: プロセス, 一時ファイル, "
                  "共有メモリの合計) を超えたため停止しました")
    else:
        reason = _describe(returncode, budget_spent, limits)
    report = {"returncode": returncode, "budget_spent": budget_spent,
              "seconds": round(time.monotonic() - started, 3), "reason": reason}
    if flooded:
        report["socket_folder"] = flooded
    write_report(report_file, report)
    return 0 if returncode == 0 else 1


def _outside(report: Path, folder: Path) -> bool:
    return not report.parent.resolve().is_relative_to(folder.resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor.sandbox",
                                     description="Run a grading kernel in the sandbox.")
    parser.add_argument("--connection-file", required=True, type=Path)
    parser.add_argument("--report", required=True, type=Path,
                        help="where to write why the kernel ended (outside the socket folder)")
    parser.add_argument("--wall", type=float, default=Limits.wall_seconds)
    parser.add_argument("--cpu", type=int, default=Limits.cpu_seconds)
    parser.add_argument("--memory", type=int, default=Limits.memory_bytes)
    parser.add_argument("--processes", type=int, default=Limits.processes)
    parser.add_argument("--file-size", type=int, default=Limits.file_bytes)
    parser.add_argument("--scratch-size", type=int, default=Limits.scratch_bytes)
    parser.add_argument("--shm-size", type=int, default=Limits.shm_bytes)
    parser.add_argument("--host-memory", type=int, default=Limits.host_memory_bytes)
    parser.add_argument("--mpl-cache", type=Path, default=None)
    parser.add_argument("--ro", type=Path, action="append", default=[],
                        help="a folder the kernel may read (repeat)")
    parser.add_argument("--unsafe", action="store_true", help="no bubblewrap: limits only")
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    _die_with_parent()  # a grader killed mid-run takes its kernels with it
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    limits = Limits(args.wall, args.cpu, args.memory, args.processes, args.file_size,
                    args.scratch_size, args.shm_size, args.host_memory)
    return launch(kernel, args.connection_file, limits, report_file=args.report,
                  sandbox=not args.unsafe, read_only=args.ro, mpl_cache=args.mpl_cache)


if __name__ == "__main__":
    sys.exit(main())
