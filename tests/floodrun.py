"""Grade one small notebook with ``SandboxedExecute`` in a fresh process; print what it cost.

``python -m tests.floodrun <flood kind> <out.ipynb> [output budget]`` executes a notebook whose
first cell floods the grader with one kind of kernel message (``FLOODS``) and whose second cell is
a graded test that passes; it prints, as JSON, the grader's peak RSS (bytes), the size of the
executed notebook and the error names of each cell. Used by ``tests/test_budget.py``: a fresh
process per kind, so that one flood's peak memory does not hide the next one's.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from instructor.execute import SandboxedExecute

MB = 1 << 20
# Each flood sends 100 x 1 MB or 20 000 x 10 KB (100-200 MB) from the kernel, the way a
# student's cell would: big messages (dropped unread) and small ones (counted by the budget).
FLOODS = {
    "none": "x = 1\n",
    "stream": "for _ in range(100):\n    print('s' * (1 << 20))\n",
    "display_metadata": (
        "from IPython.display import display\n"
        "for _ in range(100):\n"
        "    display({'text/plain': 'ok'}, raw=True, metadata={'pad': 'm' * (1 << 20)})\n"),
    "execute_result_data": (
        "class _Big:\n"
        "    def _repr_html_(self):\n"
        "        return 'h' * (1 << 20)\n"
        "from IPython.display import display\n"
        "for _ in range(100):\n"
        "    display(_Big())\n"
        "_Big()\n"),
    "error_evalue": (
        "import sys\n"
        "from IPython import get_ipython\n"
        "_shell = get_ipython()\n"
        "for _ in range(100):\n"
        "    try:\n"
        "        raise ValueError('e' * (1 << 20))\n"
        "    except ValueError:\n"
        "        _shell.showtraceback()\n"),
    "error_traceback": (
        "from IPython import get_ipython\n"
        "_shell = get_ipython()\n"
        "for _ in range(100):\n"
        "    _shell.displayhook.session.send(_shell.displayhook.pub_socket, 'error',\n"
        "        {'ename': 'E', 'evalue': '', 'traceback': ['t' * 4096] * 256},\n"
        "        parent=_shell.kernel.get_parent(), ident=b'error')\n"),
    "comm_msg": (
        "from IPython import get_ipython\n"
        "_k = get_ipython().kernel\n"
        "for _i in range(100):\n"
        "    _k.session.send(_k.iopub_socket, 'comm_msg',\n"
        "        {'comm_id': 'c%d' % _i, 'data': {'state': {'v': 'c' * (1 << 20)}}},\n"
        "        parent=_k.get_parent(), ident=b'comm')\n"),
    "comm_open": (
        "from IPython import get_ipython\n"
        "_k = get_ipython().kernel\n"
        "for _i in range(100):\n"
        "    _k.session.send(_k.iopub_socket, 'comm_open',\n"
        "        {'comm_id': 'o%d' % _i, 'target_name': 'jupyter.widget',\n"
        "         'data': {'state': {'v': 'o' * (1 << 20)}}},\n"
        "        parent=_k.get_parent(), ident=b'comm')\n"),
    "clear_output_storm": (
        "from IPython.display import clear_output, display\n"
        "for _ in range(100):\n"
        "    display({'text/plain': 'k' * (1 << 20)}, raw=True)\n"
        "    clear_output(wait=True)\n"),
}
FLOODS["small_display_metadata"] = (
    "from IPython.display import display\n"
    "for _ in range(20_000):\n"
    "    display({'text/plain': 'ok'}, raw=True, metadata={'pad': 'm' * 10_000})\n")
for _kind in ("comm_msg", "error_evalue"):
    FLOODS[f"small_{_kind}"] = FLOODS[_kind].replace("range(100)", "range(20_000)").replace(
        "(1 << 20)", "10_000")
TEST = "assert 1 + 1 == 2\nprint('test ran')\n"


def notebook(kind: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(FLOODS[kind]), new_code_cell(TEST)])
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True,
                                        "points": 1, "schema_version": 3, "solution": False,
                                        "task": False}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def main(kind: str, out: str, budget: str | None = None) -> None:
    config = Config()
    config.SandboxedExecute.timeout = 60
    config.SandboxedExecute.wall_budget = 120
    if budget:
        config.SandboxedExecute.output_budget = int(budget)
    nb = notebook(kind)
    step = SandboxedExecute(config=config)
    nb, _ = step.preprocess(nb, {"metadata": {"path": str(Path(out).parent)}})
    nbformat.write(nb, out)
    print(json.dumps({
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "notebook_bytes": Path(out).stat().st_size,
        "errors": [[o.get("ename") for o in c.outputs if o.get("output_type") == "error"]
                   for c in nb.cells],
        "test_output": "".join(o.get("text", "") for o in nb.cells[1].outputs),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
