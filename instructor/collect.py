"""``python -m instructor collect``: import an LMS download (.zip) into ``submitted/``.

Built on nbgrader's ``zip_collect`` (``ZipCollectApp``), run in-process with two plugins of ours
in its two documented plugin slots:

- ``SafeExtractor`` (``ZipCollectApp.extractor_plugin``) unpacks the zip. nbgrader's stock
  extractor (setuptools' ``unpack_zipfile``) does skip members named ``../x`` or ``/x``, but
  silently, so a file would vanish from the report; it also writes ``a\\b`` as one odd name,
  turns a symbolic link into a file and unpacks archives inside the archive. Ours refuses, and
  lists, any member whose path is absolute, has a drive or a ``..`` part, is a link, is encrypted
  or unreadable, has a name part over 255 bytes, would land on a file already written or below
  one (``x`` beside ``x/y``), or is larger than ``MAX_MEMBER_BYTES``; it keeps the zip's time of
  each file (the submission time, see below) and reads Japanese (cp932) names of zips made on
  Windows. A zip with more than ``MAX_MEMBERS`` members, more than ``MAX_TOTAL_BYTES``
  uncompressed, or that expands more than ``MAX_RATIO`` times (a zip bomb) is refused whole,
  from its directory alone, before anything is unpacked: ``collect`` refuses it with the reason
  and does not store it; one already stored is moved to ``downloaded/<a>/quarantine/``.
- ``StudentFileCollector`` (``ZipCollectApp.collector_plugin``) reads the student id and the
  notebook from the *file name* with ``NAMED_REGEXP``, checks the notebook against
  ``release/<assignment>/`` and records why each other file was left. The file name is the
  student's choice; the part the LMS writes is not: Moodle's per-student folder
  (``<name>_<participant id>_assignsubmission_file_``) and Canvas's name prefix
  (``<name>_<user id>_<file id>_``). When the LMS part and the id in the file name disagree -- one
  LMS identity handing in files for two student ids, or one student id handed in by two LMS
  identities (a student naming their upload like a classmate's) -- none of those files is
  collected: each is reported (``conflict``) and ``submitted/<id>/`` stays as it was.

Everything else is nbgrader's own: the folder layout, choosing between duplicates by timestamp,
copying to ``submitted/<student_id>/<assignment>/`` and writing ``timestamp.txt``.

File names (the name of the file; any folders around it are ignored)::

    <student_id>_<notebook>.ipynb          s1234567_01_gradient.ipynb
    <student_id>_<notebook>-<n>.ipynb      s1234567_01_gradient-1.ipynb    (Canvas resubmission)
    <student_id>_<notebook> (<n>).ipynb    s1234567_01_gradient (1).ipynb  (browser copy)
    <name>[_LATE]_<n>_<n>_<student_id>_<notebook>.ipynb    (Canvas "download submissions")

``student_id`` is letters and digits only; ``notebook`` must be a notebook of
``release/<assignment>`` (``01_gradient`` for ``01_gradient.ipynb``). Moodle's per-student folders
and Canvas's prefix are fine; they are compared with the id in the name (``conflict``, above).

Where things go (nbgrader's zip_collect layout)::

    downloaded/<assignment>/archive/<zip>       a copy of every zip imported for the assignment
    downloaded/<assignment>/extracted/<zip stem>/...   its files, unpacked again on every run
    submitted/<student_id>/<assignment>/<notebook>.ipynb, timestamp.txt

Every run re-reads all the zips in ``archive/`` (a zip imported twice is stored once: same bytes,
same copy), so running again is idempotent and a later download adds to an earlier one. When a
student has the same notebook more than once, the one with the latest time in the zip wins (ties:
the one whose path sorts last); times in a zip carry no zone and are read as this computer's local
time (set ``TZ`` if the LMS ran elsewhere). ``submitted/<student_id>/<assignment>/`` of every
student in the import is replaced. Files not collected stay in ``extracted/`` (members that were not
unpacked stay inside the zip in ``archive/``) and the report lists each with its path and reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import Unicode

from instructor.course import load_config

log = logging.getLogger("instructor.collect")

NAMED_REGEXP = (
    r"^(?:[^_]+(?i:_late)?_\d+_\d+_)?"  # Canvas prefix: <name>[_LATE]_<user id>_<file id>_
    r"(?P<student_id>[A-Za-z0-9]+)_"
    r"(?P<file_id>.+?)"
    r"(?P<copy>-\d+| ?\(\d+\))?"  # copy counter: -1 (Canvas resubmission), " (1)" (browser)
    r"\.ipynb$"
)

# Kinds of files that are not collected (Skipped.kind).
UNSAFE = "unsafe"  # member of the zip not unpacked (path, link, encryption, ...)
NOT_NOTEBOOK = "not-notebook"  # not an .ipynb
BAD_NAME = "bad-name"  # an .ipynb whose name does not fit NAMED_REGEXP
UNKNOWN_NOTEBOOK = "unknown-notebook"  # fits, but names no notebook of the release
SUPERSEDED = "superseded"  # a student's older copy of a notebook collected from a newer file
CONFLICT = "conflict"  # the LMS's folder/prefix and the student id in the file name disagree
REFUSED_ZIP = "refused-zip"  # a stored zip over the limits, moved to quarantine/

# Limits of one download (checked from the zip's directory, before anything is unpacked).
MAX_MEMBERS = 20_000
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one notebook, outputs included
MAX_TOTAL_BYTES = 4 * 1024**3  # 200 students x 5 notebooks x ~4 MB
MAX_RATIO = 100  # uncompressed / compressed, for downloads over RATIO_FROM bytes
RATIO_FROM = 64 * 1024 * 1024
NAME_BYTES = 255  # longest file name on Linux file systems
MOODLE_FOLDER = re.compile(r"^(?P<who>.+_\d+)_assignsubmission_")
CANVAS_PREFIX = re.compile(r"^(?P<who>[^_]+_\d+)_\d+_")


class CollectError(RuntimeError):
    """The download could not be imported (nothing was collected)."""


@dataclass(frozen=True)
class Collected:
    """One notebook copied into ``submitted/``."""

    student_id: str
    notebook: str  # file name in release/<assignment>/, e.g. "01_gradient.ipynb"
    source: Path  # the unpacked file it was copied from
    dest: Path  # submitted/<student_id>/<assignment>/<notebook>
    timestamp: datetime  # the zip's time of the file, UTC (naive, as nbgrader stores it)


@dataclass(frozen=True)
class Skipped:
    """A file that was not collected, where it is and why."""

    path: Path  # the unpacked file; for an UNSAFE member, the zip holding it
    kind: str  # UNSAFE, NOT_NOTEBOOK, BAD_NAME, UNKNOWN_NOTEBOOK or SUPERSEDED
    detail: str
    member: str = ""  # for UNSAFE: the member's name inside the zip


@dataclass
class CollectReport:
    """What ``collect`` did with each file of the downloads of one assignment."""

    assignment: str
    archive: Path  # the stored copy of the zip given to collect()
    collected: list[Collected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def students(self) -> list[str]:
        return sorted({c.student_id for c in self.collected})

    def format(self, root: Path) -> str:
        """A text report for the instructor, paths relative to the course folder ``root``."""
        root = Path(root).resolve()

        def rel(path: Path) -> str:
            return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

        lines = [f"{self.assignment}: {len(self.students)} student(s) collected into "
                 f"{rel(root / 'submitted')}/ (downloads kept in {rel(self.archive.parent)}/)"]
        for c in sorted(self.collected, key=lambda c: (c.student_id, c.notebook)):
            lines.append(f"  {c.student_id:<12} {c.notebook}  {c.timestamp:%Y-%m-%d %H:%M:%S} UTC"
                         f"  <- {rel(c.source)}")
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) NOT collected (left where shown):")
            for s in sorted(self.skipped, key=lambda s: (s.kind, str(s.path))):
                lines.append(f"  [{s.kind}] {rel(s.path)}: {s.detail}")
        return "\n".join(lines)


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name, also when the zip does not mark it UTF-8 (zips made on Windows: cp932)."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unsafe(name: str, info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be unpacked, or None."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        return "absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "path leaves the folder ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    return None


def zip_problem(path: Path) -> str | None:
    """Why the zip ``path`` is refused whole (too many members, too big, a bomb), or None.

    Read from the central directory only (nothing is decompressed). The declared sizes bind:
    ``zipfile`` stops reading a member at its declared size and fails its CRC otherwise.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return f"unreadable zip ({exc})"
    if len(infos) > MAX_MEMBERS:
        return f"{len(infos):,} members (at most {MAX_MEMBERS:,})"
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        return f"{total:,} bytes once unpacked (at most {MAX_TOTAL_BYTES:,})"
    packed = max(1, sum(info.compress_size for info in infos))
    if total > RATIO_FROM and total / packed > MAX_RATIO:
        return (f"expands {total / packed:,.0f} times ({packed:,} -> {total:,} bytes): "
                "a zip bomb?")
    return None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extract step without path traversal or silently dropped members.

    Unpacks every zip of the archive folder into ``<extracted>/<zip stem>/`` (other files are
    copied, as nbgrader does); archives inside are not opened. Refused members: ``self.rejected``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rejected: list[Skipped] = []

    def extract(self, archive_path: str, extracted_path: str) -> None:
        for item in sorted(Path(archive_path).iterdir()):
            if item.is_file() and zipfile.is_zipfile(item):
                problem = zip_problem(item)
                if problem is not None:  # stored before the limits existed: out of the way
                    quarantine = Path(archive_path).parent / "quarantine"
                    quarantine.mkdir(exist_ok=True)
                    moved = quarantine / item.name
                    os.replace(item, moved)
                    self.rejected.append(Skipped(moved, REFUSED_ZIP, f"zip refused: {problem}"))
                    continue
                self._unzip(item, Path(extracted_path) / item.stem)
            elif item.is_file():
                shutil.copy2(item, Path(extracted_path) / item.name)

    def _reject(self, archive: Path, name: str, why: str) -> None:
        self.rejected.append(Skipped(archive, UNSAFE, f"member {name!r}: {why}; not unpacked, "
                                                      "still inside the zip", member=name))

    def _unzip(self, archive: Path, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        base = dest.resolve()
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = _member_name(info)
                parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
                if info.is_dir() or not parts:
                    continue
                why = _unsafe(name, info)
                if why is None and any(len(p.encode("utf-8", "surrogateescape")) > NAME_BYTES
                                       for p in parts):
                    why = f"a name longer than {NAME_BYTES} bytes"
                if why is None and info.file_size > MAX_MEMBER_BYTES:
                    why = f"{info.file_size:,} bytes (at most {MAX_MEMBER_BYTES:,})"
                target = dest.joinpath(*parts)
                try:
                    if why is None and not target.resolve().is_relative_to(base):
                        why = "path leaves the folder"
                    if why is None and (target.exists() or target.is_symlink()):
                        why = "another member has the same path"
                    if why is None and any(p.exists() and not p.is_dir()
                                           for p in target.parents if p.is_relative_to(dest)):
                        why = "another member is a file where this one needs a folder"
                except OSError as exc:
                    why = f"unusable path ({exc.strerror})"
                if why is not None:
                    self._reject(archive, name, why)
                    continue
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "xb") as out:
                        shutil.copyfileobj(src, out)
                except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError,
                        EOFError) as exc:
                    if target.is_file() and not target.is_symlink():
                        target.unlink()
                    self._reject(archive, name, f"unreadable ({exc})")
                    continue
                mtime = time.mktime(info.date_time + (0, 0, -1))  # zip times are local, no zone
                os.utime(target, (mtime, mtime))


class StudentFileCollector(FileNameCollectorPlugin):
    """Student id and notebook from a submitted file's name; why a file was left, in ``skipped``."""

    named_regexp = Unicode(
        NAMED_REGEXP,
        help="Regular expression applied to the file name (not its folders); groups student_id, "
             "file_id (the notebook name without .ipynb) and optionally copy (a counter to drop).",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.accepted: dict[Path, tuple[str, str]] = {}  # file -> (student_id, notebook)
        self.skipped: list[Skipped] = []
        self.conflicts: dict[Path, str] = {}  # file -> why its LMS part and its name disagree
        coursedir = self.parent.coursedir
        self.notebooks = find_all_notebooks(coursedir.format_path(
            coursedir.release_directory, ".", coursedir.assignment_id))

    def lms_identity(self, path: Path, match: re.Match) -> str | None:
        """Who the LMS says handed ``path`` in (its folder or name prefix); None: no LMS part."""
        for folder in reversed(path.parent.parts):
            moodle = MOODLE_FOLDER.match(folder)
            if moodle:
                return f"Moodle {moodle['who']}"
        prefix = re.sub(r"(?i)_late_", "_", path.name[:match.start("student_id")])
        canvas = CANVAS_PREFIX.match(prefix)
        return f"Canvas {canvas['who']}" if canvas else None

    def find_conflicts(self, files: list[str]) -> None:
        """Mark the files whose LMS identity and student id disagree (see the module doc)."""
        claims = []
        for name in files:
            path = Path(name)
            match = re.match(self.named_regexp, path.name)
            if path.suffix in self.valid_ext and match is not None:
                who = self.lms_identity(path, match)
                if who is not None:
                    claims.append((path, who, match["student_id"]))
        ids_of: dict[str, set[str]] = {}
        who_of: dict[str, set[str]] = {}
        for _, who, sid in claims:
            ids_of.setdefault(who, set()).add(sid)
            who_of.setdefault(sid, set()).add(who)
        for path, who, sid in claims:
            if len(who_of[sid]) > 1:
                self.conflicts[path] = (f"{sid} is handed in by {len(who_of[sid])} LMS identities "
                                        f"({', '.join(sorted(who_of[sid]))}): none collected, "
                                        f"submitted/{sid}/ left as it was")
            elif len(ids_of[who]) > 1:
                self.conflicts[path] = (f"{who} handed in files for {len(ids_of[who])} student "
                                        f"ids ({', '.join(sorted(ids_of[who]))}): none collected")

    def collect(self, submitted_file: str) -> dict | None:
        path = Path(submitted_file)
        if path in self.conflicts:
            self.skipped.append(Skipped(path, CONFLICT, self.conflicts[path]))
            return None
        if path.suffix not in self.valid_ext:
            kind = path.suffix or "no extension"
            self.skipped.append(Skipped(path, NOT_NOTEBOOK, f"not a notebook ({kind})"))
            return None
        match = re.match(self.named_regexp, path.name)
        if path.name in self.notebooks:
            self.skipped.append(Skipped(path, BAD_NAME, "no student id: expected "
                                                        f"<student_id>_{path.name}"))
            return None
        if match is None:
            self.skipped.append(Skipped(path, BAD_NAME, "name does not fit "
                                                        "<student_id>_<notebook>.ipynb"))
            return None
        stem = path.name[match.start("file_id"):-len(path.suffix)]  # with a copy counter, if any
        for candidate in (stem, match["file_id"]):
            notebook = f"{candidate}.ipynb"
            if notebook in self.notebooks:
                self.accepted[path] = (match["student_id"], notebook)
                return {"student_id": match["student_id"], "file_id": notebook,
                        "timestamp": _utc(path.stat().st_mtime)}
        self.skipped.append(Skipped(path, UNKNOWN_NOTEBOOK, f"no notebook {match['file_id']!r} in "
                                    f"this assignment (expected {', '.join(self.notebooks)})"))
        return None


class _ZipCollect(ZipCollectApp):
    """ZipCollectApp that keeps what it decided (nbgrader returns it only to itself)."""

    def _collect_files(self, src_files):
        self.collector_plugin_inst.find_conflicts(src_files)
        self.decided = super()._collect_files(src_files)
        return self.decided


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _store(zip_path: Path, archive_dir: Path) -> Path:
    """Copy the zip into the archive folder; the same bytes always get the same copy."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    data = zip_path.read_bytes()
    for name in (zip_path.name, f"{zip_path.stem}-{hashlib.sha256(data).hexdigest()[:12]}.zip"):
        dest = archive_dir / name
        if not dest.exists() or dest.read_bytes() == data:
            if not (dest.exists() and dest.samefile(zip_path)):
                dest.write_bytes(data)
            return dest
    raise CollectError(f"{archive_dir} already holds other files named like {zip_path.name}")


def collect(zip_path: Path, assignment: str, root: Path) -> CollectReport:
    """Import the LMS download ``zip_path`` for ``assignment`` into ``root/submitted/``.

    Returns what was collected and every file that was not, with its path and reason.
    Raises CollectError when the zip or the assignment's release is missing.
    """
    root, zip_path = Path(root).resolve(), Path(zip_path).resolve()
    if not zip_path.is_file():
        raise CollectError(f"no such file: {zip_path}")
    if not zipfile.is_zipfile(zip_path):
        raise CollectError(f"not a zip file: {zip_path}")
    problem = zip_problem(zip_path)
    if problem is not None:
        raise CollectError(f"zip refused, nothing unpacked nor stored: {problem}")
    config = load_config(root)
    nblog = log.getChild("nbgrader")  # nbgrader narrates each file; the report says it once
    nblog.setLevel(logging.ERROR)
    app = _ZipCollect(config=config, log=nblog)
    app.coursedir = CourseDirectory(parent=app)
    app.coursedir.assignment_id = assignment
    app.force = True  # re-runs replace extracted/ and the submissions they contain
    app.extractor_plugin, app.collector_plugin = SafeExtractor, StudentFileCollector
    app.decided = {}
    release = app.coursedir.format_path(app.coursedir.release_directory, ".", assignment)
    if not find_all_notebooks(release):
        raise CollectError(f"no notebooks in {release}: run `make assignments` first")

    stored = _store(zip_path, Path(app._format_collect_path(app.archive_directory)))
    errors = _Errors()
    nblog.addHandler(errors)
    try:
        app.start()
    except SystemExit as exc:  # nbgrader's app.fail() logs, then exits
        raise CollectError("; ".join(errors.messages) or f"zip_collect exited ({exc})") from exc
    finally:
        nblog.removeHandler(errors)

    report = CollectReport(assignment, stored)
    for student_id, data in app.decided.items():
        for src, dest, notebook in zip(data["src_files"], data["dest_files"], data["file_ids"],
                                       strict=True):
            report.collected.append(Collected(student_id, notebook, Path(src), Path(dest),
                                              data["timestamp"]))
    kept = {(c.student_id, c.notebook): c.source for c in report.collected}
    collector = app.collector_plugin_inst
    report.skipped = app.extractor_plugin_inst.rejected + collector.skipped
    for path, key in collector.accepted.items():
        if kept[key] != path:
            report.skipped.append(Skipped(path, SUPERSEDED, f"{key[0]} has a later {key[1]}: "
                                                            f"{kept[key].name} was collected"))
    return report
