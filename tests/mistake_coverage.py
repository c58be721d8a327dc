"""How many mistakes of the corpus get feedback that names them (issue 12).

Every case of ``MISTAKES`` in ``tests/cases/<assignment>.py`` gives the phrase its feedback must
contain (``message``). This script runs each mistake the quick way (``tests.nbrun``: the master
with the answers put in, hidden tests included, executed in a plain kernel, then the feedback steps
``ExplainBrokenAnswers`` and ``ShortTracebacks``) and prints the share of cases whose failing
tests show that phrase. ``make test`` checks the same through the real grading pipeline
(tests/test_grading.py); this script is for measuring and for writing new cases::

    .venv/bin/python -m tests.mistake_coverage                 # all cases
    .venv/bin/python -m tests.mistake_coverage --prefix learner_ --jobs 2 --show
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from instructor.preprocessors import ExplainBrokenAnswers, ShortTracebacks
from tests.nbrun import (
    assignment_names,
    execute,
    load_cases,
    read,
    replace_cells,
    test_results,
)


def feedback_texts(name: str, cells: dict[str, str]) -> dict[str, tuple[bool, str]]:
    """Test grade_id -> (passed, what its feedback shows) for one submission."""
    with tempfile.TemporaryDirectory() as tmp:  # the master: hidden tests run too
        nb = execute(replace_cells(read("source", name), cells), Path(tmp))
    nb, _ = ExplainBrokenAnswers().preprocess(nb, {})
    for index, cell in enumerate(nb.cells):
        ShortTracebacks().preprocess_cell(cell, {}, index)
    return {gid: (r.passed, r.text) for gid, r in test_results(nb).items()}


def _one(job: tuple[str, str, dict]) -> tuple[str, str, list[str], bool, str]:
    name, case, mistake = job
    results = feedback_texts(name, mistake["cells"])
    failing = [gid for gid, (passed, _) in results.items() if not passed]
    shown = "\n".join(results[gid][1] for gid in failing)
    named = bool(failing) and mistake["message"] in shown
    return name, case, failing, named, shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="", help="only cases whose name starts with this")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="print the feedback of unnamed cases")
    args = parser.parse_args(argv)
    jobs = [(name, case, mistake) for name in assignment_names()
            for case, mistake in load_cases(name)["MISTAKES"].items()
            if case.startswith(args.prefix)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(_one, jobs))
    named = 0
    for (name, case, failing, ok, shown), (_, _, mistake) in zip(outcomes, jobs, strict=True):
        named += ok
        expected = mistake.get("fails")
        extra = "" if expected is None or set(expected) == set(failing) else \
            f"  (fails {sorted(failing)}, corpus says {sorted(expected)})"
        print(f"{'named  ' if ok else 'UNNAMED'} {name}/{case}: {failing}{extra}")
        if args.show and not ok:
            print("    " + shown.replace("\n", "\n    ")[:1500])
    total = len(outcomes)
    print(f"\n{named} / {total} mistake cases named ({named / max(total, 1):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
