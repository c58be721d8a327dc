"""Binder: the course repository and the student export follow repo2docker's conventions.

What repo2docker (its Python build pack) reads at a repository's root: ``runtime.txt``
(``python-X.Y``; it refuses a version outside ``pyproject.toml``'s ``requires-python``),
``requirements.txt`` (installed after the repository is copied when it names local files such as
``-c constraints.txt``), ``pyproject.toml`` with ``[project]`` and ``[build-system]`` (then it
runs ``pip install .``) and ``postBuild`` (run as an executable at the end). A ``binder/`` folder
or a file of another build pack (environment.yml, Dockerfile, ...) would make it ignore these,
so none may exist. No image is built here (no Docker, no network): the files are checked, and
postBuild runs in a fresh virtual environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from instructor.studentrepo import export
from tests.nbrun import ROOT

OTHER_BUILD_PACKS = ("binder", ".binder", "environment.yml", "Pipfile", "Dockerfile",
                     "Project.toml", "install.R", "default.nix", "setup.py")


@pytest.fixture(scope="module", params=["course", "export"])
def repo(request, tmp_path_factory) -> Path:
    if request.param == "course":
        return ROOT
    dest = tmp_path_factory.mktemp("binder") / "kobai-student"
    export(dest, ROOT)
    return dest


def test_no_other_build_pack_takes_over(repo):
    assert [name for name in OTHER_BUILD_PACKS if (repo / name).exists()] == []


def test_runtime_is_the_tested_python_and_allowed_by_pyproject(repo):
    runtime = (repo / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, runtime
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert match.group(1) in SpecifierSet(project["project"]["requires-python"])
    assert match.group(1) == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert "build-system" in project  # repo2docker then runs `pip install .`


def test_requirements_parse_and_pin_everything(repo):
    lines = (repo / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = 0
    for line in (ln.split("#", 1)[0].strip() for ln in lines):
        if not line:
            continue
        if line.startswith("-c "):
            assert (repo / line[3:].strip()).is_file(), line
        elif line in ("-e .", "."):
            continue
        else:
            req = Requirement(line)
            assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", line
            pinned += 1
    assert pinned >= 5
    for line in (repo / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert str(Requirement(line).specifier).startswith("=="), line


def test_postbuild_sets_japanese_in_a_fresh_environment(repo, tmp_path):
    post_build = repo / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert post_build.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    settings = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}')
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    # as repo2docker runs it: ./postBuild in the repository, python3 of the environment on PATH
    subprocess.run(["./postBuild"], cwd=repo, env=env, check=True, capture_output=True)
    got = json.loads(settings.read_text(encoding="utf-8"))
    assert got["@jupyterlab/translation-extension:plugin"] == {"locale": "ja_JP"}
    assert got["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
