"""``make instructor``: a contents manager that never writes the generated, committed folders.

JupyterLab at the course root would otherwise let an open ``release/`` or ``solutions/``
notebook be rewritten by autosave (or by Validate, which saves first): a committed file changed
by merely opening it. ``ProtectedContentsManager`` reports those files as not writable (the
``writable`` field of the contents model, so JupyterLab opens them read-only) and refuses any
save, rename, delete or new file under them with HTTP 403. Everything else behaves as usual.
"""

from __future__ import annotations

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import List, Unicode

MESSAGE = ("{path} は make assignments が生成するファイルです (読み取り専用)。"
           "source/ の原本を編集してください。")


class ProtectedContentsManager(AsyncLargeFileManager):
    """The default contents manager with ``protected`` folders (API paths) read-only."""

    protected = List(Unicode(), default_value=["release", "solutions"],
                     help="folders (relative to root_dir) the server never writes").tag(config=True)

    def is_protected(self, path: str) -> bool:
        path = path.strip("/")
        return any(path == folder or path.startswith(folder + "/") for folder in self.protected)

    def _refuse(self, path: str) -> None:
        if self.is_protected(path):
            raise web.HTTPError(403, MESSAGE.format(path=path.strip("/")))

    def is_writable(self, path):
        return not self.is_protected(path) and super().is_writable(path)

    async def save(self, model, path=""):
        self._refuse(path)
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
