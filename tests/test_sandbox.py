"""The grading kernel's sandbox (instructor.sandbox), tested through its launcher.

Each test launches a small Python program in place of the kernel, the way grading launches
the kernel, and reads what the program could and could not do from a file it writes into its
socket folder (the only folder it can write that we can read). ``test_ordinary_user`` runs the
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
from instructor.course import ROOT
from tests.procs import command_lines

MARKER = "kobai-sandbox-test-marker"


def _alive(marker: str) -> list[str]:
    return [cmdline for cmdline in command_lines().values() if marker in cmdline]


def _launch(tmp_path: Path, code: str, *, python: str = sys.executable,
            launcher: list[str] | None = None, read_only: list[Path] | None = None,
            **limits) -> tuple[dict, dict, float]:
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
    cmd = launcher + ["--connection-file", str(conn), *opts, "--", python, "-c", program]
    started = time.monotonic()
    subprocess.run(cmd, check=False, timeout=120, env={**os.environ, "KOBAI_SECRET": "s3cret"})
    seconds = time.monotonic() - started
    result = ipc / "result.json"
    reported = json.loads(result.read_text()) if result.exists() else {}
    exit_report = json.loads((ipc / "connection.json.exit.json").read_text())
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
