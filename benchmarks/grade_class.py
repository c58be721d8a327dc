"""Benchmark: grading a whole class — stock nbgrader vs ours vs the `jupyter execute` floor.

Usage (from the course folder, PATH starting with .venv/bin):
    .venv/bin/python -m benchmarks.grade_class --students N [--jobs J] [--correct-students K]
                                               [--profile-students P]

Builds a throwaway course with N synthetic students, each submitting all five assignments: per
(student, assignment) slot a fixed pattern gives 60 % correct (the master's solution cells),
25 % wrong (one typical mistake of tests/cases/<assignment>.py, rotating; the `cheat_*` cases
are left out: stock nbgrader is known to give them marks, issue 6) and 15 % the untouched
release. Then times, each on a fresh copy of that course, wall clock of the whole command(s):
  (a) stock nbgrader: the course config without the two Autograde preprocessor overrides,
      `nbgrader autograde --force <a>` once per assignment (after `nbgrader generate_assignment`,
      timed apart, not counted); `nbgrader generate_feedback` is timed apart too ((a) has none);
  (b) ours unhardened: the same stock-preprocessor config, `python -m instructor grade --jobs 1`
      (intake, checks, feedback, records; no sandbox, guard or rebuild);
  (c) ours hardened (the course config), --jobs 1;  (d) the same with --jobs J (default: cores);
  (e) the floor: `jupyter execute --allow-errors` of every submitted notebook, one CLI each,
      and once more with all notebooks in one CLI call.
For (b)-(d) the gradebook sync of the masters (once per course) is done first and not counted.
(b) and (c) are also timed on K students submitting only correct notebooks (issue 6's target).
Peak memory: the largest sum of RSS over every process below this one (CLIs, workers, kernels,
sandboxes), sampled from /proc every 0.2 s; shared pages count once per process.
A profile (P students, in process, hardened and unhardened, --jobs 1) splits the time per
notebook: kernel start, cell execution, kernel stop, the rest of nbgrader's autograde, score
checks, feedback, intake and bookkeeping. The 200 × 5 extrapolation uses (d)'s seconds per
notebook, and again (d)'s marginal cost per notebook plus the fixed cost of a `grade` run with no
submission.
Every variant must grade every submission with the same per-test scores as stock nbgrader and
as the mistake's expected failures: mismatches are listed.
Numbers, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from benchmarks.grade_one_student import cli_env, empty_course
from tests.nbrun import ROOT, assignment_names, load_cases, read, submission

# one kind per (student, assignment) slot, repeating every 20 slots: 60 / 25 / 15 %
PATTERN = ["correct"] * 12 + ["wrong"] * 5 + ["untouched"] * 3
OVERRIDES = re.compile(r"^c\.Autograde\.(sanitize|autograde)_preprocessors = \[.*?^\]\n",
                       re.MULTILINE | re.DOTALL)
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Run:
    """One timed variant."""

    label: str
    seconds: float
    notebooks: int
    peak_bytes: int
    untimed: str = ""  # what was done before, not counted
    course: Path | None = None

    @property
    def per_notebook(self) -> float:
        return self.seconds / self.notebooks


@dataclass
class Expected:
    """What one submission is and the test cells it must fail."""

    kind: str  # correct, wrong:<case>, untouched
    fails: set[str] = field(default_factory=set)


# -- the class ----------------------------------------------------------------------------------
def test_ids(name: str) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in read("source", name).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def build_class(course: Path, students: int) -> dict[tuple[str, str], Expected]:
    """Write the synthetic submissions into ``course/submitted``; what each should score."""
    names = assignment_names(ROOT)
    mistakes = {n: [(case, m) for case, m in load_cases(n)["MISTAKES"].items()
                    if not case.startswith("cheat_")] for n in names}
    expected = {}
    for i in range(students):
        for j, name in enumerate(names):
            slot = i * len(names) + j
            kind = PATTERN[slot % len(PATTERN)]
            if kind == "correct":
                nb, exp = submission(name, {}), Expected("correct")
            elif kind == "untouched":
                nb, exp = submission(name, None), Expected("untouched", set(test_ids(name)))
            else:
                case, mistake = mistakes[name][slot % len(mistakes[name])]
                nb, exp = submission(name, mistake["cells"]), Expected(f"wrong:{case}",
                                                                       set(mistake["fails"]))
            folder = course / "submitted" / f"s{i:03d}" / name
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{name}.ipynb")
            expected[(f"s{i:03d}", name)] = exp
    return expected


def correct_class(course: Path, students: int) -> dict[tuple[str, str], Expected]:
    """``students`` students who hand in the solution of every assignment."""
    for i in range(students):
        for name in assignment_names(ROOT):
            folder = course / "submitted" / f"c{i:03d}" / name
            folder.mkdir(parents=True)
            nbformat.write(submission(name, {}), folder / f"{name}.ipynb")
    return {(f"c{i:03d}", n): Expected("correct") for i in range(students)
            for n in assignment_names(ROOT)}


def stock_config(course: Path) -> None:
    """Drop the two Autograde preprocessor overrides: nbgrader's own Execute etc. again."""
    path = course / "nbgrader_config.py"
    text, count = OVERRIDES.subn("", path.read_text(encoding="utf-8"))
    assert count == 2, "nbgrader_config.py changed: update OVERRIDES"
    path.write_text(text, encoding="utf-8")


# -- measuring ----------------------------------------------------------------------------------
def _tree_rss(root_pid: int) -> int:
    """Sum of RSS of every process below ``root_pid`` (not itself), from /proc/<pid>/stat."""
    children, rss = defaultdict(list), {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children[int(fields[1])].append(int(entry.name))
        rss[int(entry.name)] = int(fields[21]) * PAGE
    total, todo = 0, list(children[root_pid])
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children[pid])
    return total


class PeakMemory:
    """While in the ``with`` block, samples the RSS of all descendants every 0.2 s."""

    def __enter__(self) -> PeakMemory:
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _tree_rss(os.getpid()))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> None:
    """Run a command; its output is shown only if it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=cli_env(env), capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stderr[-3000:]}")


def timed(label: str, cmds: list[list[str]], cwd: Path, notebooks: int,
          env: dict | None = None, **extra) -> Run:
    """Wall time and peak memory of ``cmds`` run one after the other."""
    with PeakMemory() as mem:
        start = time.perf_counter()
        for cmd in cmds:
            run(cmd, cwd, env)
        seconds = time.perf_counter() - start
    return Run(label, seconds, notebooks, mem.peak, **extra)


def seconds_of(cmds: list[list[str]], cwd: Path) -> float:
    start = time.perf_counter()
    for cmd in cmds:
        run(cmd, cwd)
    return time.perf_counter() - start


# -- the variants -------------------------------------------------------------------------------
def stock(course: Path, notebooks: int) -> tuple[Run, Run]:
    """(a) `nbgrader autograde` per assignment; then `generate_feedback`, timed apart."""
    names = assignment_names(course)
    nbgrader = str(BIN / "nbgrader")
    prep = seconds_of([[nbgrader, "generate_assignment", "--force", n] for n in names], course)
    graded = timed("(a) stock nbgrader autograde", [[nbgrader, "autograde", "--force", n]
                                                    for n in names], course, notebooks,
                   untimed=f"generate_assignment {prep:.1f}s", course=course)
    feedback = timed("    stock generate_feedback (not in a)",
                     [[nbgrader, "generate_feedback", "--force", n] for n in names],
                     course, notebooks)
    return graded, feedback


def sync_gradebook(course: Path) -> float:
    """Our once-per-course gradebook sync of the masters; its seconds."""
    code = ("import sys; from instructor.grade import Course; c = Course(sys.argv[1]); "
            "c.sync_gradebook(c.assignments())")
    return seconds_of([[sys.executable, "-c", code, str(course)]], ROOT)


def ours(label: str, course: Path, jobs: int, notebooks: int) -> Run:
    """(b)-(d) `python -m instructor grade --jobs J` in ``course``."""
    prep = sync_gradebook(course)
    cmd = [sys.executable, "-m", "instructor", "--root", str(course), "grade", "--jobs", str(jobs)]
    return timed(label, [cmd], ROOT, notebooks, untimed=f"gradebook sync {prep:.1f}s",
                 course=course)


def floor(course: Path) -> tuple[Run, Run]:
    """(e) `jupyter execute` of every submitted notebook: one CLI each, then one for all."""
    notebooks = sorted(map(str, (course / "submitted").glob("*/*/*.ipynb")))
    execute = [str(BIN / "jupyter"), "execute", "--allow-errors"]
    env = {"NBGRADER_EXECUTION": "autograde"}
    each = timed("(e) floor: jupyter execute, 1 CLI/notebook", [[*execute, nb] for nb in notebooks],
                 course, len(notebooks), env)
    one = timed("    floor: jupyter execute, 1 CLI for all", [[*execute, *notebooks]],
                course, len(notebooks), env)
    return each, one


# -- checking -----------------------------------------------------------------------------------
def scores(course: Path, ours_records: bool) -> dict[tuple[str, str], dict[str, float] | str]:
    """Per submission: {test grade_id: score} from the gradebook, or the status if not graded."""
    from nbgrader.api import Gradebook, MissingEntry

    result = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "kobai-enshu") as gb:
        for folder in sorted((course / "submitted").glob("*/*")):
            student, name = folder.parent.name, folder.name
            record = course / ".grading" / "status" / student / f"{name}.json"
            status = (json.loads(record.read_text())["status"] if ours_records
                      else "graded" if (course / "autograded" / student / name).is_dir()
                      else "not autograded")
            try:
                sub = gb.find_submission(name, student)
            except MissingEntry:
                status = f"{status}, not in gradebook"
            if status != "graded":
                result[(student, name)] = status
                continue
            result[(student, name)] = {g.name: g.score for nb in sub.notebooks for g in nb.grades
                                       if g.cell.cell_type == "code"}
    return result


def expected_scores(course: Path, expected: dict) -> dict[tuple[str, str], dict[str, float]]:
    """The per-test scores each submission should get (full marks except its failing tests)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "kobai-enshu") as gb:
        points = {n: {c.name: c.max_score for nb in gb.find_assignment(n).notebooks
                      for c in nb.grade_cells if c.cell_type == "code"}
                  for n in {a for _, a in expected}}
    return {key: {gid: 0.0 if gid in exp.fails else pts for gid, pts in points[key[1]].items()}
            for key, exp in expected.items()}


def mismatches(runs: list[Run], reference: dict, expected: dict) -> list[str]:
    """Every submission whose status or per-test scores differ from ``reference``."""
    problems = []
    for r in runs:
        got = scores(r.course, ours_records=not r.label.startswith("(a)"))
        for key, want in reference.items():
            if got.get(key) != want:
                diff = (got.get(key) if not isinstance(got.get(key), dict) else
                        {k: (v, want.get(k)) for k, v in got[key].items() if v != want.get(k)})
                problems.append(f"{r.label.split()[0]} {key[0]} {key[1]} "
                                f"[{expected[key].kind}]: got {diff}")
    return problems


# -- where the time goes ------------------------------------------------------------------------
def _timer(owner, attr: str, label: str, totals: dict[str, float]) -> None:
    """Wrap ``owner.attr`` (a function or coroutine function) to add its time to totals."""
    original = getattr(owner, attr)

    if asyncio.iscoroutinefunction(original):
        @functools.wraps(original)
        async def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - start
    else:
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - start
    setattr(owner, attr, wrapper)


def profile(course: Path) -> dict[str, float]:
    """Grade ``course`` in a child process with timers on the steps; seconds per step."""
    code = ("import json, sys; from benchmarks.grade_class import _profile_here; "
            "print(json.dumps(_profile_here(sys.argv[1])))")
    sync_gradebook(course)
    out = subprocess.run([sys.executable, "-c", code, str(course)], cwd=ROOT, env=cli_env(),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def _profile_here(root: str) -> dict[str, float]:
    """In this process: grade every submission of ``root`` (--jobs 1) with timers on."""
    from nbclient import NotebookClient
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbgrader.preprocessors import SaveAutoGrades

    from instructor import grade as grade_mod
    from instructor import intake

    totals: dict[str, float] = defaultdict(float)
    for owner, attr, label in [
            (NotebookClient, "start_new_kernel", "kernel start: launch"),
            (NotebookClient, "start_new_kernel_client", "kernel start: wait until ready"),
            (NotebookClient, "_cleanup_kernel", "kernel stop"),
            (ExecutePreprocessor, "preprocess", "execute (all)"),
            (SaveAutoGrades, "preprocess", "gradebook: save scores"),
            (grade_mod.Course, "_check_scores", "gradebook: check scores"),
            (intake, "inspect", "intake"), (intake, "stage", "intake"),
            (grade_mod, "_move_tree", "move outputs"),
            (grade_mod.Course, "grade_one", "total")]:
        _timer(owner, attr, label, totals)
    run_step = grade_mod.Course._run

    def timed_run(self, converter_class, coursedir):
        start = time.perf_counter()
        try:
            return run_step(self, converter_class, coursedir)
        finally:
            totals[f"nbgrader {converter_class.__name__}"] += time.perf_counter() - start
    grade_mod.Course._run = timed_run
    outcomes = grade_mod.Course(Path(root)).grade_all(jobs=1)
    assert all(o.status == "graded" for o in outcomes), [o.status for o in outcomes]
    return {**totals, "notebooks": len(outcomes)}


def split(profiled: dict[str, float]) -> list[tuple[str, float]]:
    """Disjoint parts of the time per notebook, from the nested timers."""
    t = profiled
    start = t["kernel start: launch"] + t["kernel start: wait until ready"]
    cells = t["execute (all)"] - start - t["kernel stop"]
    autograde_rest = t["nbgrader Autograde"] - t["execute (all)"] - t["gradebook: save scores"]
    known = (t["nbgrader Autograde"] + t["nbgrader Feedback"] + t["intake"]
             + t["gradebook: check scores"] + t["move outputs"])
    parts = [("kernel start (launch + until ready)", start), ("cells (execution)", cells),
             ("kernel stop", t["kernel stop"]),
             ("gradebook: save scores", t["gradebook: save scores"]),
             ("autograde rest (sanitize, rebuild, write...)", autograde_rest),
             ("gradebook: check scores", t["gradebook: check scores"]),
             ("feedback (GenerateFeedback, shared exporter)", t["nbgrader Feedback"]),
             ("intake + move outputs", t["intake"] + t["move outputs"]),
             ("other (records, clearing, scratch)", t["total"] - known)]
    return [(label, seconds / t["notebooks"]) for label, seconds in parts]


# -- report -------------------------------------------------------------------------------------
def table(runs: list[Run], stock_run: Run) -> str:
    lines = [f"{'variant':<44} {'total s':>8} {'s/nb':>6} {'nb/min':>7} {'×stock':>7}"
             f" {'peak MB':>8}  untimed before"]
    for r in runs:
        lines.append(f"{r.label:<44} {r.seconds:>8.1f} {r.per_notebook:>6.2f}"
                     f" {60 / r.per_notebook:>7.1f} {stock_run.seconds / r.seconds:>7.2f}"
                     f" {r.peak_bytes / 2**20:>8.0f}  {r.untimed}")
    lines.append("(×stock: throughput relative to (a); >1 is faster)")
    return "\n".join(lines)


def verdict(name: str, value: float, target: float, at_least: bool) -> str:
    ok = value >= target if at_least else value <= target
    return f"{name:<62} {value:>6.2f}  (target {'≥' if at_least else '≤'} {target}: " \
           f"{'met' if ok else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--correct-students", type=int, default=3,
                        help="students of the correct-only subset ((b)/(c) ratio); 0: skip")
    parser.add_argument("--profile-students", type=int, default=2,
                        help="students of the mixture profiled in process; 0: skip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kobai-bench-") as tmp:
        tmp = Path(tmp)
        base = empty_course(tmp / "class")
        expected = build_class(base, args.students)
        notebooks = len(expected)
        stock_base = tmp / "class-stock"
        shutil.copytree(base, stock_base)
        stock_config(stock_base)

        def fresh(src: Path, name: str) -> Path:
            return Path(shutil.copytree(src, tmp / name))

        print(f"{args.students} students × 5 = {notebooks} submissions; "
              f"{os.cpu_count()} cores; --jobs {args.jobs}", flush=True)
        a, a_feedback = stock(fresh(stock_base, "a"), notebooks)
        b = ours("(b) ours unhardened, --jobs 1", fresh(stock_base, "b"), 1, notebooks)
        c = ours("(c) ours hardened, --jobs 1", fresh(base, "c"), 1, notebooks)
        d = ours(f"(d) ours hardened, --jobs {args.jobs}", fresh(base, "d"), args.jobs, notebooks)
        e, e_one = floor(fresh(base, "e"))
        runs = [a, a_feedback, b, c, d, e, e_one]
        print("\n" + table(runs, a))

        reference = expected_scores(c.course, expected)
        problems = mismatches([a, b, c, d], reference, expected)
        print(f"\nchecked {notebooks} submissions × 4 variants against the expected per-test "
              f"scores: {len(problems)} mismatch(es)")
        for p in problems:
            print("  " + p)

        print()
        print(verdict(f"hardened --jobs {args.jobs} throughput / stock throughput",
                      a.seconds / d.seconds, 1.8, True))
        print(verdict("hardened --jobs 1 per notebook / floor (1 CLI per notebook)",
                      c.per_notebook / e.per_notebook, 1.2, False))
        print(verdict(f"hardened --jobs {args.jobs} per notebook / floor (1 CLI per notebook)",
                      d.per_notebook / e.per_notebook, 1.2, False))
        print(f"{'hardened --jobs 1 per notebook / floor (1 CLI for all)':<62} "
              f"{c.per_notebook / e_one.per_notebook:>6.2f}")
        print(f"{'hardened / unhardened, --jobs 1, mixture':<62} {c.seconds / b.seconds:>6.2f}")
        if args.correct_students:
            sub = empty_course(tmp / "correct")
            correct_class(sub, args.correct_students)
            sub_stock = fresh(sub, "correct-stock")
            stock_config(sub_stock)
            n = 5 * args.correct_students
            b2 = ours("(b) unhardened J1, correct only", sub_stock, 1, n)
            c2 = ours("(c) hardened J1, correct only", fresh(sub, "correct-c"), 1, n)
            print(verdict(f"hardened / unhardened, --jobs 1, {n} correct submissions",
                          c2.seconds / b2.seconds, 1.3, False)
                  + f"  [{c2.seconds:.1f}s vs {b2.seconds:.1f}s]")
        print(verdict(f"200 students × 5 notebooks, --jobs {args.jobs}: minutes at (d)'s s/nb",
                      1000 * d.per_notebook / 60, 15, False))
        empty = fresh(base, "empty")
        shutil.rmtree(empty / "submitted")
        fixed = ours("fixed cost", empty, args.jobs, 1).seconds
        marginal = (d.seconds - fixed) / notebooks
        print(verdict(f"  same, fixed {fixed:.1f}s + 1000 × marginal {marginal:.2f}s/nb",
                      (fixed + 1000 * marginal) / 60, 15, False))
        print(f"{'stock autograde + generate_feedback / ours hardened --jobs 1':<62} "
              f"{(a.seconds + a_feedback.seconds) / c.seconds:>6.2f} (throughput ratio)")

        if args.profile_students:
            for label, src in (("hardened", base), ("unhardened", stock_base)):
                course = fresh(src, f"profile-{label}")
                for folder in sorted((course / "submitted").iterdir())[args.profile_students:]:
                    shutil.rmtree(folder)
                parts = split(profile(course))
                total = sum(s for _, s in parts)
                print(f"\nwhere the time goes, {label}, --jobs 1, in process, "
                      f"{5 * args.profile_students} submissions of the mixture: "
                      f"{total:.2f} s per notebook")
                for name, seconds in parts:
                    print(f"  {name:<46} {seconds:>6.3f} s  {100 * seconds / total:>5.1f} %")


if __name__ == "__main__":
    main()
