"""``make grade``: autograde every submission, generate feedback, export grades.

One (student, assignment) at a time goes through the same steps, in a throwaway scratch
folder outside the course (``kobai-grade-*`` in the system's temporary folder):

1. intake (``instructor.intake``): what was handed in -> a status, a staged notebook;
2. nbgrader ``Autograde`` of the staged copy into the scratch folder, with the course's
   hardened preprocessors (``nbgrader_config.py``: the notebook rebuilt from the master, the
   kernel in the sandbox, tests run in a separate judge process);
3. the scores nbgrader wrote are checked (0 <= score <= max, no manual score, no extra credit);
4. nbgrader ``GenerateFeedback`` (the course's preprocessors hide test code);
5. the graded notebook and the feedback are moved into ``autograded/`` and ``feedback/``, then a
   status record is written atomically, last: a run killed earlier leaves no record, so the next
   run grades that submission again; a record whose inputs (submission, master) are unchanged
   lets the next run skip the work.
A failure in any step ends as that one student's ``failed: <reason>``; the batch goes on.
Grading refuses to start without a sandbox (no bubblewrap) unless ``unsafe=True``
(``--unsafe``); SECURITY.md says what each layer stops.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbconvert.writers import FilesWriter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import OperationalError, SAWarning

from instructor import intake as intake_mod
from instructor import sandbox
from instructor.course import assignment_names, load_config, prepare_environment

log = logging.getLogger("instructor.grade")

STATE = ".grading"  # course-local working state: gradebook sync and status records
# failures that say nothing about the submission: the next run tries again
TRANSIENT = ("failed: gradebook", "failed: internal error")
SQLITE_BUSY_SECONDS = 60  # a gradebook locked by someone else: wait this long, then fail


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here and the instructor did not pass --unsafe."""


@dataclass
class Outcome:
    """The result of grading one (student, assignment)."""

    student: str
    assignment: str
    status: str  # "graded", "missing", "unknown notebook: ...", "failed: ..."
    notes: list[str] = field(default_factory=list)
    inputs: str = ""  # hash of what was graded (submission + master); "" when nothing was


def _sha256(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.is_file() else b"<none>")
    return h.hexdigest()


class _ErrorLog(logging.Handler):
    """Collects the error lines nbgrader logs while it works (they carry the reason)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Course:
    """A course folder to grade: ``root`` holds nbgrader_config.py's layout."""

    def __init__(self, root: Path, *, unsafe: bool = False) -> None:
        self.root = Path(root).resolve()
        prepare_environment(self.root)
        # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings on every run: noise
        # that would hide real problems in the instructor's terminal.
        warnings.filterwarnings("ignore", category=SAWarning)
        self.config = load_config(self.root)
        cd = CourseDirectory(config=self.config)
        self.submitted = Path(cd.root) / cd.submitted_directory
        self.autograded = Path(cd.root) / cd.autograded_directory
        self.feedback = Path(cd.root) / cd.feedback_directory
        self.state = self.root / STATE
        self.records = self.state / "status"
        self.db_url = _with_busy_timeout(cd.db_url)
        self.course_id = cd.course_id
        self.unsafe = unsafe
        if not unsafe:
            ok, why = sandbox.available()
            if not ok:
                raise SandboxUnavailable(
                    f"cannot isolate student code: {why}. Install bubblewrap, or pass --unsafe "
                    "(make grade UNSAFE=1) to grade without isolation: student code could then "
                    "read the hidden tests and the gradebook and change files of the course.")
        self.config.SandboxedExecute.unsafe = unsafe
        self.config.RebuildFromMaster.student_version = str(
            self.state / "release" / "{assignment}" / "{notebook}.ipynb")

    # -- who and what -------------------------------------------------------------------
    def assignments(self) -> list[str]:
        return assignment_names(self.root)

    def students(self) -> list[str]:
        """Students in the gradebook's roster plus everyone with a folder in submitted/."""
        with Gradebook(self.db_url, self.course_id) as gb:
            return sorted(self.submitted_students() | {s.id for s in gb.students})

    def submitted_students(self) -> set[str]:
        """Everyone with a folder in submitted/."""
        if not self.submitted.is_dir():
            return set()
        return {p.name for p in self.submitted.iterdir()
                if p.is_dir() and not p.name.startswith(".")}

    def master(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{assignment}.ipynb"

    # -- status records -----------------------------------------------------------------
    def _record_path(self, student: str, assignment: str) -> Path:
        return self.records / student / f"{assignment}.json"

    def read_record(self, student: str, assignment: str) -> Outcome | None:
        path = self._record_path(student, assignment)
        try:
            return Outcome(**json.loads(path.read_text(encoding="utf-8")))
        except (FileNotFoundError, json.JSONDecodeError, TypeError):
            return None

    def _write_record(self, outcome: Outcome) -> None:
        path = self._record_path(outcome.student, outcome.assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(outcome), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    # -- the steps ----------------------------------------------------------------------
    def _coursedir(self, student: str, assignment: str, **overrides) -> CourseDirectory:
        cd = CourseDirectory(config=self.config)
        cd.student_id, cd.assignment_id = student, assignment
        cd.db_url = self.db_url
        for key, value in overrides.items():
            setattr(cd, key, value)
        return cd

    def _run(self, converter_class, coursedir: CourseDirectory) -> str | None:
        """Run an nbgrader converter; the reason of a failure, or None."""
        converter = converter_class(coursedir=coursedir, config=self.config)
        converter.force = True
        errors = _ErrorLog()
        converter.log.addHandler(errors)
        try:
            converter.start()
        except Exception as exc:  # nbgrader raises NbGraderException after logging why
            if any("database is locked" in m for m in errors.messages + [str(exc)]):
                # nbgrader's own message here suggests `nbgrader db upgrade`: misleading
                return "gradebook: database is locked (busy)"
            reasons = [m for m in errors.messages if m.strip()] or [str(exc) or type(exc).__name__]
            return " / ".join(line.strip().splitlines()[0] for line in reasons[-2:])[:300]
        finally:
            converter.log.removeHandler(errors)
        return None

    def _clear_outputs(self, student: str, assignment: str) -> None:
        for base in (self.autograded, self.feedback):
            folder = base / student / assignment
            if folder.exists():
                shutil.rmtree(folder)

    def _zero_in_gradebook(self, student: str, assignment: str) -> None:
        """A submission that could not be graded scores 0 in the gradebook too."""
        with Gradebook(self.db_url, self.course_id) as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                return
            for nb in submission.notebooks:
                for grade in nb.grades:
                    grade.auto_score = 0
                    grade.manual_score = None
                    grade.needs_manual_grade = False
            gb.db.commit()

    def grade_one(self, student: str, assignment: str, *, force: bool = False) -> Outcome:
        """Grade one (student, assignment); reuse the record when nothing changed."""
        found = intake_mod.inspect(self.submitted, student, assignment)
        inputs = ""
        if found.source_file is not None:
            inputs = _sha256(found.source_file, self.master(assignment))
        previous = self.read_record(student, assignment)
        if not force and previous and inputs and previous.inputs == inputs \
                and not previous.status.startswith(TRANSIENT):
            return previous
        self._record_path(student, assignment).unlink(missing_ok=True)
        self._clear_outputs(student, assignment)

        if not found.gradable:
            self._retry_locked(self._zero_in_gradebook, student, assignment)
            outcome = Outcome(student, assignment, found.status, found.notes, inputs)
            self._write_record(outcome)
            return outcome

        scratch = Path(tempfile.mkdtemp(prefix="kobai-grade-"))
        try:
            status, notes = self._grade_in(scratch, found, student, assignment)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        outcome = Outcome(student, assignment, status, found.notes + notes, inputs)
        self._write_record(outcome)
        return outcome

    def _grade_in(self, scratch: Path, found, student: str, assignment: str
                  ) -> tuple[str, list[str]]:
        """Autograde + checks + feedback inside ``scratch``; (status, notes)."""
        notes_file = scratch / "notes.txt"
        self.config.GradingStep.notes_file = str(notes_file)
        intake_mod.stage(found, self.submitted, scratch / "submitted", student, assignment)
        paths = {"submitted_directory": str(scratch / "submitted"),
                 "autograded_directory": str(scratch / "autograded"),
                 "feedback_directory": str(scratch / "feedback")}
        failure = self._retry_locked(self._run, Autograde,
                                     self._coursedir(student, assignment, **paths))
        if failure is None:
            failure = self._retry_locked(self._check_scores, student, assignment)
        if failure is None:
            failure = self._run(Feedback, self._coursedir(student, assignment, **paths))
        notes = []
        if notes_file.exists():
            notes = [line for line in notes_file.read_text(encoding="utf-8").splitlines() if line]
        if failure is not None:
            self._clear_outputs(student, assignment)
            self._retry_locked(self._zero_in_gradebook, student, assignment)
            return f"failed: {failure}", notes
        for kind, dest_root in (("autograded", self.autograded), ("feedback", self.feedback)):
            _move_tree(scratch / kind / student / assignment, dest_root / student / assignment)
        return "graded", notes

    def _retry_locked(self, step, *args):
        """Run a step that writes the gradebook; a busy gradebook is waited for, not fatal."""
        deadline = time.monotonic() + SQLITE_BUSY_SECONDS
        while True:
            try:
                result = step(*args)
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    return f"gradebook: {str(exc).splitlines()[0][:200]}"
                time.sleep(1.0)
                continue
            if isinstance(result, str) and "database is locked" in result \
                    and time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            return result

    def _check_scores(self, student: str, assignment: str) -> str | None:
        """Only the grader writes grades: every score within [0, max], nothing manual."""
        with Gradebook(self.db_url, self.course_id) as gb:
            submission = gb.find_submission(assignment, student)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    bad = (grade.auto_score is not None
                           and not 0 <= grade.auto_score <= grade.max_score)
                    if bad or grade.manual_score is not None or grade.extra_credit:
                        return (f"score of {grade.name} out of bounds "
                                f"({grade.auto_score}/{grade.max_score})")
        return None

    def sync_gradebook(self, assignments: list[str]) -> None:
        """Record each master's graded cells in the gradebook (it is not committed).

        nbgrader's ``GenerateAssignment`` does this; its student version goes to a scratch
        folder so the committed ``release/`` is left alone.
        """
        scratch = os.path.relpath(self.state / "release", self.root)
        synced_file = self.state / "gradebook-synced.json"
        try:
            synced = json.loads(synced_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            synced = {}
        for assignment in assignments:
            master = _sha256(self.master(assignment))
            template = self.state / "release" / assignment / f"{assignment}.ipynb"
            if synced.get(assignment) == master and template.is_file() \
                    and self._in_gradebook(assignment):
                continue  # unchanged master, already recorded: nothing to do
            failure = self._run(GenerateAssignment, self._coursedir(
                ".", assignment, release_directory=scratch))
            if failure:
                raise RuntimeError(f"cannot prepare the gradebook for {assignment}: {failure}")
            synced[assignment] = master
            self.state.mkdir(parents=True, exist_ok=True)
            tmp = synced_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(synced, indent=1), encoding="utf-8")
            os.replace(tmp, synced_file)

    def _in_gradebook(self, assignment: str) -> bool:
        with Gradebook(self.db_url, self.course_id) as gb:
            try:
                return bool(gb.find_assignment(assignment).notebooks)
            except MissingEntry:
                return False

    def grade_all(self, assignments: list[str] | None = None, *, force: bool = False,
                  jobs: int = 1, progress=None) -> list[Outcome]:
        """Grade every student for every assignment (or those named), ``jobs`` at a time.

        Each (student, assignment) is independent: its own scratch folder, sandbox, gradebook
        rows and status record, so the results do not depend on ``jobs`` or on the order.
        ``progress(total)``, when given, makes a progress bar (``tqdm`` or anything with
        ``update(n)`` and ``close()``) that is advanced as each submission is done.
        """
        assignments = assignments or self.assignments()
        students = self._prepare(assignments)
        tasks = [(student, assignment) for assignment in assignments for student in students]
        bar = progress(len(tasks)) if progress is not None else None
        try:
            if jobs <= 1 or len(tasks) <= 1:
                outcomes = []
                for student, assignment in tasks:
                    outcomes.append(self._grade_safely(student, assignment, force))
                    if bar is not None:
                        bar.update(1)
                return outcomes
            return self._grade_parallel(tasks, force, jobs, bar)
        finally:
            if bar is not None:
                bar.close()

    def _prepare(self, assignments: list[str]) -> list[str]:
        """Masters and students into the gradebook, once, before any worker writes beside
        another; a gradebook busy for longer than SQLITE_BUSY_SECONDS stops the run here."""
        def prepare():
            self.sync_gradebook(assignments)
            students = self.students()
            self._register_students(students)
            return students
        result = self._retry_locked(prepare)
        if isinstance(result, str):
            raise RuntimeError(f"cannot prepare the gradebook: {result}")
        return result

    def _register_students(self, students: list[str]) -> None:
        with Gradebook(self.db_url, self.course_id) as gb:
            known = {s.id for s in gb.students}
            for student in students:
                if student not in known:
                    gb.update_or_create_student(student)

    def _grade_safely(self, student: str, assignment: str, force: bool) -> Outcome:
        try:
            outcome = self.grade_one(student, assignment, force=force)
        except Exception as exc:  # never let one submission stop the batch
            log.exception("grading %s/%s", student, assignment)
            outcome = Outcome(student, assignment, f"failed: internal error: {exc}"[:300])
            self._write_record(outcome)
        log.info("%s %s: %s", student, assignment, outcome.status)
        return outcome

    def _grade_parallel(self, tasks: list[tuple[str, str]], force: bool,
                        jobs: int, progress=None) -> list[Outcome]:
        """Worker processes forked from this one (imports and config already loaded)."""
        global _WORKER_COURSE
        _WORKER_COURSE = self
        results: dict[tuple[str, str], Outcome] = {}
        pending = list(tasks)
        for _attempt in range(3):  # a worker that died takes its queue down: try again
            if not pending:
                break
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(jobs, len(pending)),
                                     mp_context=context) as pool:
                futures = {pool.submit(_grade_in_worker, *task, force): task for task in pending}
                retry = []
                for future in as_completed(futures):
                    task = futures[future]
                    try:
                        results[task] = future.result()
                    except BrokenProcessPool:
                        retry.append(task)
                        continue
                    except Exception as exc:
                        results[task] = self._internal_failure(*task, exc)
                    if progress is not None:
                        progress.update(1)
            pending = [task for task in tasks if task in retry]
        for task in pending:
            results[task] = self._internal_failure(*task, RuntimeError("grading worker died"))
            if progress is not None:
                progress.update(1)
        return [results[task] for task in tasks]

    def _internal_failure(self, student: str, assignment: str, exc: Exception) -> Outcome:
        outcome = Outcome(student, assignment, f"failed: internal error: {exc}"[:300])
        self._write_record(outcome)
        return outcome


_WORKER_COURSE: Course | None = None


def _grade_in_worker(student: str, assignment: str, force: bool) -> Outcome:
    assert _WORKER_COURSE is not None
    return _WORKER_COURSE._grade_safely(student, assignment, force)


class Feedback(GenerateFeedback):
    """nbgrader's ``GenerateFeedback`` keeping one HTML exporter per process.

    A new converter per submission would build a new exporter, and with it compile the HTML
    templates and read the CSS again (about 0.2 s per notebook); the exporter is reused, its
    preprocessors registered afresh for each run as nbgrader's own ``start`` does.
    """

    _exporter = None

    def start(self) -> None:
        self.init_notebooks()
        self.writer = FilesWriter(parent=self, config=self.config)
        if Feedback._exporter is None:
            Feedback._exporter = self.exporter_class(parent=self, config=self.config)
        self.exporter = Feedback._exporter
        self.exporter._preprocessors = []
        for pp in self.preprocessors:
            self.exporter.register_preprocessor(pp)
        currdir = os.getcwd()
        os.chdir(self.coursedir.root)
        try:
            self.convert_notebooks()
        finally:
            os.chdir(currdir)


def _with_busy_timeout(db_url: str) -> str:
    """SQLite waits for a lock held by another writer instead of failing at once."""
    if db_url.startswith("sqlite:") and "timeout=" not in db_url:
        return db_url + ("&" if "?" in db_url else "?") + f"timeout={SQLITE_BUSY_SECONDS}"
    return db_url


def _move_tree(src: Path, dest: Path) -> None:
    """Put ``src`` at ``dest``, replacing it; a copy next to dest, then a rename."""
    if not src.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
