"""``make lab`` (a student) and ``make instructor``: what each JupyterLab is given before it starts.

Student mode (``prepare_student``):

- a personal, git-ignored work folder (``work/`` by default): ``work/講義/<note>.ipynb`` for each
  lecture note of ``notebooks/`` and ``work/課題/<a>/<a>.ipynb`` for each assignment of
  ``release/`` (nbgrader's layout, so the Assignments panel submits exactly this copy). A copy
  is made only where none exists: a student's answers are never overwritten, an assignment
  added later is copied in, a deleted or renamed copy comes back fresh. JupyterLab's root is the
  work folder, so the server cannot save outside it (``release/``, ``solutions/``, ``source/``
  and ``notebooks/`` are out of its reach);
- a Jupyter config folder (``.jupyter/student/``, put on ``JUPYTER_CONFIG_PATH`` by the Makefile)
  that turns off the instructor's UI (nbgrader's Create Assignment, formgrader and course list,
  lab and server side) and the terminal, and points nbgrader's Assignments panel at the
  course's local exchange, created empty if missing so the panel works out of the box.

Instructor mode (``prepare_instructor``): a config folder ``.jupyter/instructor/`` for
JupyterLab at the course root with the formgrader: the course's exchange, the gradebook synced
with the masters in ``source/`` exactly as ``make grade`` does (``.grading/``), the
formgrader's Autograde reading the student versions from there, and a contents manager that
never writes ``release/`` or ``solutions/`` (``instructor.contents``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from instructor.course import load_config
from instructor.exchange import ensure_exchange, exchange_root

WORK = "work"
LECTURES = "講義"  # work/講義/<note>.ipynb
ASSIGNMENTS = "課題"  # work/課題/<assignment>/<assignment>.ipynb
CONFIG_DIR = ".jupyter"  # <course>/.jupyter/<mode>/, git-ignored

# nbgrader 0.9.6: the lab plugins and server extensions only an instructor uses.
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:formgrader")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.course_list")


@dataclass
class WorkCopies:
    """What ``prepare_work`` did: files copied, files left as they were, problems."""

    copied: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def report(self, work: Path) -> str:
        """Japanese lines for the student's terminal."""
        lines = [f"作業フォルダ: {work}"]
        if self.copied:
            lines.append(f"  新しくコピーしたノートブック: {len(self.copied)} 個")
            lines += [f"    {p.relative_to(work)}" for p in self.copied]
        if self.kept:
            lines.append("  そのまま残したノートブック (解答は上書きしません): "
                         f"{len(self.kept)} 個")
        lines += [f"  注意: {problem}" for problem in self.problems]
        return "\n".join(lines)


def work_copies(root: Path) -> list[tuple[Path, Path]]:
    """(original, path inside the work folder) of every file a student gets a copy of."""
    root = Path(root)
    pairs = [(nb, Path(LECTURES) / nb.name) for nb in sorted((root / "notebooks").glob("*.ipynb"))]
    release = root / "release"
    for folder in sorted(p for p in release.iterdir() if p.is_dir()) if release.is_dir() else []:
        for src in sorted(p for p in folder.rglob("*") if p.is_file()):
            if ".ipynb_checkpoints" not in src.parts:
                pairs.append((src, Path(ASSIGNMENTS) / src.relative_to(release)))
    return pairs


def prepare_work(work: Path, root: Path) -> WorkCopies:
    """Copy into ``work`` each lecture note and release file that has no copy there yet.

    Never overwrites: an existing file is kept as it is. A path blocked by something else (a
    file where a folder should be) is reported and skipped; the other copies are still made.
    """
    work = Path(work)
    result = WorkCopies()
    for src, rel in work_copies(root):
        dest = work / rel
        if dest.is_file():
            result.kept.append(dest)
            continue
        try:
            if dest.exists():
                raise IsADirectoryError(f"{dest} がフォルダになっています")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.copying")
            shutil.copyfile(src, tmp)
            if dest.exists():  # appeared meanwhile (another make lab): keep it
                tmp.unlink()
                result.kept.append(dest)
                continue
            tmp.replace(dest)
        except OSError as exc:
            result.problems.append(f"{rel} をコピーできませんでした ({exc}); "
                                   "その場所にあるものを移動してから make lab をやり直してください")
            continue
        result.copied.append(dest)
    return result


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _nbgrader_config(lines: list[str], root: Path) -> str:
    """An nbgrader_config.py that loads the course's own and adds ``lines``."""
    course_config = Path(root).resolve() / "nbgrader_config.py"
    return "\n".join([
        '"""Written by `python -m instructor lab` (make lab / make instructor); do not edit."""',
        "c = get_config()  # noqa: F821",
        f"load_subconfig({str(course_config)!r})  # noqa: F821 - the course's settings",
        *lines, ""])


def write_mode_config(mode: str, root: Path, *, exchange: Path, work: Path | None = None
                      ) -> Path:
    """Write ``<root>/.jupyter/<mode>/`` (``mode`` is "student" or "instructor"); its path."""
    root = Path(root).resolve()
    folder = root / CONFIG_DIR / mode
    student = mode == "student"
    server = {"jpserver_extensions": {name: not student for name in INSTRUCTOR_SERVER_EXTENSIONS}}
    lines = [f"c.Exchange.root = {str(exchange)!r}"]
    if student:
        server["terminals_enabled"] = False
        lines.append(f"c.Exchange.assignment_dir = {str(Path(work).resolve() / ASSIGNMENTS)!r}")
    else:
        server["contents_manager_class"] = "instructor.contents.ProtectedContentsManager"
        template = root / ".grading" / "release" / "{assignment}" / "{notebook}.ipynb"
        lines.append(f"c.RebuildFromMaster.student_version = {str(template)!r}")
    _write(folder / "jupyter_server_config.json", json.dumps({"ServerApp": server}, indent=1))
    page = {"disabledExtensions": {name: student for name in INSTRUCTOR_PLUGINS}}
    _write(folder / "labconfig" / "page_config.json", json.dumps(page, indent=1))
    _write(folder / "nbgrader_config.py", _nbgrader_config(lines, root))
    return folder


def prepare_student(work: Path, root: Path, exchange: Path | None = None
                    ) -> tuple[WorkCopies, Path]:
    """Work copies and the student config folder; (what was copied, config folder)."""
    root = Path(root).resolve()
    work = (root / work).resolve()
    copies = prepare_work(work, root)
    exchange = Path(exchange).resolve() if exchange else exchange_root(load_config(root), root)
    try:
        ensure_exchange(exchange)
    except OSError as exc:
        copies.problems.append(
            f"課題の受け渡しフォルダ {exchange} を作れませんでした ({exc})。"
            "Assignments タブを使うには "
            "make lab EXCHANGE=<教員に教わったフォルダ> で起動してください")
    return copies, write_mode_config("student", root, exchange=exchange, work=work)


def prepare_instructor(root: Path) -> Path:
    """The gradebook synced with source/, the exchange created, the instructor config folder."""
    from instructor.grade import Course

    root = Path(root).resolve()
    course = Course(root, unsafe=True)  # only syncs the gradebook here: nothing is executed
    course.sync_gradebook(course.assignments())
    exchange = exchange_root(course.config, root)
    ensure_exchange(exchange)
    return write_mode_config("instructor", root, exchange=exchange)
