"""Command line of the instructor tooling: ``python -m instructor <command>``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from instructor.course import CourseNotFound, find_root

SHORT_TABLE = 40  # make grade prints the student x assignment table up to this many students


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor",
                                     description="勾配演習コース instructor tools (nbgrader)")
    parser.add_argument("--root", type=Path, default=None,
                        help="course folder (default: the working folder or the nearest folder "
                             "above it holding nbgrader_config.py)")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("assignments", help="regenerate release/ and solutions/ from source/")
    gen.add_argument("names", nargs="*", help="assignment names (default: all in source/)")
    grade = sub.add_parser("grade", help="autograde submitted/, feedback, grades.csv")
    grade.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    grade.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    grade.add_argument("--csv", type=Path, default=None, help="output (default: <root>/grades.csv)")
    grade.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                       help="submissions graded at once (default: number of cores)")
    grade.add_argument("--unsafe", action="store_true",
                       help="grade without the bubblewrap sandbox (only where none can be had; "
                            "student code could then read hidden tests and change course files)")
    sub.add_parser("grades", help="print the per-student, per-assignment table")
    rep = sub.add_parser("report", help="class report: report/index.html, tests.csv, mistakes.csv")
    rep.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    rep.add_argument("--out", type=Path, default=None, help="folder (default: <root>/report)")
    val = sub.add_parser("validate", help="run a notebook's tests, print only the messages")
    val.add_argument("notebook", type=Path, help="the notebook to check")
    col = sub.add_parser("collect", help="import an LMS download (.zip) into submitted/")
    col.add_argument("assignment", help="assignment name, e.g. 01_gradient")
    col.add_argument("zip", type=Path, help="the .zip downloaded from the LMS")
    exc = sub.add_parser("exchange", help="nbgrader exchange on this machine (<course>/exchange/)")
    exc.add_argument("action", choices=["release", "collect", "feedback", "student-config"])
    exc.add_argument("assignment", nargs="?", help="assignment (not for student-config)")
    exc.add_argument("--force", action="store_true", help="release: replace an earlier release")
    lab = sub.add_parser("lab", help="prepare JupyterLab: a student's work folder, or the "
                                     "instructor's formgrader (make lab / make instructor)")
    lab.add_argument("mode", choices=["student", "instructor"])
    lab.add_argument("--work", type=Path, default=Path("work"),
                     help="student: the work folder (default: <root>/work)")
    lab.add_argument("--exchange", type=Path, default=None,
                     help="student: the exchange folder (default: <root>/exchange)")
    srepo = sub.add_parser("student-repo", help="export what students may see into a git "
                                                "repository (make student-repo DEST=...)")
    srepo.add_argument("dest", type=Path, help="folder outside the course (new, empty or an "
                                               "earlier export)")
    srepo.add_argument("--url", default=None, help="the git URL students clone (README: Colab, "
                                                   "Binder, git clone)")
    pull = sub.add_parser("nbgitpuller-link", help="print the nbgitpuller link of a repository")
    pull.add_argument("--repo", required=True, help="git URL of the student repository")
    pull.add_argument("--hub", required=True, help="the JupyterHub's address (https://...)")
    pull.add_argument("--branch", default=None, help="branch (default: the repository's own)")
    pull.add_argument("--path", default=None, help="file or folder to open, inside the repository")
    pull.add_argument("--targetpath", default=None,
                      help="folder in the user's home (default: the repository's name)")
    args = parser.parse_args(argv)
    try:
        args.root = find_root(args.root)
    except CourseNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if args.command == "lab":  # only what needs attention before JupyterLab's own log
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.WARNING)

    if args.command == "assignments":
        from instructor.generate import GenerationError, generate

        try:
            done = generate(args.root, args.names or None)
        except GenerationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"generated {len(done)} assignment(s): {', '.join(done)}")
    elif args.command == "collect":
        from instructor.collect import CollectError, collect

        try:
            print(collect(args.zip, args.assignment, args.root).format(args.root))
        except CollectError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    elif args.command == "exchange":
        from nbgrader.exchange import ExchangeError

        from instructor.exchange import command

        try:
            print(command(args.action, args.assignment, args.root, force=args.force), end="")
        except (ExchangeError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    elif args.command == "grade":
        from instructor.export import summary, write_csv
        from instructor.grade import Course, SandboxUnavailable

        try:
            course = Course(args.root, unsafe=args.unsafe)
        except SandboxUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.unsafe:
            print("warning: --unsafe: student code runs WITHOUT the sandbox", file=sys.stderr)
        from instructor.console import LOG_FILE, progress_bar, quiet_console, summary_lines

        csv_path = args.csv or course.root / "grades.csv"
        with quiet_console(course.root) as console:
            outcomes = course.grade_all(args.assignments or None, force=args.force,
                                        jobs=max(1, args.jobs),
                                        progress=lambda total: progress_bar(console, total))
            write_csv(course, csv_path)
        table = summary(course)
        if table.count("\n") < SHORT_TABLE:
            print(table + "\n")
        print("\n".join(summary_lines(outcomes, csv_path=csv_path, feedback=course.feedback,
                                      log_path=course.root / LOG_FILE)))
    elif args.command == "lab":
        from instructor.lab import prepare_instructor, prepare_student

        if args.mode == "student":
            copies, _config = prepare_student(args.work, args.root, args.exchange)
            print(copies.report((args.root / args.work).resolve()))
        else:
            print(f"instructor config: {prepare_instructor(args.root)}")
    elif args.command == "validate":
        from instructor.course import load_config
        from instructor.validate import ShortValidator

        if not args.notebook.is_file():
            print(f"error: no such notebook: {args.notebook}", file=sys.stderr)
            return 2
        validator = ShortValidator(config=load_config(args.root))
        validator.validate_and_print(str(args.notebook.resolve()))
        return 1 if validator.results else 0
    elif args.command == "grades":
        from instructor.export import summary
        from instructor.grade import Course

        # reads the gradebook and status records only: no student code runs, no sandbox needed
        print(summary(Course(args.root, unsafe=True)))
    elif args.command == "report":
        from instructor.grade import Course
        from instructor.report import build

        # reads the gradebook and graded notebooks only: no student code runs, no sandbox needed
        page = build(Course(args.root, unsafe=True), args.out, args.assignments or None)
        print(f"wrote {page} (and tests.csv, mistakes.csv beside it)")
    elif args.command == "student-repo":
        from instructor.studentrepo import StudentRepoError, export

        try:
            print(export(args.dest, args.root, args.url).report())
        except StudentRepoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    elif args.command == "nbgitpuller-link":
        from instructor.pulllink import LinkError, nbgitpuller_link

        try:
            print(nbgitpuller_link(args.repo, args.hub, args.branch, args.path, args.targetpath))
        except LinkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
