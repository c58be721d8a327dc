"""``python -m instructor exchange``: nbgrader's filesystem exchange on one shared machine.

The exchange lives in the course folder, ``<course>/exchange/`` (git-ignored, created by the first
release with the permissions nbgrader wants: the root 0777, ``inbound/`` 0733 so students can
drop submissions without seeing each other's, ``feedback/`` 0711 with files named by a per-
submission secret). Students' accounts must reach it: every folder above ``exchange/`` must be
searchable (``o+x``) by them. ``c.Exchange.root`` in the course's ``nbgrader_config.py`` would move
it (a relative path counts from the course folder) but is better left unset: a student who runs
Jupyter inside a clone of this repository loads that file too, and a relative root would then
point into their clone.

The instructor's steps are nbgrader's exchange actions, run in-process:
``release_assignment`` (release/<a> → exchange outbound), ``collect_submissions`` (inbound →
submitted/<student>/<a>, newest submission per student) and ``release_feedback`` (feedback/ →
exchange). Students use nbgrader's own ``fetch_assignment``, ``submit`` and ``fetch_feedback``
(the Assignments tab of JupyterLab, or the command line) with the settings ``student_config_text``
prints; nbgrader takes their student id from their login name.

Collecting runs as the instructor over folders students made, so it is nbgrader's collect made
safe entry by entry (``SafeCollect``): an inbound entry is refused -- moved to
``exchange/<course>/quarantine/`` and reported once, so it never blocks a later run -- when its
name or timestamp cannot be read, when it is a symbolic link or not a folder, when anything
inside is a link, fifo or device, or when it is not owned by the student it names. Ownership:
where the student has an account on this machine (a multi-user exchange) the entry and
everything in it must belong to that account; where no account has the student's name (one
machine, one user: the tests, or an instructor trying the exchange alone) it must belong to the
instructor's own account -- nobody else can then have written it. Files are copied without
following links (opened relative to their folder with ``O_NOFOLLOW``) into a fresh folder that
replaces ``submitted/<student>/<assignment>/`` only once complete. One bad entry never stops
the others.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
from glob import glob
from pathlib import Path

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import ignore_patterns, parse_utc
from traitlets.config import Config

from instructor.course import load_config, prepare_environment

DEFAULT_ROOT = "exchange"  # inside the course folder
log = logging.getLogger("instructor.exchange")


class Refused(Exception):
    """An inbound entry that is not collected (the message says why)."""


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def owner_problem(uid: int, student: str) -> str | None:
    """Why a file owned by ``uid`` cannot be ``student``'s submission, or None."""
    try:
        expected = pwd.getpwnam(student).pw_uid
    except KeyError:  # no such account: a single-user machine, only the instructor writes
        expected = os.geteuid()
    if uid == expected:
        return None
    return f"owned by {_account(uid)}, not by {_account(expected)}"


def _copy_tree(src_fd: int, src: str, dest: Path, owner: int, student: str, ignore) -> None:
    """Copy the folder open as ``src_fd`` to ``dest`` without following any link."""
    dest.mkdir()
    names = sorted(os.listdir(src_fd))
    skipped = set(ignore(src, names))
    for name in names:
        info = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        problem = owner_problem(info.st_uid, student) if info.st_uid != owner else None
        if problem:
            raise Refused(f"{name}: {problem}")
        if stat.S_ISDIR(info.st_mode):
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=src_fd)
            try:
                if name not in skipped:
                    _copy_tree(fd, os.path.join(src, name), dest / name, owner, student, ignore)
            finally:
                os.close(fd)
        elif stat.S_ISREG(info.st_mode):
            if name in skipped:
                continue
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_fd)
            with os.fdopen(fd, "rb") as fh, open(dest / name, "xb") as out:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise Refused(f"{name} changed into something else while copied")
                shutil.copyfileobj(fh, out)
        elif stat.S_ISLNK(info.st_mode):
            raise Refused(f"{name} is a symbolic link (not followed)")
        else:
            raise Refused(f"{name} is a fifo, socket or device (not read)")


class SafeCollect(ExchangeCollect):
    """nbgrader's exchange collect, entry by entry, never following a link (module doc)."""

    def _path_to_record(self, path):
        filename = os.path.basename(path)
        parts = filename.rsplit("+", 3)
        if len(parts) < 4 or parts[1] != self.coursedir.assignment_id:
            raise Refused("name is not <student>+<assignment>+<timestamp>+<random>")
        try:
            timestamp = parse_utc(parts[2])
        except (ValueError, OverflowError) as exc:
            raise Refused(f"unreadable timestamp {parts[2][:60]!r} ({exc})") from None
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise Refused("a symbolic link (not followed)")
        if not stat.S_ISDIR(info.st_mode):
            raise Refused("not a folder")
        problem = owner_problem(info.st_uid, parts[0])
        if problem:
            raise Refused(f"claims to be {parts[0]}'s but is {problem}")
        return {"username": parts[0], "filename": filename, "timestamp": timestamp}

    def init_src(self):
        """nbgrader's ``init_src``, each inbound entry checked on its own (no glob, no abort)."""
        self.refused: list[tuple[str, str]] = []
        if self.before_duedate:
            self.fail("before_duedate is not supported here: the newest submission is collected")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        wanted = self.coursedir.student_id or None
        newest: dict[str, dict] = {}
        for filename in sorted(os.listdir(self.inbound_path)):
            parts = filename.rsplit("+", 3)
            if len(parts) < 4 or parts[1] != self.coursedir.assignment_id:
                continue  # another assignment's (or not nbgrader's)
            if wanted not in (None, "*", parts[0]):
                continue
            try:
                rec = self._path_to_record(os.path.join(self.inbound_path, filename))
            except (Refused, OSError) as exc:
                self._refuse(filename, str(exc))
                continue
            if rec["username"] not in newest or rec["timestamp"] > newest[rec["username"]][
                    "timestamp"]:
                newest[rec["username"]] = rec
        self.src_records = list(newest.values())

    def _refuse(self, filename: str, why: str) -> None:
        self.refused.append((filename, why))
        self.log.error("exchange entry %s refused: %s", filename, why)
        quarantine = Path(self.course_path) / "quarantine"
        quarantine.mkdir(mode=0o700, exist_ok=True)
        target = quarantine / filename
        for n in range(1, 1000):
            if not os.path.lexists(target):
                break
            target = quarantine / f"{filename}.{n}"
        try:
            os.rename(os.path.join(self.inbound_path, filename), target)
        except OSError as exc:  # left in place: reported again next time
            self.log.error("could not move %s to %s: %s", filename, quarantine, exc)

    def copy_files(self):
        kept = []
        for rec in self.src_records:
            try:
                self._collect_one(rec)
                kept.append(rec)
            except (Refused, OSError, ValueError, RuntimeError) as exc:
                self._refuse(rec["filename"], str(exc) or type(exc).__name__)
        self.src_records = kept

    def _collect_one(self, rec: dict) -> None:
        student, src = rec["username"], os.path.join(self.inbound_path, rec["filename"])
        dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                               self.coursedir.assignment_id))
        if dest.is_dir():
            existing = _timestamp(dest / "timestamp.txt")
            if not (self.update and (existing is None or rec["timestamp"] > existing)):
                self.log.info("No newer submission to collect: %s", student)
                return
        fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        fresh = dest.with_name(f".{dest.name}.collecting")
        if fresh.exists():
            shutil.rmtree(fresh)
        made = not fresh.parent.exists()
        fresh.parent.mkdir(parents=True, exist_ok=True)
        try:
            ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                     max_file_size=self.coursedir.max_file_size, log=self.log)
            _copy_tree(fd, src, fresh, os.fstat(fd).st_uid, student, ignore)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            if made:
                fresh.parent.rmdir()
            raise
        finally:
            os.close(fd)
        if dest.exists():
            shutil.rmtree(dest)
        fresh.rename(dest)
        self.log.info("Collected submission: %s %s", student, self.coursedir.assignment_id)


def _timestamp(path: Path):
    """The time in a collected ``timestamp.txt``, or None (missing, empty or unreadable)."""
    try:
        return parse_utc(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError, OverflowError, UnicodeDecodeError):
        return None


def exchange_root(config: Config, root: Path) -> Path:
    """The exchange folder: ``c.Exchange.root`` (relative to the course folder), else exchange/."""
    configured = config.Exchange.get("root", DEFAULT_ROOT)
    return Path(root).resolve() / configured  # an absolute configured path stays as it is


def exchange_config(root: Path) -> Config:
    """The course config with ``Exchange.root`` made absolute."""
    config = load_config(root)
    config.Exchange.root = str(exchange_root(config, root))
    return config


def ensure_exchange(path: Path) -> Path:
    """Create the exchange root as nbgrader's release does (mode 0777) if it is missing.

    An empty exchange lets the Assignments panel and the formgrader list "no assignments"
    instead of failing with "The exchange directory does not exist".
    """
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True)
        path.chmod(0o777)
    return path


def _action(name: str, config: Config, assignment: str, student: str | None = None, **traits):
    """nbgrader's exchange action ``name`` (e.g. "ReleaseAssignment") for ``assignment``, run."""
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    if student is not None:
        coursedir.student_id = student
    factory = ExchangeFactory(config=config)
    action = getattr(factory, name)(coursedir=coursedir, log=log,
                                    authenticator=Authenticator(config=config))
    for key, value in traits.items():
        setattr(action, key, value)
    action.start()  # raises nbgrader.exchange.ExchangeError with nbgrader's message
    return action


def release_assignment(assignment: str, root: Path, *, force: bool = False) -> Path:
    """Put ``release/<assignment>`` into the exchange for students to fetch.

    ``force`` replaces an earlier release (students who fetched keep their copy).
    Returns the released folder in the exchange.
    """
    prepare_environment(root)
    action = _action("ReleaseAssignment", exchange_config(root), assignment, force=force)
    return Path(action.dest_path)


def collect_report(assignment: str, root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Copy each student's newest submission of ``assignment`` to ``submitted/<student>/``.

    A submission already collected is replaced only by a newer one. Returns the ids of the
    students who have a submission in the exchange, and the inbound entries refused (moved to
    ``quarantine/``) with why.
    """
    prepare_environment(root)  # nbgrader opens the gradebook (and runs `alembic` by name)
    config = exchange_config(root)
    config.ExchangeFactory.collect = "instructor.exchange.SafeCollect"
    action = _action("Collect", config, assignment, update=True)
    return sorted(record["username"] for record in action.src_records), action.refused


def collect_submissions(assignment: str, root: Path) -> list[str]:
    """``collect_report``'s student ids (refused entries are logged)."""
    return collect_report(assignment, root)[0]


def release_feedback(assignment: str, root: Path, student: str | None = None) -> list[str]:
    """Put the feedback HTML of ``feedback/<student>/<assignment>/`` (all students by default) into
    the exchange, where only the student who submitted can find it. Returns the students released.
    """
    prepare_environment(root)
    action = _action("ReleaseFeedback", exchange_config(root), assignment, student=student or "*")
    # action.src_path is feedback/<student glob>/<assignment>, the folders nbgrader released from
    return sorted({Path(p).parent.parent.name for p in glob(f"{action.src_path}/*.html")})


def student_config_text(root: Path) -> str:
    """The ``nbgrader_config.py`` students need on this machine (e.g. in /etc/jupyter/)."""
    config = exchange_config(root)
    return ("c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {config.CourseDirectory.course_id!r}\n"
            f"c.Exchange.root = {config.Exchange.root!r}\n")


def _ids(students: list[str]) -> str:
    return f"{len(students)} student(s) {' '.join(students)}".rstrip()


ACTIONS = ("release", "collect", "feedback", "student-config")


def command(action: str, assignment: str | None, root: Path, *, force: bool = False) -> str:
    """Run one of ``ACTIONS`` for ``python -m instructor exchange``; returns what to print."""
    if action == "student-config":
        return student_config_text(root)
    if not assignment:
        raise ValueError(f"exchange {action} needs an assignment name")
    if action == "release":
        return f"released to {release_assignment(assignment, root, force=force)}\n"
    if action == "collect":
        students, refused = collect_report(assignment, root)
        lines = [f"{assignment}: collected: {_ids(students)}\n"]
        lines += [f"  REFUSED (moved to quarantine/): {name}: {why}\n" for name, why in refused]
        return "".join(lines)
    if action == "feedback":
        return f"{assignment}: feedback released: {_ids(release_feedback(assignment, root))}\n"
    raise ValueError(f"unknown exchange action {action!r} (one of {', '.join(ACTIONS)})")
