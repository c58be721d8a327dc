"""Benchmark: the cost of starting one notebook's judge (fork server vs a fresh interpreter).

Usage (from the course folder):
    .venv/bin/python -c "from benchmarks.judge_start import main; main()" [--repeat 10]
(not ``-m``: a fork server's child imports the parent's main module unless it is a package's
``__main__``, as in ``python -m instructor``, the grader; ``-m benchmarks.judge_start`` would
time importing the whole grader into every judge).

(a) a judge forked from the grader's fork server (numpy and ``common`` already imported), from
    ``Process.start()`` to the judge listening on its socket — what ``SandboxedExecute`` does;
(b) the first one, which also starts the fork server (once per grading process);
(c) for comparison, a fresh ``python -c "import instructor.judge, common.plotting"``.
Numbers, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from instructor import execute, judge


def _start_one(folder: Path, index: int) -> float:
    context = execute._judge_context()
    ours, theirs = context.Pipe()
    start = time.perf_counter()
    process = context.Process(target=judge.main, args=(theirs, str(folder / f"j{index}")),
                              daemon=True)
    process.start()
    assert ours.recv()[0] == "ready"
    seconds = time.perf_counter() - start
    ours.send(("stop",))
    process.join(5)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = _start_one(Path(tmp), 0)
        forks = [_start_one(Path(tmp), i) for i in range(1, args.repeat + 1)]
    fresh = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import instructor.judge, common.plotting"],
                       check=True, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
        fresh.append(time.perf_counter() - start)
    print(f"judge from the fork server: median {statistics.median(forks) * 1000:.1f} ms "
          f"(min {min(forks) * 1000:.1f}, n={len(forks)})")
    print(f"first judge (starts the fork server): {first * 1000:.0f} ms")
    print(f"fresh interpreter importing the same: median {statistics.median(fresh) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
