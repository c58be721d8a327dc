"""生きた例外とトレースバックから, :func:`common.explain.explain` の入力を取り出すアダプタ.

取り出すのはノートブックのセルのフレームだけ (テストのセル・ライブラリのフレームは捨てる) と,
打ち間違いの候補にする名前 (セルで定義された関数・クラス, モジュール, 学生の関数のローカル変数,
self の属性, 組み込み関数). テストのセルで定義された名前は候補に入れない (隠しテストの名前を
見せないため).
"""

from __future__ import annotations

import builtins
import linecache
import types
from collections.abc import Callable

from common.explain import Frame, explain

__all__ = ["student_frames", "candidate_names", "explain_exception"]

KEEP = 6  # frames kept at each end of a long (recursive) stack


def student_frames(tb: types.TracebackType | None, *, is_cell: Callable[[str], bool],
                   label: Callable[[str], str], exclude: Callable[[str], bool]
                   ) -> tuple[list[Frame], types.FrameType | None]:
    """セルのフレーム (外側から内側) と, いちばん内側のセルのフレームそのもの.

    Args:
        tb: 例外のトレースバック.
        is_cell: ファイル名がノートブックのセルなら True.
        label: セルのファイル名 → 文面で使う名前 (``"In [5]"``).
        exclude: 捨てるセル (テストのセル) なら True.
    """
    frames: list[Frame] = []
    last = None
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = code.co_filename
        if is_cell(filename) and not exclude(filename):
            line = linecache.getline(filename, tb.tb_lineno).rstrip("\n")
            frames.append(Frame(label(filename), tb.tb_lineno, line, code.co_name))
            last = tb.tb_frame
        tb = tb.tb_next
    if len(frames) > 2 * KEEP:
        frames = frames[:KEEP] + frames[-KEEP:]
    return frames, last


def _from_cell(value: object, is_cell: Callable[[str], bool]) -> bool:
    """A function or class defined in a notebook cell other than a test (by its code's file)."""
    code = getattr(value, "__code__", None)
    if isinstance(code, types.CodeType):
        return is_cell(code.co_filename)
    if isinstance(value, type):
        return any(_from_cell(item, is_cell) for item in vars(value).values()
                   if isinstance(item, types.FunctionType))
    return False


def _imported(value: object) -> bool:
    """A function or class imported from a library (numpy, common...), not made in a cell."""
    if not isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        return callable(value) and type(value).__module__.split(".")[0] == "numpy"
    module = getattr(value, "__module__", None)
    return isinstance(module, str) and module != "__main__" and module.split(".")[0] in (
        "numpy", "common", "builtins", "math", "tqdm")


def candidate_names(exc: BaseException, frame: types.FrameType | None, namespace: dict,
                    is_cell: Callable[[str], bool]) -> list[str]:
    """打ち間違いの候補: 学生の名前・モジュール・組み込み関数 (と AttributeError の相手の属性)."""
    names = [n for n in dir(builtins) if not n.startswith("_")]
    for key, value in list(namespace.items()):
        if isinstance(key, str) and (isinstance(value, types.ModuleType)
                                     or _imported(value) or _from_cell(value, is_cell)):
            names.append(key)
    if frame is not None:
        local = frame.f_locals
        names += [k for k in local if isinstance(k, str)]
        owner = local.get("self")
        if owner is not None:
            try:
                names += [f"self.{a}" for a in object.__dir__(owner) if not a.startswith("_")]
            except Exception:  # noqa: BLE001 - a student's object
                pass
    if isinstance(exc, AttributeError):
        target = getattr(exc, "obj", None)
        try:
            if isinstance(target, types.ModuleType):
                names += [n for n in vars(target) if not n.startswith("_")]
            elif target is not None:
                names += [a for a in object.__dir__(target) if not a.startswith("_")]
        except Exception:  # noqa: BLE001 - a student's object
            pass
    return names


def explain_exception(exc: BaseException, *, is_cell: Callable[[str], bool],
                      label: Callable[[str], str], exclude: Callable[[str], bool],
                      namespace: dict, called: str | None = None,
                      inputs: str | None = None) -> str:
    """生きた例外の日本語の説明 (:func:`common.explain.explain` の文面).

    ``called`` と ``inputs`` はテストが呼んだ関数とその入力の説明 (explain にそのまま渡す).
    """
    frames, inner = student_frames(exc.__traceback__, is_cell=is_cell, label=label,
                                   exclude=exclude)
    names = candidate_names(exc, inner, namespace, is_cell)
    if type(exc).__name__ == "AttributeError" and inner is not None:
        # self.W -> W: the attribute names are compared without the "self." prefix
        names += [n[5:] for n in names if n.startswith("self.")]
    message = str(exc) if not isinstance(exc, KeyError) else repr(exc.args[0]) if exc.args \
        else ""
    return explain(type(exc).__name__, message, frames, called, names, inputs)
