"""nbgitpuller links: one click clones (or updates) the student repository into a hub user's home.

A link is ``<hub>/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=...``: JupyterHub sends
the user to their own server, whose nbgitpuller extension (``nbgitpuller`` 1.3, pinned in
requirements.txt) pulls ``repo`` into ``~/<targetpath>`` and then opens ``urlpath``.
nbgitpuller names the folder after the last part of the repository URL (``.git`` included) unless
``targetpath`` is given; :func:`target_folder` computes the same name so that ``urlpath`` opens
the right file.

``urlpath`` is the JupyterLab path ``lab/tree/<folder>/<path>``, its file part percent-encoded
(the browser goes to it as given: Japanese names, spaces, ``#`` or ``?`` in a file name stay
one path), and every query value is percent-encoded once more as a whole.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit


class LinkError(ValueError):
    """An argument no nbgitpuller link can be made of (the message says which)."""


def target_folder(repo: str, targetpath: str | None = None) -> str:
    """The folder of the user's home nbgitpuller pulls ``repo`` into (its own default rule)."""
    return targetpath or repo.rstrip("/").split("/")[-1]


def nbgitpuller_link(repo: str, hub: str, branch: str | None = None, path: str | None = None,
                     targetpath: str | None = None) -> str:
    """The link that pulls ``repo`` (at ``branch``) and opens ``path`` of it in JupyterLab.

    ``repo``: the git URL the hub's servers clone (https://, file:// or a path on the hub);
    ``hub``: the JupyterHub's address (``https://hub.example.ac.jp``, a prefix allowed);
    ``path``: a file or folder inside the repository, e.g. ``課題/01_gradient/01_gradient.ipynb``
    (default: the repository's folder).
    """
    hub_parts = urlsplit(hub)
    if hub_parts.scheme not in ("http", "https") or not hub_parts.netloc:
        raise LinkError(f"--hub must be the hub's http(s) address, got {hub!r}")
    if hub_parts.query or hub_parts.fragment:
        raise LinkError(f"--hub must have no query or fragment, got {hub!r}")
    if not repo.strip() or not target_folder(repo, targetpath):
        raise LinkError(f"--repo must be a git URL ending in the repository's name, got {repo!r}")
    rel = "/".join(part for part in (path or "").split("/") if part not in ("", "."))
    if ".." in rel.split("/"):
        raise LinkError(f"--path must stay inside the repository, got {path!r}")
    folder = target_folder(repo, targetpath)
    urlpath = "lab/tree/" + quote(f"{folder}/{rel}" if rel else folder, safe="/")
    query = {"repo": repo}
    if branch:
        query["branch"] = branch
    if targetpath:
        query["targetpath"] = targetpath
    query["urlpath"] = urlpath
    base = hub.rstrip("/")
    return f"{base}/hub/user-redirect/git-pull?{urlencode(query, quote_via=quote, safe='')}"
