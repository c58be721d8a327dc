"""The numbers of the report, from ``ClassData`` (``instructor.report.collect``).

Only graded submissions count in a test's numbers: ``passed`` is how many got the test's full
points, ``pass_rate = passed / graded``, ``discrimination`` the Pearson correlation between the
points of the test and the assignment total over those submissions (None when either does not
vary, e.g. everyone passed). An assignment's mean and median are over its graded submissions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from instructor.report.collect import ClassData

# Status kinds as in grades.csv (``instructor.export``): what a status starts with.
STATUS_KINDS = ("graded", "missing", "unknown notebook", "failed")


@dataclass(frozen=True)
class TestStats:
    """The numbers of one test (a row of tests.csv)."""

    __test__ = False  # not a pytest test class
    assignment: str
    test: str
    points: float
    passed: int
    graded: int
    pass_rate: float | None  # None when nothing was graded
    discrimination: float | None


@dataclass
class AssignmentStats:
    name: str
    max_score: float
    counts: dict[str, int]  # status kind -> number of students
    scores: list[float] = field(default_factory=list)  # totals of the graded submissions
    mean: float | None = None
    median: float | None = None


@dataclass(frozen=True)
class Mistake:
    """One message of one test, and the students whose graded submission showed it."""

    assignment: str
    test: str
    message: str
    students: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.students)


def status_kind(status: str) -> str:
    """``graded``, ``missing``, ``unknown notebook`` or ``failed`` for a grades.csv status."""
    for kind in STATUS_KINDS:
        if status == kind or status.startswith(f"{kind}:"):
            return kind
    return "failed"


def correlation(x: list[float], y: list[float]) -> float | None:
    """Pearson correlation of two equally long samples; None if either is constant or n < 2."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def assignment_stats(data: ClassData) -> list[AssignmentStats]:
    result = []
    for name in data.assignments:
        subs = [s for s in data.submissions if s.assignment == name]
        counts = dict.fromkeys(STATUS_KINDS, 0)
        for s in subs:
            counts[status_kind(s.status)] += 1
        scores = [s.score for s in subs if s.graded]
        stats = AssignmentStats(name, data.max_scores[name], counts, scores)
        if scores:
            stats.mean = float(np.mean(scores))
            stats.median = float(np.median(scores))
        result.append(stats)
    return result


def test_stats(data: ClassData) -> list[TestStats]:
    result = []
    for name in data.assignments:
        graded = [s for s in data.submissions if s.assignment == name and s.graded]
        totals = [s.score for s in graded]
        for test in data.tests[name]:
            points = [s.scores.get(test.name, 0.0) for s in graded]
            passed = sum(p >= test.points for p in points)
            rate = passed / len(graded) if graded else None
            result.append(TestStats(name, test.name, test.points, passed, len(graded), rate,
                                    correlation(points, totals)))
    return result


test_stats.__test__ = False  # not a pytest test (its name starts with "test")


def mistakes(data: ClassData) -> list[Mistake]:
    """Every (assignment, test, message) seen, most frequent first, then in course order."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for s in data.submissions:
        for test, message in s.failures.items():
            groups[(s.assignment, test, message)].append(s.student)
    position = {(a, t.name): (i, j) for i, a in enumerate(data.assignments)
                for j, t in enumerate(data.tests[a])}
    found = [Mistake(a, t, m, tuple(sorted(students))) for (a, t, m), students in groups.items()]
    return sorted(found, key=lambda x: (-x.count, position.get((x.assignment, x.test), (0, 0)),
                                        x.message))
