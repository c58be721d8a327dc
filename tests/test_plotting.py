"""common.plotting: Japanese text renders without missing glyphs, and what each figure draws."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")  # before pyplot; harmless when MPLBACKEND=Agg is already set

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib_fontja  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Poly3DCollection  # noqa: E402

from common.plotting import (  # noqa: E402
    plot_descent_path,
    plot_gradient_field,
    plot_learning_curves,
    plot_lr_comparison,
    plot_lr_sweep,
    plot_surface,
    plot_tangent,
    show_images,
)

MINUS = "\u2212"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(fig: Figure) -> bytes:
    """Draw fig to PNG with every warning (e.g. 'Glyph ... missing from font') an error."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buf, format="png", dpi=50)
    data = buf.getvalue()
    assert data.startswith(b"\x89PNG")
    return data


def function_2(x):
    """The book's form: indexes one point of shape (2,); not vectorised over a grid."""
    assert x.shape == (2,) and x.dtype == np.float64, (x.shape, x.dtype)
    return x[0] ** 2 + x[1] ** 2


def grad_2(x):
    assert x.shape == (2,), x.shape
    return np.array([2.0 * x[0], 2.0 * x[1]])


def _japanese_figure() -> Figure:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([-3.0, 0.0, 2.0], [-1.5, 0.0, 1.0], label="訓練データの損失")
    ax.set_title("学習率と認識精度")
    ax.set_xlabel("エポック")
    ax.set_ylabel("損失")
    ax.legend()
    return fig


# --- the font ---------------------------------------------------------------------------

def test_import_registers_japanese_font_and_nothing_else():
    code = (
        "import json, matplotlib\n"
        "before = dict(matplotlib.rcParams)\n"
        "import common.plotting\n"
        "after = dict(matplotlib.rcParams)\n"
        "print(json.dumps({'changed': sorted(k for k in after if after[k] != before[k]),\n"
        "                  'family': after['font.family'], 'backend': matplotlib.get_backend()}))\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg", "PYTHONUTF8": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout)
    assert result == {"changed": ["font.family"], "family": ["IPAexGothic"], "backend": "svg"}


def test_font_family_resolves_to_the_bundled_ipaex_gothic():
    path = font_manager.findfont(
        font_manager.FontProperties(family=matplotlib.rcParams["font.family"]),
        fallback_to_default=False)
    assert os.path.samefile(path, matplotlib_fontja.get_font_ttf_path())


def test_font_has_the_unicode_minus_so_it_stays_enabled():
    charmap = FT2Font(matplotlib_fontja.get_font_ttf_path()).get_charmap()
    assert ord(MINUS) in charmap and ord("学") in charmap
    assert matplotlib.rcParams["axes.unicode_minus"] is True


def test_japanese_text_and_minus_render_without_warnings():
    fig = _japanese_figure()
    _render(fig)  # raises on any warning, 'Glyph ... missing from font(s)' included
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() + fig.axes[0].get_yticklabels()]
    assert any(t.startswith(MINUS) for t in ticks), ticks


def test_render_check_would_catch_a_font_without_japanese_glyphs():
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig = _japanese_figure()
        with pytest.raises(UserWarning, match="missing from font"):
            _render(fig)


# --- the figures -------------------------------------------------------------------------

def test_plot_surface_evaluates_f_point_by_point_in_3d():
    calls = []

    def f(x):
        calls.append(x.copy())
        return function_2(x)

    ax = plot_surface(f, num=7, title="f(x0, x1) = x0² + x1²")
    assert isinstance(ax, Axes) and ax.name == "3d"
    assert len(calls) == 49
    assert {tuple(c) for c in calls} >= {(-3.0, -3.0), (3.0, 3.0), (-3.0, 3.0), (0.0, 0.0)}
    assert any(isinstance(c, Poly3DCollection) for c in ax.collections)
    assert ax.get_zlim()[1] >= 18.0  # max of x0² + x1² on the default [-3, 3]²
    assert ax.get_title() == "f(x0, x1) = x0² + x1²"
    _render(ax.figure)


def test_plot_surface_accepts_only_a_3d_axes():
    fig = plt.figure()
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    assert plot_surface(function_2, num=5, ax=ax3d) is ax3d
    with pytest.raises(ValueError, match="3d"):
        plot_surface(function_2, num=5, ax=fig.add_subplot(1, 2, 2))


def test_plot_gradient_field_draws_minus_gradient_arrows():
    ax = plot_gradient_field(grad_2, num=9, title="勾配")
    assert isinstance(ax, Axes)
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    assert quiver.N == 81
    np.testing.assert_allclose(quiver.U, -2.0 * quiver.X)
    np.testing.assert_allclose(quiver.V, -2.0 * quiver.Y)
    assert quiver.X.min() == -2.0 and quiver.Y.max() == 2.0
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_xlabel() == "x0" and ax.get_ylabel() == "x1"
    _render(ax.figure)


def test_plot_tangent_draws_f_tangent_and_point():
    def f(x):
        assert isinstance(x, float)
        return 0.01 * x**2 + 0.1 * x

    def tangent(t):
        assert isinstance(t, float)
        return 0.2 * t - 0.25

    ax = plot_tangent(f, 5.0, tangent)
    assert isinstance(ax, Axes)
    curve, line, point = ax.lines
    t = curve.get_xdata()
    assert t[0] == 0.0 and t[-1] == 20.0
    np.testing.assert_allclose(curve.get_ydata(), 0.01 * t**2 + 0.1 * t)
    np.testing.assert_allclose(line.get_ydata(), 0.2 * line.get_xdata() - 0.25)
    np.testing.assert_allclose(point.get_xydata(), [[5.0, 0.75]])
    assert len(ax.get_legend().get_texts()) == 3
    _render(ax.figure)


def test_plot_descent_path_line_is_the_history():
    history = np.array([[-3.0, 4.0], [-2.4, 3.2], [-1.92, 2.56], [-1.536, 2.048]])
    ax = plot_descent_path(history, f=lambda x: np.sum(x**2), title="学習率 0.1")
    assert isinstance(ax, Axes)
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), history)
    assert any(isinstance(c, ContourSet) for c in ax.collections)
    assert ax.get_legend() is not None and ax.get_xlim() == (-4.0, 4.0)
    _render(ax.figure)

    plain = plot_descent_path(history)
    assert not any(isinstance(c, ContourSet) for c in plain.collections)
    with pytest.raises(ValueError, match="steps, 2"):
        plot_descent_path(history.ravel())


def test_plot_lr_comparison_one_panel_per_learning_rate():
    rng = np.random.default_rng(0)
    histories = {f"学習率 {lr}": rng.normal(size=(5, 2)) for lr in (0.1, 10.0, 1e-10)}
    fig = plot_lr_comparison(histories, f=function_2)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    for ax, (label, history) in zip(fig.axes, histories.items(), strict=True):
        assert ax.get_title() == label
        np.testing.assert_array_equal(ax.lines[0].get_xydata(), history)
    _render(fig)


def test_plot_lr_sweep_is_log_log():
    lrs = np.array([1e-4, 1e-2, 1.0, 10.0])
    final = np.array([24.0, 0.5, 25.0, 6.7e24])
    fig, given = plt.subplots()
    ax = plot_lr_sweep(lrs, final, ax=given, title="学習率の比較")
    assert ax is given
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), np.column_stack([lrs, final]))
    assert ax.get_xlabel() == "学習率"
    _render(fig)
    with pytest.raises(ValueError):
        plot_lr_sweep(lrs, final[:3])


def test_plot_learning_curves_has_loss_and_accuracy_panels():
    history = {"train_loss": [2.3, 1.9, 1.2, 0.8, 0.5, 0.4],
               "train_acc": [0.1, 0.8, 0.9], "test_acc": [0.1, 0.75, 0.88]}
    fig = plot_learning_curves(history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    np.testing.assert_array_equal(loss_ax.lines[0].get_ydata(), history["train_loss"])
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel()) == ("反復回数", "損失")
    assert (acc_ax.get_xlabel(), acc_ax.get_ylabel()) == ("エポック", "認識精度")
    train, test = acc_ax.lines
    np.testing.assert_array_equal(train.get_ydata(), history["train_acc"])
    np.testing.assert_array_equal(test.get_ydata(), history["test_acc"])
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["訓練データ", "テストデータ"]
    _render(fig)


@pytest.mark.parametrize("shape", [(7, 784), (7, 28, 28), (7, 1, 28, 28)])
def test_show_images_one_axes_per_image(shape):
    images = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    titles = [f"正解 {i}" for i in range(7)]
    fig = show_images(images, titles, ncols=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 7
    for i, ax in enumerate(fig.axes):
        (im,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
        np.testing.assert_array_equal(im.get_array(), images[i].reshape(28, 28))
        assert ax.get_title() == titles[i]
    _render(fig)


def test_show_images_rejects_wrong_number_of_titles():
    with pytest.raises(ValueError, match="titles"):
        show_images(np.zeros((3, 784)), ["a", "b"])
