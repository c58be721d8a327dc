"""Command line of the instructor tooling: ``python -m instructor <command>``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from instructor.course import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor",
                                     description="勾配演習コース instructor tools (nbgrader)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="course folder (default: this repo)")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("assignments", help="regenerate release/ and solutions/ from source/")
    gen.add_argument("names", nargs="*", help="assignment names (default: all in source/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    if args.command == "assignments":
        from instructor.generate import GenerationError, generate

        try:
            done = generate(args.root, args.names or None)
        except GenerationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"generated {len(done)} assignment(s): {', '.join(done)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
