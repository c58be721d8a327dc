"""The grading kernel's sandbox (instructor.sandbox), tested through its launcher.

Each test launches a small Python program in place of the kernel, the way grading launches
the kernel, and reads what the program could and could not do from a file it writes into its
socket folder (the only folder it can write that we can read); the launcher's exit report is
written next to the socket folder, where the sandbox cannot reach. The host-write attacks below
(links, fifos and folders planted in the socket folder, nested floods, /dev and /dev/shm) are
written the way a student who reads this repository would. ``test_ordinary_user`` runs the
same launcher as an unprivileged user (uid 65534 when the tests run as root), because the
sandbox must hold for an instructor on a laptop as well as for root in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from instructor import sandbox
from tests.nbrun import ROOT
from tests.procs import command_lines

MARKER = "kobai-sandbox-test-marker"


def _alive(marker: str) -> list[str]:
    return [cmdline for cmdline in command_lines().values() if marker in cmdline]


def _launch(tmp_path: Path, code: str, *, python: str = sys.executable,
            launcher: list[str] | None = None, read_only: list[Path] | None = None,
            cwd: Path | None = None, timeout: float = 120, **limits) -> tuple[dict, dict, float]:
    """Run ``code`` as the sandboxed "kernel"; (what it reported, the exit report, seconds)."""
    ipc = tmp_path / "ipc"
    ipc.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o777)
    os.chmod(ipc, 0o777)
    conn = ipc / "connection.json"
    conn.write_text("{}")
    os.chmod(conn, 0o644)
    program = textwrap.dedent(f"""
        import json, os
        RESULT = {{}}
        def report():
            with open({str(ipc / 'result.json')!r}, 'w') as fh:
                json.dump(RESULT, fh)
    """) + textwrap.dedent(code) + "\nreport()\n"
    read_only = read_only if read_only is not None else sandbox.kernel_paths()
    opts = []
    for key, value in limits.items():
        opts += [f"--{key.replace('_', '-')}", str(value)]
    for path in read_only:
        opts += ["--ro", str(path)]
    launcher = launcher or [sys.executable, "-m", "instructor.sandbox"]
    report = tmp_path / "exit.json"
    cmd = launcher + ["--connection-file", str(conn), "--report", str(report), *opts, "--",
                      python, "-c", program]
    started = time.monotonic()
    subprocess.run(cmd, check=False, timeout=timeout, cwd=cwd,
                   env={**os.environ, "KOBAI_SECRET": "s3cret"})
    seconds = time.monotonic() - started
    result = ipc / "result.json"
    reported = json.loads(result.read_text()) if result.exists() else {}
    exit_report = json.loads(report.read_text())
    return reported, exit_report, seconds


ISOLATION = f"""
import socket, sys
RESULT["uid"] = os.getuid()
RESULT["secret"] = os.environ.get("KOBAI_SECRET")
RESULT["course_visible"] = [p for p in ({str(ROOT / 'nbgrader_config.py')!r},
                                        {str(ROOT / 'source')!r}, "/etc/shadow", "/root/.bashrc")
                            if os.path.exists(p)]
try:
    open({str(ROOT / 'common' / 'kobai-sandbox-was-here')!r}, "w")
    RESULT["wrote_course"] = True
except OSError:
    RESULT["wrote_course"] = False
open("/scratch/ok", "w").write("x"); open("/tmp/ok", "w").write("x")
RESULT["scratch"] = os.getcwd()
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", PORT))
    RESULT["tcp"] = "connected"
except OSError as exc:
    RESULT["tcp"] = type(exc).__name__
import numpy, common.testing
RESULT["imports"] = "ok"
"""


FORK_LOOP = """
children = 0
try:
    for _ in range(300):
        if os.fork() == 0:
            import time
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as exc:
    RESULT["fork_error"] = type(exc).__name__
RESULT["children"] = children
"""


def _listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    return server


def test_sandbox_is_available_here():
    assert sandbox.available() == (True, "")


def test_kernel_sees_nothing_of_the_course_nor_the_network(tmp_path):
    server = _listener()
    try:
        code = ISOLATION.replace("PORT", str(server.getsockname()[1]))
        reported, exit_report, _ = _launch(tmp_path, code)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert exit_report["returncode"] == 0, exit_report
    assert reported["uid"] == sandbox.SANDBOX_UID
    assert reported["secret"] is None  # an empty environment
    assert reported["course_visible"] == []
    assert reported["wrote_course"] is False
    assert reported["scratch"] == "/scratch"
    assert reported["tcp"] in ("ConnectionRefusedError", "OSError", "TimeoutError")
    assert reported["imports"] == "ok"  # numpy and the course package are readable
    assert not (ROOT / "common" / "kobai-sandbox-was-here").exists()


def test_wall_budget_ends_a_loop_that_ignores_interrupts(tmp_path):
    code = """
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass
    """
    _, exit_report, seconds = _launch(tmp_path, code, wall=2)
    assert exit_report["budget_spent"] is True
    assert "制限時間" in exit_report["reason"]
    assert seconds < 15


def test_detached_processes_end_with_the_sandbox(tmp_path):
    marker = f"{MARKER}-{os.getpid()}"
    code = f"""
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}],
                     start_new_session=True)
    if os.fork() == 0:  # a double-forked daemon
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)",
                                      {marker!r}])
        os._exit(0)
    import time
    time.sleep(0.5)
    RESULT["spawned"] = True
    """
    reported, exit_report, _ = _launch(tmp_path, code)
    assert reported.get("spawned") is True
    deadline = time.monotonic() + 5
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(marker) == []


def test_memory_processes_and_file_size_are_limited(tmp_path):
    code = """
try:
    block = bytearray(3 * 1024**3)
    RESULT["memory"] = "allocated"
except MemoryError:
    RESULT["memory"] = "MemoryError"
""" + FORK_LOOP + """
try:
    with open("/scratch/big", "wb") as fh:
        fh.write(b"x" * (20 * 1024**2))
    RESULT["file"] = "written"
except OSError as exc:
    RESULT["file"] = type(exc).__name__
"""
    reported, _, _ = _launch(tmp_path, code, memory=1024**3, processes=40,
                             file_size=8 * 1024**2)
    assert reported["memory"] == "MemoryError"
    assert reported["children"] < 40 and reported["fork_error"] == "BlockingIOError"
    assert reported["file"] == "OSError"  # EFBIG (Python ignores SIGXFSZ)


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3")
def test_ordinary_user():
    """The same launcher run by an unprivileged user: isolation and limits still hold.

    Uses Debian's /usr/bin/python3 and a copy of the launcher (an ordinary user cannot read
    root's venv); as root the test first switches to uid 65534 with ``setpriv``.
    """
    # pytest's tmp_path lives in a root-only folder: a world-readable one instead
    tmp_path = Path(tempfile.mkdtemp(prefix="kobai-user-test-"))
    os.chmod(tmp_path, 0o755)
    try:
        _ordinary_user(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _ordinary_user(tmp_path: Path) -> None:
    copy = tmp_path / "launcher"
    copy.mkdir()
    shutil.copy(Path(sandbox.__file__), copy / "sandbox.py")
    for path in (copy, copy / "sandbox.py"):
        os.chmod(path, os.stat(path).st_mode | stat.S_IROTH | stat.S_IXOTH)
    launcher = ["/usr/bin/python3", str(copy / "sandbox.py")]
    if os.geteuid() == 0:
        launcher = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + launcher
    work = tmp_path / "work"
    work.mkdir()
    code = f"""
RESULT["uid"] = os.getuid()
RESULT["course_visible"] = os.path.exists({str(ROOT / 'nbgrader_config.py')!r})
""" + FORK_LOOP
    reported, exit_report, _ = _launch(work, code, python="/usr/bin/python3",
                                       launcher=launcher, read_only=[], processes=40)
    assert exit_report["returncode"] == 0, exit_report
    assert reported["uid"] == sandbox.SANDBOX_UID
    assert reported["course_visible"] is False
    assert reported["children"] < 40


# -- writes on the host ---------------------------------------------------------------------------
# A student's notebook knows the launcher's old habits from this repository: it wrote its exit
# report to "<connection file>.exit.tmp" in the socket folder, then renamed it. Each attack plants
# something under that name (and the final one) and checks nothing of the host changed.
PLANT = """
import os, sys
ipc = os.path.dirname({conn!r})
os.chdir(ipc)
kind = {kind!r}
try:
    for name in ("connection.json.exit.tmp", "connection.json.exit.json", ".exit.json.tmp",
                 "exit.json"):
        if kind == "symlink-cwd":  # /proc/self of the launcher: its cwd is the course
            os.symlink("/proc/self/cwd/gradebook.db", name)
        elif kind == "symlink-classmate":
            os.symlink({victim!r}, name)
        elif kind == "fifo":
            os.mkfifo(name)
        elif kind == "folder":
            os.mkdir(name)
        elif kind == "hardlink":
            os.link({conn!r}, name)
    if kind == "folder":
        with open("connection.json.exit.json.forged", "w") as fh:
            fh.write('{{"returncode": 0, "reason": "FORGED"}}')
    RESULT["planted"] = sorted(os.listdir("."))
except OSError as exc:
    RESULT["planted"] = type(exc).__name__ + ": " + str(exc)
report()
import time
time.sleep(5)  # the launcher looks at the socket folder meanwhile
"""


def _course_with_victims(tmp_path: Path) -> tuple[Path, dict[Path, bytes]]:
    course = tmp_path / "course"
    victim = course / "submitted" / "s2222222" / "01_gradient" / "01_gradient.ipynb"
    victim.parent.mkdir(parents=True)
    victim.write_text('{"cells": [], "classmate": true}')
    (course / "gradebook.db").write_bytes(b"SQLite format 3\0" + b"grades" * 100)
    return course, {p: p.read_bytes() for p in (victim, course / "gradebook.db")}


@pytest.mark.parametrize("kind", ["symlink-cwd", "symlink-classmate", "fifo", "folder",
                                  "hardlink"])
def test_nothing_planted_in_the_socket_folder_redirects_the_report(tmp_path, kind):
    course, victims = _course_with_victims(tmp_path)
    victim = next(p for p in victims if p.suffix == ".ipynb")
    code = PLANT.format(conn=str(tmp_path / "ipc" / "connection.json"), kind=kind,
                        victim=str(victim))
    reported, exit_report, seconds = _launch(tmp_path, code, cwd=course, timeout=60)
    assert [p for p, data in victims.items() if p.read_bytes() != data] == []
    assert "FORGED" not in json.dumps(exit_report)
    assert exit_report["reason"], exit_report
    if kind == "hardlink":  # a link to the read-only connection file crosses a mount: refused
        assert "Error" in reported["planted"], reported
    elif kind == "folder":  # allowed (a few entries), but the report is not there any more
        assert "connection.json.exit.tmp" in reported["planted"], reported
        assert exit_report["reason"] == "終了しました (終了コード 0)", exit_report
    else:  # a link or a fifo is no socket: the launcher ends the sandbox and says so
        assert "connection.json.exit.tmp" in reported["planted"], reported
        assert "ソケット用のフォルダ" in exit_report["reason"], exit_report
    assert seconds < 30


def test_a_link_in_the_socket_folder_ends_the_sandbox(tmp_path):
    code = f"""
import time
os.symlink("/etc/passwd", {str(tmp_path / "ipc" / "passwd-link")!r})
time.sleep(20)
RESULT["survived"] = True
"""
    reported, exit_report, seconds = _launch(tmp_path, code, timeout=60)
    assert "survived" not in reported
    assert "ソケット用のフォルダ" in exit_report["reason"]
    assert "link" in exit_report["socket_folder"]
    assert seconds < 15


@pytest.mark.parametrize("shape", ["deep-files", "many-folders"])
def test_nested_floods_of_the_socket_folder_end_the_sandbox(tmp_path, shape):
    code = f"""
import time
path = {str(tmp_path / "ipc")!r}
if {shape!r} == "deep-files":  # 40 folders deep, 512 KB each: 20 MB the top level never shows
    for i in range(40):
        path = os.path.join(path, "d")
        os.mkdir(path)
        with open(os.path.join(path, "f"), "wb") as fh:
            fh.write(b"x" * (512 * 1024))
else:  # 20 000 empty folders: inodes and host memory
    for i in range(20_000):
        os.mkdir(os.path.join(path, f"d{{i}}"))
time.sleep(20)
RESULT["survived"] = True
"""
    reported, exit_report, seconds = _launch(tmp_path, code, timeout=60)
    assert "survived" not in reported
    assert "ソケット用のフォルダ" in exit_report["reason"], exit_report
    assert seconds < 15
    on_disk = sum(p.stat().st_size for p in (tmp_path / "ipc").rglob("*") if p.is_file())
    assert on_disk < 25 * 1024**2


FILL_GB = """
import errno
written = {}
for folder in ("/dev/shm", "/dev", "/tmp", "/scratch"):
    total = 0
    try:
        for n in range(17):  # 17 x 60 MB = 1 GB, each file below the file-size limit
            with open(os.path.join(folder, f"fill-{n}"), "wb") as fh:
                for _ in range(60):
                    fh.write(b"m" * (1 << 20))
                    total += 1 << 20
    except OSError as exc:
        written[folder + " error"] = errno.errorcode.get(exc.errno, str(exc.errno))
    written[folder] = total
    for n in range(17):  # give the memory back before the next folder
        try:
            os.remove(os.path.join(folder, f"fill-{n}"))
        except OSError:
            pass
RESULT["written"] = written
"""


def test_dev_shm_dev_and_every_tmpfs_are_bounded(tmp_path):
    reported, exit_report, _ = _launch(tmp_path, FILL_GB, shm_size=32 * 1024**2,
                                       scratch_size=48 * 1024**2)
    written = reported["written"]
    assert written["/dev/shm"] <= 32 * 1024**2, written
    assert written["/dev/shm error"] == "ENOSPC", written
    assert written["/dev"] == 0 and written["/dev error"] == "EROFS", written
    assert written["/tmp"] <= 48 * 1024**2 and written["/scratch"] <= 48 * 1024**2, written
    assert exit_report["returncode"] == 0


SYSV_SHM = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
IPC_PRIVATE, IPC_CREAT, SEGMENT = 0, 0o1000, 128 * 1024**2
held = 0
for _ in range(24):  # 3 GiB in segments detached at once: RLIMIT_AS never sees them
    shmid = libc.shmget(IPC_PRIVATE, SEGMENT, IPC_CREAT | 0o600)
    if shmid < 0:
        RESULT["shmget_errno"] = ctypes.get_errno()
        break
    address = libc.shmat(shmid, None, 0)
    ctypes.memset(address, 1, SEGMENT)
    libc.shmdt(ctypes.c_void_p(address))
    held += SEGMENT
    RESULT["held"] = held
    report()
RESULT["survived"] = True
"""


def test_system_v_shared_memory_is_bounded_by_the_memory_cgroup(tmp_path):
    """As root the sandbox's memory cgroup bounds what it holds in the host's memory, System V
    segments included (they are outside RLIMIT_AS): over it the kernel is killed."""
    assert os.geteuid() == 0 and Path("/sys/fs/cgroup/memory/cgroup.procs").exists(), \
        "this machine runs the tests as root with cgroup v1 (make test in CI)"
    reported, exit_report, _ = _launch(tmp_path, SYSV_SHM, host_memory=512 * 1024**2)
    assert "survived" not in reported, reported
    assert reported.get("held", 0) <= 512 * 1024**2, reported
    assert "メモリの上限 (512 MiB" in exit_report["reason"], exit_report
    assert not list(Path("/sys/fs/cgroup/memory").glob("kobai-sandbox-*")), "cgroup left behind"


def test_the_report_must_be_outside_the_socket_folder(tmp_path):
    ipc = tmp_path / "ipc"
    ipc.mkdir()
    (ipc / "connection.json").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "instructor.sandbox", "--connection-file",
                           str(ipc / "connection.json"), "--report", str(ipc / "exit.json"),
                           "--", "/bin/true"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "must not be in the socket folder" in done.stderr
    assert not (ipc / "exit.json").exists()
