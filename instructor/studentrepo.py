"""``make student-repo DEST=...``: the git repository students may see (what nbgitpuller pulls).

The export holds exactly what a student gets, in the layout of ``make lab``'s work folder
(:func:`instructor.lab.work_copies`): ``講義/<note>.ipynb`` (lecture notes of ``notebooks/``)
and ``課題/<a>/<a>.ipynb`` (the student versions of ``release/``), the package ``common`` with its
data, a ``pyproject.toml`` that installs only ``common``, the students' ``requirements.txt`` and
``constraints.txt``, Binder's ``runtime.txt`` and ``postBuild`` (repo2docker conventions), the
license and a Japanese README (how to open the course with nbgitpuller, Binder, Colab or a
laptop). Nothing of ``source/``, ``solutions/``, ``tests/``, ``instructor/`` or a gradebook is
ever read into it: the file list is built from named places only (:func:`student_files`).

Running it again updates the same repository: a new commit on top of the previous ones, only
if something changed. The content is reproducible (same course, same ``url`` -> same files).
Refused, with nothing changed: a ``DEST`` inside the course folder, a non-empty folder that is
not an earlier export, an earlier export with uncommitted changes.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import tomllib

from instructor.lab import work_copies

MARKER = ".kobai-student-repo"  # present in every export: tells an export from any other folder
BRANCH = "main"
TEMPLATES = Path(__file__).resolve().parent / "templates" / "student_repo"
# Distributions a student's environment needs (the notebooks import numpy, matplotlib, tqdm and
# common; JupyterLab in Japanese to open them). Their versions are the course's pins.
STUDENT_PACKAGES = ("numpy", "matplotlib", "matplotlib-fontja", "pooch", "platformdirs", "tqdm",
                    "jupyterlab", "jupyterlab-language-pack-ja-JP", "ipykernel")
PACKAGE_NAME = "kobai-enshu-common"  # the export's distribution (only the package `common`)
IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints"}
COPIED_AS_IS = ("LICENSE", "runtime.txt", "postBuild")
URL_PLACEHOLDER = "<学生用リポジトリの URL>"
COMMITTER = ("勾配演習コース", "kobai-enshu@users.noreply.invalid")


class StudentRepoError(Exception):
    """DEST cannot take the export (the message says why); nothing was changed."""


@dataclass(frozen=True)
class ExportResult:
    """What one export did: the repository, its HEAD commit, whether a new commit was made."""

    dest: Path
    commit: str
    changed: bool
    files: int
    url: str | None = None

    def report(self) -> str:
        state = "new commit" if self.changed else "unchanged (no new commit)"
        text = (f"student repository {self.dest}: {self.files} files, {state}, "
                f"HEAD {self.commit[:12]} on branch {BRANCH}")
        if not self.url:
            text += (f"\nnote: no URL given: the README says {URL_PLACEHOLDER} where students "
                     "need the repository's address (Colab cell, git clone); run again with "
                     "URL=<git URL students clone>")
        return text


def _package_files(root: Path) -> dict[str, Path]:
    """Files of the package ``common`` (modules and data), by their path in the export."""
    files = {}
    for path in sorted((root / "common").rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not IGNORED_PARTS & set(rel.parts) and path.suffix != ".pyc":
            files[rel.as_posix()] = path
    return files


def _pins(root: Path) -> dict[str, str]:
    """``name -> 'name==version'`` of the course's requirements.txt (lower-case names)."""
    pins = {}
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        spec = line.split("#", 1)[0].strip()
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)$", spec)
        if match:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(3)}"
    return pins


def requirements_text(root: Path) -> str:
    """The students' requirements.txt: the course's pins of :data:`STUDENT_PACKAGES`."""
    pins = _pins(root)
    missing = [name for name in STUDENT_PACKAGES if name.lower() not in pins]
    if missing:
        raise StudentRepoError(f"requirements.txt of the course pins none of: {', '.join(missing)}")
    lines = ["# 学生の環境 (コースでテスト済みのバージョン)。",
             "# `pip install -r requirements.txt -e .` で common も入ります。",
             "# Binder (repo2docker) はこのファイルと pyproject.toml を読みます。",
             "-c constraints.txt"]
    return "\n".join(lines + [pins[name.lower()] for name in STUDENT_PACKAGES]) + "\n"


def constraints_text(root: Path) -> str:
    """The course's constraints.txt without the course's own distribution."""
    course = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    own = re.compile(rf"{re.escape(course['name'])}\b", re.IGNORECASE)
    lines = (root / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not own.match(line)) + "\n"


def pyproject_text(root: Path) -> str:
    """A pyproject.toml that installs the package ``common`` only (same deps as the course)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = "".join(f"    {dep!r},\n".replace("'", '"') for dep in project["dependencies"])
    return (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{PACKAGE_NAME}"\nversion = "{project["version"]}"\n'
        'description = "勾配演習コースの共通パッケージ common (学生用)"\n'
        f'readme = "README.md"\nrequires-python = "{project["requires-python"]}"\n'
        f'license = {{ text = "{project["license"]["text"]}" }}\n'
        f"dependencies = [\n{deps}]\n\n"
        '[tool.setuptools]\npackages = ["common", "common.data"]\n\n'
        '[tool.setuptools.package-data]\ncommon = ["data/*.npz", "data/*.md"]\n')


def colab_cell(source: str) -> str:
    """The Colab first cell (templates/student_repo/colab_cell.py) installing from ``source``.

    ``source`` is anything ``pip install`` takes: ``git+https://...`` of the student repository,
    or a wheel file in the tests.
    """
    text = (TEMPLATES / "colab_cell.py").read_text(encoding="utf-8")
    line = re.compile(r"^COMMON_SOURCE = .*$", re.MULTILINE)
    if not line.search(text):
        raise RuntimeError("colab_cell.py lost its COMMON_SOURCE line")
    return line.sub(lambda _: f"COMMON_SOURCE = {source!r}", text, count=1)


def readme_text(url: str | None) -> str:
    """The students' README (Japanese), with the repository's ``url`` where one is needed."""
    template = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    pip_source = f"git+{url}" if url else URL_PLACEHOLDER
    return (template.replace("{url}", url or URL_PLACEHOLDER)
            .replace("{colab_cell}", colab_cell(pip_source).rstrip("\n")))


def student_files(root: Path, url: str | None = None) -> dict[str, tuple[bytes, bool]]:
    """Every file of the export: ``relative path -> (content, executable)``.

    Only named places of the course are read: notebooks/ and release/ (through
    :func:`instructor.lab.work_copies`), common/, LICENSE, runtime.txt, postBuild, and the
    requirements, constraints and pyproject the students' files are made from.
    """
    root = Path(root).resolve()
    files: dict[str, tuple[bytes, bool]] = {}
    for src, rel in work_copies(root):
        files[rel.as_posix()] = (src.read_bytes(), False)
    for rel, src in _package_files(root).items():
        files[rel] = (src.read_bytes(), False)
    for name in COPIED_AS_IS:
        src = root / name
        files[name] = (src.read_bytes(), os.access(src, os.X_OK))
    texts = {"README.md": readme_text(url), "requirements.txt": requirements_text(root),
             "constraints.txt": constraints_text(root), "pyproject.toml": pyproject_text(root),
             ".gitignore": "__pycache__/\n*.pyc\n.ipynb_checkpoints/\n*.egg-info/\nbuild/\n",
             MARKER: "このフォルダは `make student-repo` が作った学生用リポジトリです。\n"
                     "手で編集しないでください (次の export で上書きされます)。\n"}
    files.update({name: (text.encode("utf-8"), False) for name, text in texts.items()})
    return files


def _git(dest: Path, *args: str) -> str:
    name, email = COMMITTER
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "LANG": "C"}
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null",
                           "-C", str(dest), *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise StudentRepoError(f"git {' '.join(args)} failed in {dest}: {done.stderr.strip()}")
    return done.stdout


def check_dest(dest: Path, root: Path) -> bool:
    """Raise StudentRepoError if ``dest`` cannot take the export; True if it is an earlier one."""
    dest, root = Path(dest).resolve(), Path(root).resolve()
    if dest == root or root in dest.parents:
        raise StudentRepoError(
            f"DEST {dest} is inside the course folder {root}: the student repository must be "
            "outside it (students would get a folder of the course). "
            "Use e.g. DEST=../kobai-student")
    if dest in root.parents:
        raise StudentRepoError(f"DEST {dest} contains the course folder {root}: choose a new, "
                               "empty folder outside the course")
    if dest.exists() and not dest.is_dir():
        raise StudentRepoError(f"DEST {dest} is a file, not a folder")
    if not dest.is_dir() or not any(dest.iterdir()):
        return False
    if not (dest / MARKER).is_file() or not (dest / ".git").exists():
        raise StudentRepoError(
            f"DEST {dest} is not empty and is not a student repository made by make student-repo "
            f"(no {MARKER} and .git): nothing was changed. Choose an empty or new folder")
    dirty = _git(dest, "status", "--porcelain", "--untracked-files=all")
    if dirty.strip():
        raise StudentRepoError(
            f"DEST {dest} has uncommitted changes (they would be lost): commit or remove them "
            f"first; nothing was changed.\n{dirty.rstrip()}")
    return True


def _course_commit(root: Path) -> str:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "no git"


def export(dest: Path, root: Path, url: str | None = None) -> ExportResult:
    """Write the student repository into ``dest`` and commit it (see the module docstring)."""
    root, dest = Path(root).resolve(), Path(dest).resolve()
    earlier = check_dest(dest, root)
    files = student_files(root, url)  # everything is read before DEST is touched
    if not earlier:
        dest.mkdir(parents=True, exist_ok=True)
        _git(dest, "init", "-q", "-b", BRANCH)
    for rel in _git(dest, "ls-files", "-z").split("\0"):
        if rel and rel not in files:
            (dest / rel).unlink(missing_ok=True)
    for folder in sorted((p for p in dest.rglob("*") if p.is_dir() and ".git" not in
                          p.relative_to(dest).parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    for rel, (content, executable) in sorted(files.items()):
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
        path.chmod(0o755 if executable else 0o644)
    _git(dest, "add", "-A")
    changed = bool(_git(dest, "status", "--porcelain").strip())
    if changed:
        _git(dest, "commit", "-q", "-m",
             f"学生用の配布物 (コース {_course_commit(root)} から make student-repo)")
    commit = _git(dest, "rev-parse", "HEAD").strip()
    return ExportResult(dest, commit, changed, len(files), url)

