"""The grading kernel's sandbox: bubblewrap, resource limits and one wall-time budget.

A grading kernel is started by this module as its *launcher* (the kernelspec's argv is
``python -m instructor.sandbox <options> -- <kernel command>``). The launcher

1. sets resource limits that the kernel and all its children inherit: address space (a huge
   allocation gets ``MemoryError``), number of processes of the sandbox user (a fork bomb gets
   ``BlockingIOError``), file size, CPU seconds, no core files;
2. runs the kernel inside ``bwrap`` (bubblewrap, Debian package): new user, PID, network, IPC,
   UTS and cgroup namespaces, uid/gid 65534, every capability dropped, an empty environment,
   read-only views of the system and the Python installation, the course's ``common`` package
   read-only, and nothing else of the course; a fresh ``/tmp`` and a fresh working folder
   (tmpfs, size-limited); the connection file read-only and the kernel's IPC socket folder
   read-write; ``--die-with-parent`` so the sandbox dies with bwrap;
3. kills the whole sandbox when the wall budget is spent, and writes why the kernel ended into
   ``<connection file>.exit.json`` (read by :class:`instructor.execute.SandboxedExecute`).

Why bubblewrap: it runs as root (CI, a JupyterHub server) and as an ordinary user (unprivileged
user namespaces), needs no daemon, and the PID namespace ends every process the kernel
started, detached ones too, when the kernel goes. Without it (no ``bwrap``, user namespaces
disabled) grading refuses unless ``--unsafe`` is given; then only the limits and the budget hold.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import signal
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


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits (one kernel grades one notebook)."""

    wall_seconds: float = 300.0  # the whole notebook, from kernel start
    cpu_seconds: int = 600
    memory_bytes: int = 2048 * MiB  # address space (RLIMIT_AS)
    processes: int = 64  # processes + threads of the sandbox user, the kernel's ~10 included
    file_bytes: int = 64 * MiB  # largest file the kernel may write
    scratch_bytes: int = 128 * MiB  # size of the tmpfs working folder and of /tmp


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


class PidsCgroup:
    """A pids cgroup for one sandbox (root only: RLIMIT_NPROC does not bind uid 0).

    cgroup v1 ``/sys/fs/cgroup/pids`` or v2 with the pids controller; ``None`` elsewhere.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_tasks: int) -> PidsCgroup | None:
        if os.geteuid() != 0:
            return None
        for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            if not (base / "cgroup.procs").exists() or not _has_pids(base):
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
                (path / "pids.max").write_text(str(max_tasks))
            except OSError:
                continue
            return cls(path)
        return None

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # tasks still exiting
                time.sleep(0.02)


def _has_pids(base: Path) -> bool:
    if base.name == "pids":
        return True
    try:
        return "pids" in (base / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def _die_with_parent() -> None:
    """SIGKILL this process when the process (thread) that started it ends."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _limit_child(limits: Limits, nproc: int | None, cgroup: PidsCgroup | None) -> None:
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


def _folder_bytes(folder: Path) -> int:
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                pass
    return total


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


def launch(kernel_argv: list[str], connection_file: Path, limits: Limits, *,
           sandbox: bool, read_only: list[Path], mpl_cache: Path | None = None) -> int:
    """Run the kernel (sandboxed or not) under the limits and the budget; its exit code."""
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
    cgroup = PidsCgroup.create(limits.processes)
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
    budget_spent = flooded = False
    deadline = started + limits.wall_seconds
    while True:
        try:
            returncode = child.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            pass
        # the socket folder is the one host folder the kernel can write: sockets only
        flooded = flooded or _folder_bytes(connection_file.parent) > IPC_FOLDER_BYTES
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
    if cgroup is not None:
        cgroup.remove()
    report = {"returncode": returncode, "budget_spent": budget_spent,
              "seconds": round(time.monotonic() - started, 3),
              "reason": ("ソケット用のフォルダにファイルを書き込んだため停止しました" if flooded
                         else _describe(returncode, budget_spent, limits))}
    exit_file = connection_file.with_name(connection_file.name + ".exit.json")
    tmp = exit_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, exit_file)
    return 0 if returncode == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor.sandbox",
                                     description="Run a grading kernel in the sandbox.")
    parser.add_argument("--connection-file", required=True, type=Path)
    parser.add_argument("--wall", type=float, default=Limits.wall_seconds)
    parser.add_argument("--cpu", type=int, default=Limits.cpu_seconds)
    parser.add_argument("--memory", type=int, default=Limits.memory_bytes)
    parser.add_argument("--processes", type=int, default=Limits.processes)
    parser.add_argument("--file-size", type=int, default=Limits.file_bytes)
    parser.add_argument("--scratch-size", type=int, default=Limits.scratch_bytes)
    parser.add_argument("--mpl-cache", type=Path, default=None)
    parser.add_argument("--ro", type=Path, action="append", default=[],
                        help="a folder the kernel may read (repeat)")
    parser.add_argument("--unsafe", action="store_true", help="no bubblewrap: limits only")
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    _die_with_parent()  # a grader killed mid-run takes its kernels with it
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    limits = Limits(args.wall, args.cpu, args.memory, args.processes, args.file_size,
                    args.scratch_size)
    return launch(kernel, args.connection_file, limits, sandbox=not args.unsafe,
                  read_only=args.ro, mpl_cache=args.mpl_cache)


if __name__ == "__main__":
    sys.exit(main())
