"""Benchmark: N students at once, each running lecture note 04 (training a two-layer net).

Usage (from the course folder):
    .venv/bin/python -m benchmarks.student_load [--students 1 2 4 8] [--notebook 04]

For each N, N worker processes start together; each runs ``notebooks/04_*.ipynb`` top to bottom
with nbclient in its own kernel (ipykernel, as a student's JupyterLab does), in a folder of its
own, with one BLAS thread per kernel unless ``--blas-threads`` says otherwise (on a shared server
each student's numpy must not start one busy thread per core). A sampler reads /proc every
``--interval`` seconds: for each student the proportional set size (PSS: shared pages split among
the processes sharing them, so the sum over students is what the machine holds) and the RSS of
the kernel and of the driver process (nbclient, a stand-in for the student's Jupyter server), and
the kernel's CPU time (utime + stime). Before the runs, one idle ``jupyter server`` of this
environment (the extensions it loads, nbgitpuller and nbgrader included) is started and measured
the same way: what each student's server holds on a hub besides the kernel.

Prints per N: wall time, CPU seconds per student, cores kept busy, peak PSS / RSS per student
(mean and max over the students), the machine's load average before and after; then the
sizing the numbers give (students per core and per GB), to be read with the load it was
measured under. Numbers, not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.nbrun import ROOT

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


def children(pid: int) -> list[int]:
    """All descendants of ``pid`` (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in bytes, from /proc/<pid>/smaps_rollup; (0, 0) once gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
            elif line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return pss, rss


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its own threads, not its children); 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Student:
    """Peaks and totals of one student's processes, as sampled."""

    kernel_pss: int = 0
    kernel_rss: int = 0
    driver_pss: int = 0
    driver_rss: int = 0
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> last CPU seconds seen

    def sample(self, driver: int) -> None:
        d_pss, d_rss = memory(driver)
        self.driver_pss, self.driver_rss = max(self.driver_pss, d_pss), max(self.driver_rss, d_rss)
        pss = rss = 0
        for pid in children(driver):
            p, r = memory(pid)
            pss, rss = pss + p, rss + r
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds(pid))
        self.kernel_pss, self.kernel_rss = max(self.kernel_pss, pss), max(self.kernel_rss, rss)


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run_notebook(path: str, folder: str, blas_threads: int) -> None:
    """One student: execute the notebook in ``folder`` (worker process)."""
    if blas_threads:  # the kernel inherits them
        os.environ.update({name: str(blas_threads) for name in BLAS_THREADS})
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": folder}}).execute()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_students(n: int, notebook: Path, interval: float, blas_threads: int) -> dict:
    """N students at once; their peaks, CPU and the wall time."""
    ctx = multiprocessing.get_context("spawn")  # a clean driver, as a fresh server would be
    with tempfile.TemporaryDirectory(prefix="student-load-") as tmp:
        workers, students = [], []
        for i in range(n):
            folder = Path(tmp) / f"s{i:03d}"
            folder.mkdir()
            shutil.copy(notebook, folder / notebook.name)
            workers.append(ctx.Process(target=run_notebook,
                                       args=(str(folder / notebook.name), str(folder),
                                             blas_threads)))
            students.append(Student())
        before = load_average()
        start = time.monotonic()
        for worker in workers:
            worker.start()
        while any(w.is_alive() for w in workers):
            for worker, student in zip(workers, students, strict=True):
                if worker.is_alive():
                    student.sample(worker.pid)
            time.sleep(interval)
        wall = time.monotonic() - start
        failed = [i for i, w in enumerate(workers) if w.exitcode != 0]
    return {"n": n, "wall": wall, "students": students, "failed": failed,
            "load_before": before, "load_after": load_average()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle_server(settle: float = 5.0) -> tuple[int, int]:
    """(PSS, RSS) of one idle `jupyter server` of this environment, no kernel running."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="student-server-") as tmp:
        cmd = [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.open_browser=False",
               "--IdentityProvider.token=", f"--ServerApp.root_dir={tmp}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": tmp}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if proc.poll() is not None:
                    raise RuntimeError("jupyter server exited before it listened")
                time.sleep(0.5)
            time.sleep(settle)
            return memory(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def summary(result: dict) -> str:
    students: list[Student] = result["students"]
    cpu = [sum(s.cpu.values()) for s in students]
    k_pss = [s.kernel_pss / MB for s in students]
    k_rss = [s.kernel_rss / MB for s in students]
    d_pss = [s.driver_pss / MB for s in students]
    busy = sum(cpu) / result["wall"]
    return (f"N={result['n']:>2}  wall {result['wall']:6.1f} s  "
            f"CPU/student {statistics.mean(cpu):5.1f} s  cores busy {busy:4.2f}  "
            f"kernel PSS {statistics.mean(k_pss):5.0f} MB (max {max(k_pss):.0f})  "
            f"kernel RSS {statistics.mean(k_rss):5.0f} MB  driver PSS "
            f"{statistics.mean(d_pss):4.0f} MB  load {result['load_before']} -> "
            f"{result['load_after']}" + (f"  FAILED: {result['failed']}" if result["failed"]
                                         else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--notebook", default="04", help="prefix of a notebooks/ file")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("--window", type=float, default=600,
                        help="seconds in which every student runs the notebook once (sizing)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads per kernel (a shared server sets 1: the default); "
                             "0 leaves numpy's own choice (one per core)")
    args = parser.parse_args()
    (notebook,) = sorted((ROOT / "notebooks").glob(f"{args.notebook}_*.ipynb"))
    print(f"notebook {notebook.name}; BLAS threads per kernel {args.blas_threads or 'default'}; "
          f"{os.cpu_count()} cores, "
          f"{os.sysconf('SC_PHYS_PAGES') * PAGE / 1024**3:.1f} GiB; load {load_average()}")
    server_pss, server_rss = idle_server()
    print(f"idle jupyter server: PSS {server_pss / MB:.0f} MB, RSS {server_rss / MB:.0f} MB")
    results = []
    for n in args.students:
        results.append(run_students(n, notebook, args.interval, args.blas_threads))
        print(summary(results[-1]), flush=True)
    # sizing from the largest N that ran cleanly: memory per student = idle server + kernel peak
    good = [r for r in results if not r["failed"]]
    if not good:
        return 1
    last = good[-1]
    per_student_mb = server_pss / MB + max(s.kernel_pss for s in last["students"]) / MB
    cpu = statistics.mean(sum(s.cpu.values()) for s in last["students"])
    print(f"per student (N={last['n']}): memory {per_student_mb:.0f} MB (idle server + peak "
          f"kernel PSS) -> {1024 / per_student_mb:.1f} students per GB all running at once; "
          f"CPU {cpu:.0f} s per run of {notebook.name} -> {args.window / cpu:.1f} students per "
          f"core if each runs it once in {args.window / 60:.0f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
