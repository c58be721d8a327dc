"""``make assignments``: student versions (release/) and executed solutions (solutions/).

Both come from the masters in source/ through nbgrader's own converters, run in-process
(one interpreter start for all assignments instead of one per nbgrader command).
"""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widget_state(path: Path) -> None:
    """Drop ipywidgets state (random model ids) from an executed notebook, keep the text.

    A progress bar (tqdm.auto) executed by nbgrader leaves a widget view in the output and the
    widget state in the notebook metadata, both under fresh random ids: the generated solution
    would differ on every run. Without a live kernel the widget cannot update anyway; its
    ``text/plain`` fallback stays.
    """
    nb = nbformat.read(path, as_version=4)
    changed = nb.metadata.pop("widgets", None) is not None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                del output.data[WIDGET_VIEW]
                changed = True
    if changed:
        nbformat.write(nb, path)


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
        for path in (Path(root) / "solutions" / name).glob("*.ipynb"):
            strip_widget_state(path)
    return names
