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

from instructor.course import assignment_names, load_config, prepare_environment

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


def stabilize_outputs(path: Path) -> None:
    """Make an executed notebook independent of timing: same content, same bytes every run.

    - ipywidgets state (tqdm.auto progress bars) is dropped: it carries fresh random model ids,
      and without a live kernel the widget cannot update anyway; its ``text/plain`` stays.
    - adjacent outputs of the same stream are merged: ipykernel may deliver ``print``'s text
      and its newline as one message or as two, depending on timing.
    """
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        merged = []
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
            last = merged[-1] if merged else None
            if (output.output_type == "stream" and last is not None
                    and last.output_type == "stream" and last.name == output.name):
                last.text += output.text
            else:
                merged.append(output)
        if cell.cell_type == "code":
            cell.outputs = merged
    nbformat.write(nb, path)


def generate(root: Path, names: list[str] | None = None) -> list[str]:
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
            stabilize_outputs(path)
    return names
