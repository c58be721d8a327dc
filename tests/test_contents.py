"""`make instructor`'s contents manager: release/ and solutions/ are never written by the server."""

from __future__ import annotations

import asyncio

import nbformat
import pytest
from tornado.web import HTTPError

from instructor.contents import ProtectedContentsManager


@pytest.fixture
def manager(tmp_path):
    for folder in ("release/01_a", "solutions/01_a", "source/01_a"):
        (tmp_path / folder).mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / folder / "01_a.ipynb")
    return ProtectedContentsManager(root_dir=str(tmp_path))


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_generated_folders_are_read_only(manager, tmp_path, folder):
    path = f"{folder}/01_a/01_a.ipynb"
    before = (tmp_path / path).read_bytes()
    model = run(manager.get(path))
    assert model["writable"] is False  # JupyterLab opens it read-only
    model["content"].cells.append(nbformat.v4.new_code_cell("x = 1"))
    for attempt in (manager.save({"type": "notebook", "content": model["content"]}, path),
                    manager.rename_file(path, f"{folder}/01_a/other.ipynb"),
                    manager.delete_file(path),
                    manager.save({"type": "file", "format": "text", "content": "x"},
                                 f"{folder}/01_a/new.txt"),
                    manager.rename_file("source/01_a/01_a.ipynb", f"{folder}/01_a/x.ipynb")):
        with pytest.raises(HTTPError) as refused:
            run(attempt)
        assert refused.value.status_code == 403
        assert "make assignments" in refused.value.log_message
    assert (tmp_path / path).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / folder / "01_a").iterdir()) == ["01_a.ipynb"]


def test_other_folders_stay_writable(manager, tmp_path):
    path = "source/01_a/01_a.ipynb"
    model = run(manager.get(path))
    assert model["writable"] is True
    model["content"].cells.append(nbformat.v4.new_code_cell("x = 1"))
    run(manager.save({"type": "notebook", "content": model["content"]}, path))
    assert nbformat.read(tmp_path / path, as_version=4).cells[-1].source == "x = 1"
    # a folder whose name only starts like a protected one is not protected
    (tmp_path / "release_notes").mkdir()
    run(manager.save({"type": "file", "format": "text", "content": "ok"}, "release_notes/a.txt"))
    assert (tmp_path / "release_notes" / "a.txt").read_text() == "ok"


def test_a_master_run_and_saved_without_edits_stays_the_same(manager, tmp_path):
    path = "source/01_a/01_a.ipynb"
    master = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    master.metadata["language_info"] = {"name": "python"}
    nbformat.write(master, tmp_path / path)
    before = (tmp_path / path).read_bytes()
    model = run(manager.get(path))
    nb = model["content"]  # as JupyterLab has it after running the cell
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7",
                                    "file_extension": ".py"}
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[0].execution_count = 1
    run(manager.save({"type": "notebook", "content": nb}, path))
    assert (tmp_path / path).read_bytes() == before
    nb.cells[0].source = "x = 2"  # an edit is saved, still without outputs
    run(manager.save({"type": "notebook", "content": nb}, path))
    saved = nbformat.read(tmp_path / path, as_version=4)
    assert saved.cells[0].source == "x = 2" and saved.cells[0].outputs == []
    assert saved.metadata["language_info"] == {"name": "python"}
