"""ノートブックで描く図 (曲面・勾配の場・降下の軌跡・学習率の比較・学習曲線・画像).

import すると matplotlib-fontja が日本語フォント IPAexGothic を登録し ``font.family`` に
設定する (matplotlib-fontja 1.1.0 は import 時に ``japanize()`` を実行する). 変更する
グローバル設定はこれだけで, バックエンドは変えない. IPAexGothic はマイナス記号 U+2212 を
持つので ``axes.unicode_minus`` は既定 (True) のままでよい.

関数 f は本と同じく 1 点ずつ受け取る形 (``def function_2(x): return x[0]**2 + x[1]**2``)
でよい: 格子の各点で別々に呼ぶ. どの関数も Axes か Figure を返し, ``plt.show()`` は呼ばない.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import matplotlib_fontja  # noqa: F401  (import 時に日本語フォントを登録・設定する)
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "plot_surface",
    "plot_gradient_field",
    "plot_tangent",
    "plot_descent_path",
    "plot_lr_comparison",
    "plot_lr_sweep",
    "plot_learning_curves",
    "show_images",
]

_FIGSIZE = (5.0, 4.0)


def _pointwise(f: Callable, points: np.ndarray) -> np.ndarray:
    """f を points の 1 点ずつに適用する. points: (M,) のスカラー列 または (M, 2) の点列.

    スカラーは float, 点は新しい float64 配列 (2,) として渡す. 戻り値: (M,) + f の出力の形.
    """
    values = [f(float(p)) if np.ndim(p) == 0 else f(np.array(p, dtype=float)) for p in points]
    return np.array(values, dtype=float)


def _grid(f: Callable, xlim: tuple, ylim: tuple, num: int):
    """num×num の格子 X0, X1 (num, num) と, 各点での f の値 (num, num) + f の出力の形."""
    x0, x1 = np.meshgrid(np.linspace(*xlim, num), np.linspace(*ylim, num))
    values = _pointwise(f, np.column_stack([x0.ravel(), x1.ravel()]))
    return x0, x1, values.reshape(x0.shape + values.shape[1:])


def _axes(ax: Axes | None, title: str | None, projection: str | None = None) -> Axes:
    """ax が None なら新しい図に Axes を作る. title があれば付ける."""
    if ax is None:
        ax = plt.figure(figsize=_FIGSIZE, layout="constrained").add_subplot(projection=projection)
    if title is not None:
        ax.set_title(title)
    return ax


def _xy_labels(ax: Axes, xlim: tuple, ylim: tuple) -> None:
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")


def plot_surface(f: Callable, *, xlim=(-3, 3), ylim=(-3, 3), num: int = 40,
                 ax: Axes | None = None, title: str | None = None) -> Axes:
    """2 変数関数 f のグラフを 3 次元の曲面で描く.

    f: 形 (2,) の float 配列 → float. 格子は num×num 点. ax を渡すなら projection="3d".
    戻り値: 3 次元の Axes.
    """
    if ax is not None and ax.name != "3d":
        raise ValueError('plot_surface には projection="3d" の Axes を渡してください.')
    ax = _axes(ax, title, projection="3d")
    x0, x1, z = _grid(f, xlim, ylim, num)
    ax.plot_surface(x0, x1, z, cmap="viridis", alpha=0.85)
    _xy_labels(ax, xlim, ylim)
    ax.set_zlabel("f(x)")
    return ax


def plot_gradient_field(grad_f: Callable, *, xlim=(-2, 2), ylim=(-2, 2), num: int = 15,
                        ax: Axes | None = None, title: str | None = None) -> Axes:
    """勾配にマイナスを付けたベクトル -grad_f(x) を num×num の格子点に矢印で描く.

    grad_f: 形 (2,) → 形 (2,). 戻り値: Axes (矢印は ax.collections の Quiver, num*num 本).
    """
    ax = _axes(ax, title)
    x0, x1, g = _grid(grad_f, xlim, ylim, num)
    ax.quiver(x0, x1, -g[..., 0], -g[..., 1], angles="xy", color="#555555")
    _xy_labels(ax, xlim, ylim)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.4)
    return ax


def plot_tangent(f: Callable, x: float, tangent: Callable, *, xlim=(0.0, 20.0),
                 ax: Axes | None = None, title: str | None = None) -> Axes:
    """1 変数関数 f と, 点 x での接線 tangent を重ねて描き, 点 (x, f(x)) に印を付ける.

    f, tangent: float → float (1 点ずつ呼ぶ). 戻り値: Axes (線 2 本 + 点 1 つ).
    """
    ax = _axes(ax, title)
    t = np.linspace(*xlim, 201)
    ax.plot(t, _pointwise(f, t), label="f(x)")
    ax.plot(t, _pointwise(tangent, t), "--", label="接線")
    ax.plot([x], [f(float(x))], "o", color="C3", label=f"接点 x = {x:g}")
    ax.set_xlim(xlim)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend()
    return ax


def plot_descent_path(history, *, f: Callable | None = None, xlim=(-4, 4), ylim=(-4, 4),
                      ax: Axes | None = None, title: str | None = None) -> Axes:
    """勾配降下法で x がたどった点を線で結ぶ. f があれば等高線を下に描く.

    history: (steps, 2) の位置 (1 行目が初期値). f: 形 (2,) → float.
    戻り値: Axes (ax.lines[0] が軌跡: x データ history[:, 0], y データ history[:, 1]).
    """
    history = np.asarray(history, dtype=float)
    if history.ndim != 2 or history.shape[1] != 2:
        raise ValueError(f"history は形 (steps, 2) の配列にしてください (来た形: {history.shape}).")
    ax = _axes(ax, title)
    ax.plot(history[:, 0], history[:, 1], "o-", markersize=3, label="x の軌跡")
    ax.plot(*history[0], "s", color="C2", label="初期値")
    ax.plot(*history[-1], "*", color="C3", markersize=12, label="最後の x")
    if f is not None:
        x0, x1, z = _grid(f, xlim, ylim, 50)
        ax.contour(x0, x1, z, levels=12, cmap="Greys", linewidths=0.8)
    ax.axhline(0, color="0.7", lw=0.8, ls="--")
    ax.axvline(0, color="0.7", lw=0.8, ls="--")
    _xy_labels(ax, xlim, ylim)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_lr_comparison(histories: Mapping, *, f: Callable | None = None, xlim=(-4, 4),
                       ylim=(-4, 4)) -> Figure:
    """学習率ごとの降下の軌跡を横に並べて描く (1 項目 1 パネル, 見出しは辞書のキー).

    histories: ラベル → (steps, 2) の配列 の辞書. f: 形 (2,) → float (等高線, 省略可).
    戻り値: Figure (Axes は len(histories) 個).
    """
    n = len(histories)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.8), squeeze=False, layout="constrained")
    for ax, (label, history) in zip(axes[0], histories.items(), strict=True):
        plot_descent_path(history, f=f, xlim=xlim, ylim=ylim, ax=ax, title=str(label))
    return fig


def plot_lr_sweep(lrs, final_values, *, ax: Axes | None = None,
                  title: str | None = None) -> Axes:
    """学習率と, その学習率で学習した後の値 (例: 最後の x での f) を両対数で描く.

    lrs: (K,), final_values: (K,). 戻り値: Axes (x 軸・y 軸とも log).
    """
    lrs, final_values = np.asarray(lrs, dtype=float), np.asarray(final_values, dtype=float)
    if lrs.ndim != 1 or lrs.shape != final_values.shape:
        raise ValueError(f"lrs と final_values は同じ長さの 1 次元配列にしてください "
                         f"(来た形: {lrs.shape} と {final_values.shape}).")
    ax = _axes(ax, title)
    ax.loglog(lrs, final_values, "o-")
    ax.set_xlabel("学習率")
    ax.set_ylabel("学習後の f(x)")
    ax.grid(True, which="major", alpha=0.4)
    return ax


def plot_learning_curves(history: Mapping[str, Sequence[float]]) -> Figure:
    """学習曲線を 2 枚のパネルに描く: 左が損失 (反復ごと), 右が認識精度 (エポックごと).

    history: "train_loss" (iters,), "train_acc" (epochs,), "test_acc" (epochs,).
    精度の横軸は記録の番号 0, 1, ... (epochs - 1). 戻り値: Figure (Axes 2 個).
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.6), layout="constrained")
    ax_loss.plot(np.asarray(history["train_loss"], dtype=float), lw=0.8, label="訓練データ")
    ax_loss.set_xlabel("反復回数")
    ax_loss.set_ylabel("損失")
    ax_loss.legend()
    curves = [("train_acc", "訓練データ", "-o"), ("test_acc", "テストデータ", "--s")]
    for key, label, style in curves:
        acc = np.asarray(history[key], dtype=float)
        ax_acc.plot(np.arange(acc.size), acc, style, markersize=4, label=label)
    ax_acc.set_xlabel("エポック")
    ax_acc.set_ylabel("認識精度")
    ax_acc.set_ylim(0.0, 1.0)
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.legend(loc="lower right")
    return fig


def show_images(images, titles: Sequence[str], *, ncols: int = 5) -> Figure:
    """画像を ncols 列に並べ, それぞれに見出しを付けて表示する (グレースケール).

    images: (N, 784) または (N, 28, 28) または (N, 1, 28, 28). titles: N 個の文字列.
    戻り値: Figure (画像の Axes がちょうど N 個).
    """
    images = np.asarray(images)
    n = images.shape[0]
    side = int(round(np.sqrt(images[0].size)))
    if n == 0 or side * side != images[0].size or len(titles) != n:
        raise ValueError(f"images は (N, 784), (N, 28, 28), (N, 1, 28, 28) のいずれか, titles は "
                         f"N 個にしてください (来た形: {images.shape}, titles {len(titles)} 個).")
    images = images.reshape(n, side, side)
    cols = min(ncols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False,
                             layout="constrained")
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.remove()
            continue
        ax.imshow(images[i], cmap="gray")
        ax.set_title(str(titles[i]), fontsize="small")
        ax.set_axis_off()
    return fig
