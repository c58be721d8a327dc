"""Installing ``common`` from the student export: editable, as a wheel, and by the Colab cell.

Each case uses a fresh virtual environment (``python -m venv``). pip runs with ``--no-deps``
(numpy, matplotlib... come from a registry or are already there on Colab; ``import common``
itself needs none of them). Building the export (wheel, editable) gets setuptools into pip's
isolated build environment as ``make install`` does for the course (the package registry, or
pip's cache); the Colab cell then installs with ``--no-index``: no network at all. The cell is
the one the students' README shows (:func:`instructor.studentrepo.colab_cell`), with its
install source pointed at the wheel built from the export.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from instructor.studentrepo import PACKAGE_NAME, colab_cell, export
from tests.nbrun import ROOT

PIP = {"PIP_NO_DEPS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
OFFLINE = {"PIP_NO_INDEX": "1"}
WHERE = ("import common, importlib.resources as r; "
         "print(common.__file__); print(r.files('common').joinpath('data/mnist_subset.npz')"
         ".is_file())")


def clean_env(offline: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_NO_"))}
    return {**env, **PIP, **(OFFLINE if offline else {}), "PYTHONUTF8": "1"}


def run(args: list, cwd: Path, check: bool = True, offline: bool = True
        ) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(offline),
                          capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("install") / "kobai-student"
    export(dest, ROOT)
    return dest


@pytest.fixture(scope="module")
def wheel(exported, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "-w", out, exported], cwd=out, offline=False)
    (built,) = out.glob("*.whl")
    assert built.name.startswith(PACKAGE_NAME.replace("-", "_"))
    return built


def fresh_venv(path: Path) -> Path:
    """A new virtual environment with pip and nothing else; its python.

    pip is unpacked from the wheel ensurepip ships (what ``python -m venv`` installs, without
    its byte-compiling: seconds less on a busy machine).
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   env=clean_env())
    python = path / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=path).stdout.strip()
    (pip_wheel,) = (Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl")
    with zipfile.ZipFile(pip_wheel) as wheel:
        wheel.extractall(purelib)
    assert run([python, "-m", "pip", "--version"], cwd=path).returncode == 0
    assert run([python, "-c", "import common"], cwd=path, check=False).returncode != 0
    return python


def test_editable_install_of_the_export(exported, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    run([python, "-m", "pip", "install", "-e", exported], cwd=tmp_path, offline=False)
    where = run([python, "-c", WHERE], cwd=tmp_path).stdout.split()
    assert Path(where[0]).resolve() == (exported / "common" / "__init__.py").resolve()
    assert where[1] == "True"


def test_colab_cell_installs_common_once(wheel, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    cell = tmp_path / "cell.py"
    cell.write_text(colab_cell(str(wheel)) + WHERE + "\n", encoding="utf-8")
    first = run([python, cell], cwd=tmp_path)  # install, then import in the same process
    assert "common をインストールします" in first.stdout
    path, data = first.stdout.split("\n")[-3:-1]
    assert Path(path).is_relative_to(tmp_path / "venv") and data == "True"

    # a second run installs nothing: its source does not even exist, and it still succeeds
    cell.write_text(colab_cell(str(tmp_path / "missing.whl")) + WHERE + "\n", encoding="utf-8")
    second = run([python, cell], cwd=tmp_path)
    assert "インストール済み" in second.stdout and "インストールします" not in second.stdout
    assert second.stdout.split("\n")[-3] == path


def test_colab_cell_stops_with_pips_error_on_a_bad_source(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    cell = tmp_path / "cell.py"
    cell.write_text(colab_cell(str(tmp_path / "missing.whl")), encoding="utf-8")
    done = run([python, cell], cwd=tmp_path, check=False)
    assert done.returncode != 0 and "CalledProcessError" in done.stderr
