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
"""

from __future__ import annotations

import logging
from glob import glob
from pathlib import Path

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from traitlets.config import Config

from instructor.course import ROOT, load_config, prepare_environment

DEFAULT_ROOT = "exchange"  # inside the course folder
log = logging.getLogger("instructor.exchange")


def exchange_root(config: Config, root: Path = ROOT) -> Path:
    """The exchange folder: ``c.Exchange.root`` (relative to the course folder), else exchange/."""
    configured = config.Exchange.get("root", DEFAULT_ROOT)
    return Path(root).resolve() / configured  # an absolute configured path stays as it is


def exchange_config(root: Path = ROOT) -> Config:
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


def release_assignment(assignment: str, root: Path = ROOT, *, force: bool = False) -> Path:
    """Put ``release/<assignment>`` into the exchange for students to fetch.

    ``force`` replaces an earlier release (students who fetched keep their copy).
    Returns the released folder in the exchange.
    """
    prepare_environment(root)
    action = _action("ReleaseAssignment", exchange_config(root), assignment, force=force)
    return Path(action.dest_path)


def collect_submissions(assignment: str, root: Path = ROOT) -> list[str]:
    """Copy each student's newest submission of ``assignment`` to ``submitted/<student>/``.

    A submission already collected is replaced only by a newer one. Returns the ids of the
    students who have a submission in the exchange.
    """
    prepare_environment(root)  # nbgrader opens the gradebook (and runs `alembic` by name)
    action = _action("Collect", exchange_config(root), assignment, update=True)
    return sorted(record["username"] for record in action.src_records)


def release_feedback(assignment: str, root: Path = ROOT, student: str | None = None) -> list[str]:
    """Put the feedback HTML of ``feedback/<student>/<assignment>/`` (all students by default) into
    the exchange, where only the student who submitted can find it. Returns the students released.
    """
    prepare_environment(root)
    action = _action("ReleaseFeedback", exchange_config(root), assignment, student=student or "*")
    # action.src_path is feedback/<student glob>/<assignment>, the folders nbgrader released from
    return sorted({Path(p).parent.parent.name for p in glob(f"{action.src_path}/*.html")})


def student_config_text(root: Path = ROOT) -> str:
    """The ``nbgrader_config.py`` students need on this machine (e.g. in /etc/jupyter/)."""
    config = exchange_config(root)
    return ("c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {config.CourseDirectory.course_id!r}\n"
            f"c.Exchange.root = {config.Exchange.root!r}\n")


def _ids(students: list[str]) -> str:
    return f"{len(students)} student(s) {' '.join(students)}".rstrip()


ACTIONS = ("release", "collect", "feedback", "student-config")


def command(action: str, assignment: str | None, root: Path = ROOT, *, force: bool = False) -> str:
    """Run one of ``ACTIONS`` for ``python -m instructor exchange``; returns what to print."""
    if action == "student-config":
        return student_config_text(root)
    if not assignment:
        raise ValueError(f"exchange {action} needs an assignment name")
    if action == "release":
        return f"released to {release_assignment(assignment, root, force=force)}\n"
    if action == "collect":
        return f"{assignment}: collected: {_ids(collect_submissions(assignment, root))}\n"
    if action == "feedback":
        return f"{assignment}: feedback released: {_ids(release_feedback(assignment, root))}\n"
    raise ValueError(f"unknown exchange action {action!r} (one of {', '.join(ACTIONS)})")
