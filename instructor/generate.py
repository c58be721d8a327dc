"""``make assignments``: student versions (release/) and executed solutions (solutions/).

Both come from the masters in source/ through nbgrader's own converters, run in-process
(one interpreter start for all assignments instead of one per nbgrader command).
"""

from __future__ import annotations

import logging
from pathlib import Path

from nbgrader.converters import GenerateAssignment, GenerateSolution
from nbgrader.coursedir import CourseDirectory

from instructor.course import ROOT, assignment_names, load_config, prepare_environment

log = logging.getLogger("instructor.generate")


class GenerationError(RuntimeError):
    """nbgrader could not produce a release or a solution."""


def _run(converter_class, config, name: str) -> None:
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = name
    converter = converter_class(coursedir=coursedir, config=config)
    converter.force = True
    try:
        converter.start()
    except Exception as exc:  # nbgrader raises NbGraderException after logging the cause
        raise GenerationError(f"{converter_class.__name__} failed for {name}: {exc}") from exc


def generate(root: Path = ROOT, names: list[str] | None = None) -> list[str]:
    """Regenerate ``release/<name>`` and ``solutions/<name>`` for each assignment (all by default).

    ``root`` is a course folder holding ``source/`` (the tests regenerate into a temporary copy).
    Returns the names processed.
    """
    prepare_environment(root)
    config = load_config(root)
    names = names or assignment_names(root)
    for name in names:
        log.info("generating %s", name)
        _run(GenerateAssignment, config, name)
        _run(GenerateSolution, config, name)
    return names
