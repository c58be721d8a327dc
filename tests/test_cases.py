"""The corpus of tests/cases/<assignment>.py is big enough for every graded function.

The corpus itself (correct answers -> full marks; each mistake -> exactly its targeted test cells
fail, with its Japanese message in the feedback) is graded end to end by tests/test_grading.py,
through the real nbgrader pipeline. For a quick check of one case while writing an assignment,
``tests.nbrun.run(read("source", name), tmp, cells)`` executes the master without nbgrader.
"""

from __future__ import annotations

import pytest

from tests.nbrun import assignment_names, grade_id, load_cases, read


@pytest.mark.parametrize("name", assignment_names())
def test_every_graded_function_has_a_corpus(name):
    """>= 3 correct answers and >= 3 typical mistakes touch every solution cell of the master."""
    solution_ids = [grade_id(c) for c in read("source", name).cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_ids, f"{name} has no solution cell"
    cases = load_cases(name)
    for sid in solution_ids:
        correct = [k for k, cells in cases["CORRECT"].items() if sid in cells]
        mistakes = [k for k, m in cases["MISTAKES"].items() if sid in m["cells"]]
        assert len(correct) >= 3, f"{name}/{sid}: only {len(correct)} correct answers"
        assert len(mistakes) >= 3, f"{name}/{sid}: only {len(mistakes)} mistakes"
        for case, mistake in cases["MISTAKES"].items():
            assert mistake["fails"] and mistake["message"], f"{name}/{case} targets nothing"
