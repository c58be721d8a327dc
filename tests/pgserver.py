"""A throwaway PostgreSQL server for tests: pytest fixtures ``pg_server`` and ``db_url``.

``pg_server`` (session scope) runs Debian's PostgreSQL server (package ``postgresql``, binaries
in ``/usr/lib/postgresql/<major>/bin``; ``PG_BINDIR`` overrides) from a temporary folder:
``initdb`` makes a cluster there (superuser ``postgres``, ``trust`` authentication, UTF-8, no
locale), and ``pg_ctl`` starts it listening on 127.0.0.1 on a free port, with its unix socket
in the same folder and ``fsync``/``synchronous_commit``/``full_page_writes`` off (a test
cluster is thrown away, so crash safety buys nothing). At the end of the session, also after a
failure, the server is stopped (``pg_ctl stop -m fast``; if that fails, the postmaster whose pid
``postmaster.pid`` names is killed) and the folder is removed.

``db_url`` (function scope) creates a fresh database on it and gives its SQLAlchemy URL,
``postgresql+psycopg://postgres@127.0.0.1:<port>/<name>``, which ``nbgrader.api.Gradebook``
and ``nbgrader_config.py``'s ``CourseDirectory.db_url`` take as they are. The driver is
psycopg 3 (``psycopg[binary]``), SQLAlchemy 2.1's default for ``postgresql://``.

PostgreSQL refuses to run as root. Run as root (as CI does), the server runs as the
``postgres`` system user that the Debian package creates (else as ``nobody``), and the
temporary folder belongs to that user; otherwise it runs as the current user. Only the server
needs this: the clients (``createdb``, the driver) connect over TCP as root just as well.

Missing server binaries fail the test with how to install them (``apt-get install -y
postgresql``); they never skip it.

Measured (2 cores, Debian 12, PostgreSQL 15.18, 5 runs as root and one as ``nobody``): the
server is ready 0.65-0.9 s after the start (``initdb`` most of it, ``pg_ctl start -w`` the
rest); each fresh database (``createdb``) 0.1 s; stopping and removing it 0.15 s; about 1 s
in all. ``PgServer.start_seconds`` holds the value measured in the current run.

Use from a test module::

    pytest_plugins = ("tests.pgserver",)

    def test_something(db_url): ...

or, outside pytest, ``with postgres_server() as server: url = server.create_database()``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUPERUSER = "postgres"
DRIVER = "postgresql+psycopg"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in "
    "/usr/lib/postgresql/*/bin. Install Debian's server package: "
    "`apt-get install -y postgresql` (as root; run `apt-get update` first on a new machine), "
    "or point PG_BINDIR at a folder holding them."
)
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'32MB'",
    "max_connections": "50",
    "log_min_messages": "warning",
}


class PgServerError(RuntimeError):
    """The test server could not be set up."""


def find_bindir() -> Path:
    """The folder with ``initdb`` and ``pg_ctl``: ``$PG_BINDIR``, else the newest Debian one."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    candidates.append("/usr/lib/postgresql/15/bin")

    def major(path: str) -> int:
        name = Path(path).parent.name
        return int(name) if name.isdigit() else -1

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)
    for candidate in candidates:
        bindir = Path(candidate)
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PgServerError(INSTALL_HINT)


def _server_account() -> tuple[int, int]:
    """(uid, gid) the server runs as: the current ones, or an unprivileged user under root."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise PgServerError("running as root, and neither a `postgres` nor a `nobody` user exists "
                        "to run the PostgreSQL server as")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    """A running server; ``create_database`` gives the URL of a new, empty database."""

    bindir: Path
    root: Path  # the temporary folder: data/, the socket, server.log
    port: int
    uid: int
    gid: int
    start_seconds: float = 0.0
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"{DRIVER}://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create a database (named ``test_<n>`` unless given) and return its SQLAlchemy URL."""
        name = name or f"test_{next(self._names)}"
        _run([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
              "-U", SUPERUSER, name], cwd=self.root)
        return self.url(name)

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"

    # -- running the server's own programs as its user --

    def run_as_server(self, args: list[str], timeout: float = 60) -> str:
        return _run(args, cwd=self.root, timeout=timeout,
                    account=None if (self.uid, self.gid) == (os.geteuid(), os.getegid())
                    else (self.uid, self.gid))

    def _pg_ctl(self, *args: str, timeout: float = 60) -> str:
        return self.run_as_server([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
                                  timeout=timeout)

    def initdb(self) -> None:
        self.run_as_server([str(self.bindir / "initdb"), "-D", str(self.datadir),
                            "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale",
                            "--no-sync", "--no-instructions"], timeout=120)

    def start(self) -> None:
        settings = dict(SERVER_SETTINGS, port=str(self.port),
                        unix_socket_directories=f"'{self.socket_dir}'")
        conf = self.datadir / "postgresql.auto.conf"
        with open(conf, "a", encoding="utf-8") as f:  # read last: overrides postgresql.conf
            f.writelines(f"{key} = {value}\n" for key, value in settings.items())
        if self.uid != os.geteuid():
            os.chown(conf, self.uid, self.gid)
        self._pg_ctl("-l", str(self.logfile), "-w", "-t", "60", "start", timeout=90)

    def stop(self) -> None:
        """Stop the server; if pg_ctl cannot, kill the postmaster this server started."""
        pidfile = self.datadir / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            self._pg_ctl("-m", "fast", "-w", "-t", "30", "stop", timeout=45)
        except (PgServerError, subprocess.TimeoutExpired):
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)


def _run(args: list[str], *, cwd: Path, timeout: float = 60,
         account: tuple[int, int] | None = None) -> str:
    """Run a program, raising ``PgServerError`` with its output if it fails."""
    kwargs = {}
    if account is not None:  # as root: drop to the server's user, with no extra groups
        kwargs = {"user": account[0], "group": account[1], "extra_groups": []}
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env.pop("PGDATA", None)
    proc = subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False, **kwargs)
    if proc.returncode != 0:
        raise PgServerError(f"`{' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}")
    return proc.stdout


@contextlib.contextmanager
def postgres_server(bindir: Path | None = None) -> Iterator[PgServer]:
    """Start a server in a new temporary folder; stop it and remove the folder on exit."""
    bindir = bindir or find_bindir()
    uid, gid = _server_account()
    # /tmp, not $TMPDIR: the server's user must reach the folder, and the socket path must be
    # short (at most 107 bytes).
    root = Path(tempfile.mkdtemp(prefix="pgtest-", dir="/tmp"))
    server = None
    try:
        if uid != os.geteuid():
            os.chown(root, uid, gid)
        began = time.perf_counter()
        for attempt in range(3):  # another program may take the free port before the server
            server = PgServer(bindir=bindir, root=root, port=_free_port(), uid=uid, gid=gid)
            if attempt == 0:
                server.initdb()
            try:
                server.start()
                break
            except PgServerError as exc:
                if attempt == 2 or "could not bind" not in server.log():
                    raise PgServerError(f"{exc}\nserver log:\n{server.log()}") from None
                with contextlib.suppress(OSError):
                    server.logfile.unlink()
        server.start_seconds = time.perf_counter() - began
        yield server
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (fails, never skips, without the binaries)."""
    try:
        cm = postgres_server()
        server = cm.__enter__()
    except PgServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def db_url(pg_server: PgServer) -> str:
    """SQLAlchemy URL of a new, empty database on ``pg_server``."""
    return pg_server.create_database()
