"""One output budget per notebook (instructor.budget), measured on the grader itself.

Each flood kind of ``tests/floodrun.py`` -- what the old per-cell cap did not count: display
metadata, execute_result data, error ``evalue`` / traceback, comm messages, clear_output storms,
in big messages (dropped unread by the kernel client) and in many small ones (counted by the
budget) -- is graded in a fresh process. The flood cell and the graded test after it must fail
with the reason, the graded notebook stays small, and the grader's peak memory stays at what an
honest notebook costs (before the budget: 105-210 MB notebooks, peak RSS up to 780 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from instructor.budget import OutputBudget, message_bytes
from tests.nbrun import ROOT

MB = 1 << 20


def _grade(kind: str, tmp_path: Path) -> dict:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "PYTHONUTF8": "1"}
    done = subprocess.run([sys.executable, "-m", "tests.floodrun", kind,
                           str(tmp_path / f"{kind}.ipynb")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> dict:
    result = _grade("none", tmp_path_factory.mktemp("honest"))
    assert result["errors"] == [[], []] and result["test_output"] == "test ran\n"
    return result


@pytest.mark.parametrize("kind", ["display_metadata", "error_evalue", "comm_msg",
                                  "clear_output_storm", "small_display_metadata",
                                  "small_comm_msg", "small_error_evalue"])
def test_a_flood_ends_the_kernel_and_costs_the_grader_nothing(kind, honest, tmp_path):
    result = _grade(kind, tmp_path)
    flood_errors, test_errors = result["errors"]
    assert "KernelStopped" in flood_errors, result
    assert test_errors == ["KernelStopped"], "the graded test after the flood must not pass"
    assert result["notebook_bytes"] < 3 * MB, result
    assert result["peak_rss"] < honest["peak_rss"] + 64 * MB, (result, honest)


def test_every_part_of_a_message_counts():
    budget = OutputBudget(9_000)
    small = {"header": {"msg_type": "stream"}, "parent_header": {}, "metadata": {},
             "content": {"name": "stdout", "text": "x"}, "msg_type": "stream"}
    assert budget.take(small)
    padded = {**small, "metadata": {"pad": "m" * 5_000}}
    assert message_bytes(padded) > 5_000
    comm = {**small, "msg_type": "comm_msg", "content": {"data": {"state": {}}},
            "buffers": [memoryview(b"b" * 4_000)]}
    assert message_bytes(comm) > 4_000
    assert budget.take(padded) and budget.take(comm) is False  # 5 000+, then over 9 000
    assert budget.spent and not budget.take(small)
    status = {**small, "msg_type": "status", "content": {"execution_state": "idle"}}
    assert budget.take(status), "an idle status still ends the cell"
    fresh = OutputBudget(9_000)
    assert fresh.take(small) and not fresh.take(comm) and not fresh.spent, "comms: never kept"
    envelope = {**small, "header": {"pad": "h" * 9_000}, "parent_header": {"pad": "p" * 9_000}}
    assert message_bytes(envelope) == message_bytes(small), "the envelope is not the kernel's"
