"""Figures of the report, drawn with matplotlib in the course's Japanese font, as PNG data URIs.

A data URI (``data:image/png;base64,...``) is put straight into ``<img src>``, so the page needs
no other file and no network. ``Figure`` objects are used directly (not pyplot): no backend is
chosen and no global figure state is left behind. Margins are fixed rather than computed by a
layout engine (constrained layout draws each figure twice: 0.4 s instead of 0.2 s a figure).
"""

from __future__ import annotations

import base64
import io

import matplotlib_fontja  # noqa: F401  (the course's Japanese font, as in common.plotting)
import numpy as np
from matplotlib.figure import Figure

DPI = 100


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_histogram(scores: list[float], max_score: float, title: str) -> str:
    """Histogram of the totals ``scores`` (n,) on 0..max_score, with the mean and the median."""
    fig = Figure(figsize=(5.0, 3.0))
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.16, top=0.9)
    ax = fig.add_subplot()
    top = max([max_score, *scores, 1.0])
    if top <= 40 and float(top).is_integer():  # one bar per point
        bins = np.arange(0.0, top + 2.0) - 0.5
    else:
        bins = np.linspace(0.0, top, 21)
    counts, _, _ = ax.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    if scores:
        ax.axvline(float(np.mean(scores)), color="C3", ls="--", label=f"平均 {np.mean(scores):.1f}")
        ax.axvline(float(np.median(scores)), color="C2", ls=":",
                   label=f"中央値 {np.median(scores):g}")
        ax.legend(loc="upper left", fontsize="small", framealpha=0.95)
    ax.set_ylim(0, 1.3 * max([*counts, 1.0]) + 0.3)  # room for the legend above the bars
    ax.set_xlim(bins[0], bins[-1])
    ax.set_xlabel(f"得点 (満点 {max_score:g})")
    ax.set_ylabel("人数")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    return _data_uri(fig)


def pass_rates(tests: list[str], rates: list[float], title: str) -> str:
    """Horizontal bars: the pass rate (0..1) of each test, the first test on top."""
    width, height = 5.0, 1.0 + 0.32 * max(len(tests), 1)
    fig = Figure(figsize=(width, height))
    label_inches = 0.2 + 0.058 * max([len(t) for t in tests] or [0])  # "small" font
    fig.subplots_adjust(left=min(0.55, label_inches / width), right=0.93,
                        bottom=0.55 / height, top=1 - 0.4 / height)
    fig.suptitle(title, y=1 - 0.08 / height, va="top")
    ax = fig.add_subplot()
    y = np.arange(len(tests))
    percent = 100.0 * np.asarray(rates, dtype=float)
    ax.barh(y, percent, color=["#c44e52" if r < 50 else "#55a868" for r in percent])
    for yi, r in zip(y, percent, strict=True):
        inside = r > 80  # the label inside the end of a long bar, else just after it
        ax.text(r - 1.5 if inside else r + 1.5, yi, f"{r:.0f}%", va="center",
                ha="right" if inside else "left", fontsize="small",
                color="white" if inside else "black")
    ax.set_yticks(y, tests, fontsize="small")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("正答率 (%)")
    return _data_uri(fig)
