"""release/ and solutions/ are what `make assignments` makes from source/, and they behave.

- the committed copies equal a fresh regeneration into a temporary course folder;
- every graded test of a release fails (stubs), every graded test of a solution passes
  (nbgrader's Validator API: plain `nbgrader validate` exits 0 even on failure);
- masters are stored without outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.validator import Validator

from instructor.course import load_config
from instructor.generate import generate
from tests.nbrun import ROOT, assignment_names, notebook_path, read, run

NAMES = assignment_names()
# Metadata that legitimately changes between two generations.
VOLATILE_CELL_METADATA = {"execution", "collapsed", "scrolled", "trusted"}


# Cells whose printed numbers depend on the machine (a timing measured in the cell) carry this
# nbval tag; their outputs are compared by kind only (which outputs, which streams).
MACHINE_DEPENDENT = "nbval-ignore-output"


def _normalized(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if MACHINE_DEPENDENT in cell.get("metadata", {}).get("tags", []):
            cell["outputs"] = [(o["output_type"], o.get("name"), sorted(o.get("data", {})))
                               for o in cell.get("outputs", [])]
    return nb


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source", course / "source")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    generate(course)
    return course


@pytest.mark.parametrize("kind", ["release", "solutions"])
def test_committed_copies_equal_a_fresh_generation(regenerated, kind):
    committed, fresh = _files(ROOT / kind), _files(regenerated / kind)
    assert sorted(committed) == sorted(fresh), "run `make assignments` and commit"
    for rel, path in fresh.items():
        if path.suffix == ".ipynb":
            assert _normalized(committed[rel]) == _normalized(path), (
                f"{kind}/{rel} differs from a fresh generation: run `make assignments`")
        else:
            assert committed[rel].read_bytes() == path.read_bytes(), f"{kind}/{rel} differs"


def test_generation_covers_every_master():
    for name in NAMES:
        assert notebook_path("release", name).is_file(), name
        assert notebook_path("solutions", name).is_file(), name


@pytest.mark.parametrize("name", NAMES)
def test_masters_are_stored_without_outputs(name):
    nb = read("source", name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def _validator(**kw) -> Validator:
    return Validator(config=load_config(ROOT), **kw)


@pytest.mark.parametrize("name", NAMES)
def test_release_fails_every_graded_test(name, tmp_path):
    release = notebook_path("release", name)
    assert _validator(invert=True).validate(str(release)) == {}, "a release test cell passes"
    # ...and each fails because of the stub, not because the notebook is broken.
    results = run(read("release", name), tmp_path)
    assert results, "no graded test cell"
    for gid, result in results.items():
        assert not result.passed, gid
        assert "NotImplementedError" in result.text, f"{gid} fails otherwise:\n{result.text}"


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes_every_graded_test(name):
    solution = notebook_path("solutions", name)
    assert _validator().validate(str(solution)) == {}


@pytest.mark.parametrize("name", NAMES)
def test_release_has_no_solution_or_hidden_test(name):
    text = notebook_path("release", name).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, marker
    nb = nbformat.read(notebook_path("release", name), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], "release notebooks carry no outputs"
