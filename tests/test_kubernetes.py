"""deploy/kubernetes/: planned and untested on a cluster; here its files parse and agree.

No cluster exists on the course's machines (deploy/kubernetes/README.md says what would verify
the plan). What can fail here: a YAML or Python syntax error, a volume or claim name that does
not exist, the exchange mounted somewhere else than nbgrader is told, the Job calling an
instructor command that does not exist, a file not marked as planned.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from instructor.__main__ import main
from tests.nbrun import ROOT

FOLDER = ROOT / "deploy" / "kubernetes"


def load(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((FOLDER / name).read_text(encoding="utf-8")) if doc]


def claims() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in load("exchange.yaml")
            if doc["kind"] == "PersistentVolumeClaim"}


def test_every_file_is_marked_planned_and_untested():
    for path in sorted(FOLDER.iterdir()):
        assert "UNTESTED HERE" in path.read_text(encoding="utf-8") or path.name == "README.md"
    assert "計画・未検証" in (FOLDER / "README.md").read_text(encoding="utf-8")


def test_exchange_is_shared_read_write_many():
    pvcs = claims()
    assert set(pvcs) == {"kobai-exchange", "kobai-course"}
    assert pvcs["kobai-exchange"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_hub_values_agree_with_the_volumes_and_nbgrader():
    (values,) = load("config.yaml")
    single = values["singleuser"]
    volumes = {v["name"]: v for v in single["storage"]["extraVolumes"]}
    assert {v["persistentVolumeClaim"]["claimName"] for v in volumes.values()} <= set(claims())
    mounts = {m["name"]: m["mountPath"] for m in single["storage"]["extraVolumeMounts"]}
    assert set(mounts) <= set(volumes)
    nbgrader = single["extraFiles"]["nbgrader-config"]["stringData"]
    compile(nbgrader, "nbgrader_config.py", "exec")
    assert f'c.Exchange.root = "{mounts["exchange"]}"' in nbgrader
    for name, code in values["hub"]["extraConfig"].items():
        compile(code, name, "exec")
        assert "kobai-course" in code and "instructors" in code
    assert single["memory"]["limit"] and single["image"]["name"].endswith("/student")
    from benchmarks.student_load import BLAS_THREADS  # the variables the benchmark sets
    assert {name: "1" for name in BLAS_THREADS}.items() <= single["extraEnv"].items()


def test_grading_job_mounts_what_it_names_and_runs_real_commands():
    (job,) = load("grading-job.yaml")
    assert job["kind"] == "Job"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsUser"] != 0
    volumes = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    assert set(volumes.values()) <= set(claims())
    (container,) = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert set(mounts) == set(volumes)
    (values,) = load("config.yaml")
    exchange_mounts = values["singleuser"]["storage"]["extraVolumeMounts"]
    assert mounts["exchange"] == next(m["mountPath"] for m in exchange_mounts)
    commands = [shlex.split(line) for line in container["args"][0].splitlines() if line.strip()]
    assert len(commands) >= 3
    for words in commands:
        assert words[:3] == ["python", "-m", "instructor"], words
        with pytest.raises(SystemExit) as done:
            main([words[3], "--help"])
        assert done.value.code == 0, words


def test_images_are_built_from_the_right_context():
    student = (FOLDER / "Dockerfile.student").read_text(encoding="utf-8")
    assert "make student-repo" in student and "source" not in student
    assert "Never give this image to students" in (FOLDER / "Dockerfile.instructor").read_text(
        encoding="utf-8")
    assert Path(ROOT / "postBuild").is_file()
