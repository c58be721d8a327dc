"""End to end: the adversarial corpus (tests/adversarial.py) graded in one run.

One module fixture builds two temporary courses (copies of the real masters and releases):

- a *reference* course with only honest students, graded first;
- the *attacked* course with the same honest students plus one student per attack case.

Each is graded by ``Course(root).grade_all()`` in a child process (with a time limit, so a pipeline
that hangs fails these tests instead of hanging them; an attack that kills its grader kills only
that child). Before and after the attacked run the fixture records: a hash of every course file
outside the grader's outputs (``autograded/``, ``feedback/``, ``.grading/``, ``gradebook.db``),
a canary folder elsewhere in the temp dir, files an attack may create in ``/tmp``, ``$HOME``,
``/dev/shm`` and ``/var/tmp``, connections to a TCP listener on 127.0.0.1, and every process whose
argv or name holds one of this run's markers (``kadv<token><case>``).

Per case: exact status (or an accepted prefix), exact score, no hidden test line nor secret in the
attacker's outputs, feedback or notes, small outputs, no process of its own left; cases flagged in
``Case.checks`` repeat the global check they aim at. Global tests: the batch finished, honest
students are identical to the reference run, no course/canary file changed, the gradebook is sane,
no connection, no survivor, no escaped file.

``ADVERSARIAL_CASES=a,b`` grades only those cases (development); ``ADVERSARIAL_EXCLUDE=c,d`` leaves
some out; ``ADVERSARIAL_TIMEOUT`` (seconds, default 1500) bounds each grading run;
``ADVERSARIAL_KEEP=1`` keeps the courses and grading logs (``kobai-adversarial-*`` in the temp
folder) for a look after the run.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from tests.adversarial import (
    ASSIGNMENTS,
    CASES,
    HONEST,
    SECRET_CONFIG,
    SECRET_SUBMISSION,
    Case,
    Ctx,
    status_matches,
    write_files,
)
from tests.nbrun import ROOT, grade_id, hidden_lines, read

WALL_BUDGET = 30  # seconds per notebook: an infinite loop costs this much
RUN_TIMEOUT = float(os.environ.get("ADVERSARIAL_TIMEOUT", "1500"))
OUTPUT_LIMIT = 5 * 1024 * 1024  # bytes of autograded + feedback files per student
EXCLUDED = {"autograded", "feedback", ".grading", "gradebook.db", "gradebook.db-journal",
            "gradebook.db-wal", "gradebook.db-shm"}  # top-level entries the grader writes


def _selected() -> list[Case]:
    only = {n for n in os.environ.get("ADVERSARIAL_CASES", "").split(",") if n}
    skip = {n for n in os.environ.get("ADVERSARIAL_EXCLUDE", "").split(",") if n}
    unknown = (only | skip) - {c.name for c in CASES}
    if unknown:
        raise ValueError(f"unknown adversarial cases: {sorted(unknown)}")
    return [c for c in CASES if (not only or c.name in only) and c.name not in skip]


SELECTED = _selected()

RUNNER = """\
import dataclasses, json, sys
from instructor.grade import Course
outcomes = Course(sys.argv[1]).grade_all()
with open(sys.argv[2], "w", encoding="utf-8") as fh:
    json.dump([dataclasses.asdict(o) for o in outcomes], fh, ensure_ascii=False)
"""


# -- building -----------------------------------------------------------------------------------
def _make_course(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in ASSIGNMENTS:
        for kind in ("source", "release"):
            shutil.copytree(ROOT / kind / name, root / kind / name)
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    config += (f"\n# {SECRET_CONFIG}\n"
               f"c.SandboxedExecute.wall_budget = {WALL_BUDGET}\n")
    (root / "nbgrader_config.py").write_text(config, encoding="utf-8")
    return root


def _submit_honest(course: Path) -> None:
    for student, (assignment, build, _) in HONEST.items():
        write_files(course / "submitted" / student / assignment, build())


class Listener:
    """A TCP server on 127.0.0.1 that records every connection (none may reach it)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                data = conn.recv(200)
            except OSError:
                data = b""
            conn.close()
            self.hits.append((f"{peer[0]}:{peer[1]}", data))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


# -- observing ------------------------------------------------------------------------------------
def _tree(root: Path, *, top_excluded: frozenset[str] = frozenset()) -> dict[str, str]:
    """relative path -> kind, mode and content hash (symlinks are not followed)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d not in top_excluded]
            filenames = [f for f in filenames if f not in top_excluded]
        for name in dirnames + filenames:
            path = here / name
            rel = str(path.relative_to(root))
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = f"link {os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = f"dir {oct(info.st_mode)}"
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = f"file {oct(info.st_mode)} {digest}"
    return found


def _diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted([f"removed {p}" for p in before.keys() - after.keys()]
                  + [f"added {p}" for p in after.keys() - before.keys()]
                  + [f"changed {p}" for p in before.keys() & after.keys()
                     if before[p] != after[p]])


def _marked_processes(prefix: str) -> dict[str, list[tuple[int, str]]]:
    """marker -> [(pid, cmdline)] of live processes whose argv or name holds a marker."""
    found: dict[str, list[tuple[int, str]]] = {}
    pattern = re.compile(re.escape(prefix) + r"\d\d")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            comm = (entry / "comm").read_text(errors="replace").strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        for match in set(pattern.findall(cmdline + " " + comm)):
            found.setdefault(match, []).append((int(entry.name), f"{comm}: {cmdline[:120]}"))
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _grade(course: Path, scratch: Path) -> dict:
    """Run ``Course(course).grade_all()`` in a child process; its outcomes, exit, log, time."""
    out = scratch / f"{course.name}-outcomes.json"
    log = scratch / f"{course.name}-grading.log"
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONUTF8": "1", "PYTHONPATH": str(ROOT)}
    cwd = scratch / f"{course.name}-cwd"
    cwd.mkdir()
    started = time.monotonic()
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(course), str(out)], cwd=cwd,
                                env=env, stdin=subprocess.DEVNULL, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode: int | str = proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = f"killed after {RUN_TIMEOUT:g} s"
    outcomes = None
    if out.is_file():
        outcomes = {(o["student"], o["assignment"]): o
                    for o in json.loads(out.read_text(encoding="utf-8"))}
    return {"returncode": returncode, "outcomes": outcomes, "log": log,
            "seconds": round(time.monotonic() - started, 1)}


def _table(course: Path) -> tuple[dict, str | None]:
    """(student, assignment) -> export row, from the gradebook and the status records."""
    try:
        from instructor.export import rows
        from instructor.grade import Course

        _, table = rows(Course(course))
    except Exception as exc:  # a spoilt gradebook is a finding, not a harness error
        return {}, f"{type(exc).__name__}: {exc}"
    return {(r["student_id"], r["assignment"]): r for r in table}, None


def _gradebook_problems(course: Path) -> list[str]:
    """Manual scores, extra credit, scores outside 0..max, maxima that differ from the master."""
    from nbgrader.api import Gradebook

    from instructor.grade import Course

    points = {}
    for name in ASSIGNMENTS:
        for cell in read("source", name).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                points[(name, grade_id(cell))] = float(meta.get("points", 0))
    problems = []
    grader = Course(course)
    with Gradebook(grader.db_url, grader.course_id) as gb:
        for assignment in gb.assignments:
            want = sum(v for (a, _), v in points.items() if a == assignment.name)
            if float(assignment.max_score) != want:
                problems.append(f"{assignment.name}: max_score {assignment.max_score} != {want}")
            for sub in gb.assignment_submissions(assignment.name):
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        who = f"{sub.student_id}/{assignment.name}/{grade.name}"
                        top = points.get((assignment.name, grade.name), 0.0)
                        if grade.manual_score is not None:
                            problems.append(f"{who}: manual_score {grade.manual_score}")
                        if grade.extra_credit not in (None, 0):
                            problems.append(f"{who}: extra_credit {grade.extra_credit}")
                        if float(grade.max_score) != top:
                            problems.append(f"{who}: max_score {grade.max_score} != {top}")
                        score = grade.auto_score
                        if score is not None and not 0 <= float(score) <= top:
                            problems.append(f"{who}: auto_score {score} outside 0..{top}")
    return problems


def _visible_text(course: Path, student: str, assignment: str, notes: str) -> dict[str, str]:
    """Everything the grader kept of a student's run: outputs, feedback text, notes."""
    parts: list[str] = []
    for path in (course / "autograded" / student / assignment).glob("*.ipynb"):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - unreadable output: the raw text is searched
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
            continue
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                parts.append(out.get("text", ""))
                parts.append(out.get("evalue", ""))
                parts.extend(out.get("traceback", []))
                for value in out.get("data", {}).values():
                    parts.append(value if isinstance(value, str) else json.dumps(value))
    pages = []
    for page in (course / "feedback" / student / assignment).glob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        pages.append(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return {"autograded outputs": "\n".join(str(p) for p in parts),
            "feedback": "\n".join(pages), "notes": notes}


def _output_files(course: Path, student: str, assignment: str) -> tuple[int, list[str]]:
    size, links = 0, []
    for base in ("autograded", "feedback"):
        folder = course / base / student / assignment
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if path.is_symlink():
                links.append(str(path.relative_to(course)))
            elif path.is_file():
                size += path.stat().st_size
    return size, links


def _honest_view(course: Path, table: dict) -> dict:
    view = {}
    for student in HONEST:
        for name in ASSIGNMENTS:
            row = table.get((student, name))
            view[(student, name)] = None if row is None else {
                k: v for k, v in row.items() if k not in ("student_id",)}
        pages = sorted((course / "feedback" / student).rglob("*.html"))
        view[(student, "feedback")] = {str(p.relative_to(course / "feedback" / student)):
                                       hashlib.sha256(p.read_bytes()).hexdigest() for p in pages}
    return view


# -- the fixture ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run():
    token = secrets.token_hex(3)
    prefix = f"kadv{token}"
    # not under pytest's basetemp: other pytest sessions on the machine rotate it away
    base = Path(tempfile.mkdtemp(prefix="kobai-adversarial-"))
    scratch = base / "runs"
    scratch.mkdir()
    listener = Listener()
    home_escape = str(Path.home() / f".kadv-escape-{token}")
    tmp_escape = os.path.join(tempfile.gettempdir(), f"kadv-escape-{token}")
    escapes = [home_escape, tmp_escape, f"/dev/shm/kadv-escape-{token}",
               f"/var/tmp/kadv-escape-{token}"]
    try:
        # the reference: honest students only
        reference = _make_course(base / "reference")
        _submit_honest(reference)
        ref_run = _grade(reference, scratch)
        ref_table, ref_error = _table(reference)

        # the attacked course
        course = _make_course(base / "course")
        canary = base / "canary"
        canary.mkdir()
        for i in (1, 2, 3):
            (canary / f"canary-{i}.txt").write_text(f"canary {i}\n", encoding="utf-8")
            (canary / f"canary-{i}.txt").chmod(0o644)
        _submit_honest(course)
        ctx = Ctx(course=course, canary=canary, port=listener.port, token=token,
                  tmp_escape=tmp_escape, home_escape=home_escape)
        markers = {}
        for index, case in enumerate(CASES):
            if case not in SELECTED:
                continue
            markers[case.name] = f"{prefix}{index:02d}"
            files = case.build(replace(ctx, marker=markers[case.name]))
            write_files(course / "submitted" / case.student_id / case.assignment, files)
        tree_before = _tree(course, top_excluded=frozenset(EXCLUDED))
        canary_before = _tree(canary)

        attacked = _grade(course, scratch)
        time.sleep(3)  # a surviving daemon would strike now
        table, table_error = _table(course)
        survivors = _marked_processes(prefix)
        try:
            gradebook = _gradebook_problems(course)
        except Exception as exc:  # noqa: BLE001 - a spoilt gradebook is a finding
            gradebook = [f"gradebook unreadable: {type(exc).__name__}: {exc}"]
        yield {
            "course": course, "reference": reference, "ref_run": ref_run, "ref_table": ref_table,
            "ref_error": ref_error, "attacked": attacked, "table": table,
            "table_error": table_error, "markers": markers, "survivors": survivors,
            "tree": _diff(tree_before, _tree(course, top_excluded=frozenset(EXCLUDED))),
            "canary": _diff(canary_before, _tree(canary)),
            "escaped": [p for p in escapes if os.path.lexists(p)],
            "hits": list(listener.hits), "gradebook": gradebook,
        }
    finally:
        listener.close()
        for _ in range(3):  # end what the attacks left behind (our own processes, by pid)
            left = _marked_processes(prefix)
            if not left:
                break
            _kill([pid for procs in left.values() for pid, _ in procs])
            time.sleep(0.5)
        for path in escapes:
            if os.path.lexists(path):
                os.remove(path)
        if os.environ.get("ADVERSARIAL_KEEP"):
            print(f"\nadversarial courses kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


# -- per case -------------------------------------------------------------------------------------
def _secrets(assignment: str) -> list[str]:
    return [*hidden_lines(assignment), SECRET_SUBMISSION, SECRET_CONFIG]


def _global_check(run, what: str) -> list[str]:
    if what == "tree":
        return [f"course file {d}" for d in run["tree"]]
    if what == "canary":
        return [f"canary {d}" for d in run["canary"]]
    if what == "escape":
        return [f"file created outside the sandbox: {p}" for p in run["escaped"]]
    if what == "net":
        return [f"connection reached the listener: {h}" for h in run["hits"]]
    if what == "gradebook":
        return run["gradebook"]
    if what == "honest":
        return _honest_differences(run)
    raise ValueError(what)


@pytest.mark.parametrize("case", SELECTED, ids=[c.name for c in SELECTED])
def test_case(run, case: Case):
    problems = []
    course, student, assignment = run["course"], case.student_id, case.assignment
    row = run["table"].get((student, assignment))
    if row is None:
        pytest.fail(f"no grades row for {student}/{assignment} "
                    f"(export: {run['table_error']}; grading exit {run['attacked']['returncode']})")
    status, score = row["status"], float(row["score"])
    if not status_matches(status, case.status):
        problems.append(f"status {status!r}, expected one of {case.status}")
    want = case.score if status == "graded" else 0.0
    if score != want:
        problems.append(f"score {score:g}, expected {want:g} (status {status!r})")
    if case.note and case.note not in row["notes"]:
        problems.append(f"note {case.note!r} not in {row['notes']!r}")
    for where, text in _visible_text(course, student, assignment, row["notes"]).items():
        leaks = [s for s in _secrets(assignment) if s in text]
        if leaks:
            problems.append(f"{len(leaks)} hidden line(s)/secret(s) in the {where}, "
                            f"e.g. {leaks[0]!r}")
    size, links = _output_files(course, student, assignment)
    if size > OUTPUT_LIMIT:
        problems.append(f"autograded + feedback hold {size:,} bytes")
    if links:
        problems.append(f"symlinks in the outputs: {links}")
    left = run["survivors"].get(run["markers"][case.name], [])
    if left:
        problems.append(f"{len(left)} process(es) survived, e.g. {left[0]}")
    for what in sorted(case.checks):
        problems += _global_check(run, what)
    assert not problems, f"{student}: " + "\n".join(problems)


# -- global ---------------------------------------------------------------------------------------
def test_batch_completed(run):
    """Both runs end normally, in time, with an outcome for every student and assignment."""
    problems = []
    for label, result, table_error in (("reference", run["ref_run"], run["ref_error"]),
                                       ("attacked", run["attacked"], run["table_error"])):
        tail = result["log"].read_text(encoding="utf-8", errors="replace")[-1500:]
        if result["returncode"] != 0:
            problems.append(f"{label} run: exit {result['returncode']} after "
                            f"{result['seconds']} s\n{tail}")
        if result["outcomes"] is None:
            problems.append(f"{label} run: no outcomes")
        if table_error:
            problems.append(f"{label} export: {table_error}")
    students = {c.student_id for c in SELECTED} | set(HONEST)
    outcomes = run["attacked"]["outcomes"] or {}
    missing = sorted(f"{s}/{a}" for s in students for a in ASSIGNMENTS if (s, a) not in outcomes)
    if missing:
        problems.append(f"no outcome for {len(missing)}: {missing[:10]}")
    print(f"\nreference run {run['ref_run']['seconds']} s, attacked run "
          f"{run['attacked']['seconds']} s ({len(SELECTED)} cases)")
    assert not problems, "\n".join(problems)


def test_honest_reference_scores(run):
    """The reference run itself grades the honest students as expected."""
    problems = []
    for student, (assignment, _, score) in HONEST.items():
        row = run["ref_table"].get((student, assignment))
        if row is None or row["status"] != "graded" or float(row["score"]) != score:
            problems.append(f"{student}: {row and (row['status'], row['score'])}, "
                            f"expected graded {score:g}")
    assert not problems, "\n".join(problems)


def _honest_differences(run) -> list[str]:
    ref = _honest_view(run["reference"], run["ref_table"])
    got = _honest_view(run["course"], run["table"])
    return [f"{key[0]}/{key[1]}: {got.get(key)} != reference {ref[key]}"
            for key in ref if got.get(key) != ref[key]]


def test_honest_students_identical_to_reference(run):
    problems = _honest_differences(run)
    assert not problems, "\n".join(problems)


def test_no_course_file_changed(run):
    assert not run["tree"], "\n".join(run["tree"][:30])


def test_canaries_untouched(run):
    assert not run["canary"], "\n".join(run["canary"])


def test_no_file_escaped(run):
    assert not run["escaped"], run["escaped"]


def test_gradebook_is_sane(run):
    assert not run["gradebook"], "\n".join(run["gradebook"][:30])


def test_no_connection_reached_the_listener(run):
    assert not run["hits"], run["hits"]


def test_no_process_survives(run):
    names = {v: k for k, v in run["markers"].items()}
    left = {names.get(m, m): procs for m, procs in run["survivors"].items()}
    assert not left, left
