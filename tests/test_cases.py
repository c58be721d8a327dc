"""Every graded function against its corpus of correct answers and typical mistakes.

``tests/cases/<assignment>.py`` lists correct answers written differently (all must get full marks)
and typical mistakes (exactly the named test cells must fail, showing the targeted message).
"""

from __future__ import annotations

import pytest

from tests.nbrun import assignment_names, grade_id, load_cases, read, run


def _params(kind: str):
    params = []
    for name in assignment_names():
        for case in load_cases(name)[kind]:
            params.append(pytest.param(name, case, id=f"{name}-{case}"))
    return params


@pytest.mark.parametrize(("name", "case"), _params("CORRECT"))
def test_correct_answer_gets_full_marks(name, case, tmp_path):
    cells = load_cases(name)["CORRECT"][case]
    results = run(read("source", name), tmp_path, cells)
    failed = {gid: r.text for gid, r in results.items() if not r.passed}
    assert not failed, f"a correct answer lost points in {sorted(failed)}:\n{failed}"


@pytest.mark.parametrize(("name", "case"), _params("MISTAKES"))
def test_mistake_fails_its_tests_with_its_message(name, case, tmp_path):
    mistake = load_cases(name)["MISTAKES"][case]
    results = run(read("source", name), tmp_path, mistake["cells"])
    failed = {gid for gid, r in results.items() if not r.passed}
    assert failed == set(mistake["fails"]), (
        f"expected exactly {sorted(mistake['fails'])} to fail, got {sorted(failed)}")
    texts = "\n".join(results[gid].text for gid in failed)
    assert mistake["message"] in texts, f"message {mistake['message']!r} not shown:\n{texts}"


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
