"""``make instructor``: a contents manager that never writes the generated, committed folders.

JupyterLab at the course root would otherwise let an open ``release/`` or ``solutions/``
notebook be rewritten by autosave (or by Validate, which saves first): a committed file changed
by merely opening it. ``ProtectedContentsManager`` reports those files as not writable (the
``writable`` field of the contents model, so JupyterLab opens them read-only) and refuses any
save, rename, delete or new file under them with HTTP 403.

The masters in ``source/`` are stored without outputs (the project's rule) and JupyterLab fills in
``metadata.language_info`` (with the Python version) as soon as a kernel starts, so a master
merely left open would be rewritten by autosave. A notebook saved under ``masters`` is stored
without outputs or execution counts and keeps the ``language_info`` it has on disk: a master
opened, run and saved without edits stays byte for byte the same. Everything else behaves as
usual.
"""

from __future__ import annotations

import nbformat
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import List, Unicode

MESSAGE = ("{path} は make assignments が生成するファイルです (読み取り専用)。"
           "source/ の原本を編集してください。")


class ProtectedContentsManager(AsyncLargeFileManager):
    """The default contents manager with ``protected`` folders (API paths) read-only."""

    protected = List(Unicode(), default_value=["release", "solutions"],
                     help="folders (relative to root_dir) the server never writes").tag(config=True)

    masters = List(Unicode(), default_value=["source"],
                   help="folders whose notebooks are saved without outputs and with the "
                        "language_info already on disk").tag(config=True)

    @staticmethod
    def _under(path: str, folders: list[str]) -> bool:
        path = path.strip("/")
        return any(path == folder or path.startswith(folder + "/") for folder in folders)

    def is_protected(self, path: str) -> bool:
        return self._under(path, self.protected)

    async def _as_master(self, model: dict, path: str) -> dict:
        """``model`` with outputs, execution counts and kernel-filled language_info removed."""
        nb = nbformat.from_dict(model["content"])
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        stored = {}
        if await self.file_exists(path):
            stored = (await self.get(path, content=True, type="notebook"))["content"].metadata
        nb.metadata.pop("language_info", None)
        if "language_info" in stored:
            nb.metadata["language_info"] = stored["language_info"]
        return {**model, "content": nb}

    def _refuse(self, path: str) -> None:
        if self.is_protected(path):
            raise web.HTTPError(403, MESSAGE.format(path=path.strip("/")))

    def is_writable(self, path):
        return not self.is_protected(path) and super().is_writable(path)

    async def save(self, model, path=""):
        self._refuse(path)
        if model.get("type") == "notebook" and model.get("content") is not None \
                and self._under(path, self.masters):
            model = await self._as_master(model, path)
        return await super().save(model, path)

    async def delete_file(self, path):
        self._refuse(path)
        return await super().delete_file(path)

    async def rename_file(self, old_path, new_path):
        self._refuse(old_path)
        self._refuse(new_path)
        return await super().rename_file(old_path, new_path)

    async def restore_checkpoint(self, checkpoint_id, path):
        self._refuse(path)
        return await super().restore_checkpoint(checkpoint_id, path)
