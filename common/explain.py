"""学生のコードで起きたエラーを, 日本語の短い説明 (何が起きたか・どの行か・どう直すか) にする.

:func:`explain` は純粋な関数: 例外の型の名前, メッセージ, 学生のセルのフレーム (外側から内側の順),
テストが呼んだ関数の名前だけから文面を作る. 例外オブジェクトもトレースバックも要らないので,
テストを別のプロセスで実行するときも, 学生のカーネルの中でも同じように使える.
フレームには学生のセルの行だけを入れる (テストのコードは決して入れない).

Example (what a separate test process does with an error sent back from the student's process)::

    text = explain("AttributeError", "module 'numpy' has no attribute 'zero_like'",
                   [Frame("In [5]", 3, "    grad = np.zero_like(x)", "numerical_gradient")],
                   "numerical_gradient")
    raise CheckFailed(text)   # common.testing.CheckFailed: the feedback shows only this text

For a live exception in the student's own kernel, :mod:`common.cellframes` extracts the frames
and the candidate names, and :func:`common.testing.explained` makes the CheckFailed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

__all__ = ["Frame", "NOT_ANSWERED", "explain", "not_answered"]

MAX_MESSAGE = 160  # characters of the original error message quoted


class Frame(NamedTuple):
    """学生のセルの 1 フレーム.

    cell: セルの名前 (例 ``"In [5]"`` や grade_id). line: セルの中の行番号 (1 から).
    source: その行のソース. function: その行を含む関数の名前 (``"<module>"``, ``"<lambda>"`` も).
    """

    cell: str
    line: int
    source: str
    function: str = ""


NOT_ANSWERED = "まだ解答していません"  # how every "not answered yet" message starts


def not_answered(function: str | None) -> str:
    """NotImplementedError (解答欄のまま) の文面."""
    where = f"{function} の" if function else "解答欄の"
    return (f"{NOT_ANSWERED}: {where}中の raise NotImplementedError() を消して, "
            "コードを書いてください。")


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    """The nearest candidate (two when they are as near: ``"random (または randn)"``)."""
    pool = sorted({c for c in candidates if c and c != word and not c.startswith("__")})
    found = difflib.get_close_matches(word, pool, n=2, cutoff=0.75 if len(word) > 3 else 0.6)
    if not found:  # case only (Zeros -> zeros)
        found = [c for c in pool if c.lower() == word.lower()][:1]
    if len(found) == 2:
        ratios = [difflib.SequenceMatcher(None, word, c).ratio() for c in found]
        if ratios[0] - ratios[1] > 0.02:
            found = found[:1]
    return found[0] if len(found) == 1 else f"{found[0]} (または {found[1]})" if found else None


def _numpy_names(module: str) -> list[str]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency of common
        return []
    target = {"numpy": np, "numpy.random": np.random, "numpy.linalg": np.linalg}.get(module)
    return [n for n in dir(target) if not n.startswith("_")] if target is not None else []


def _quote(name: str) -> str:
    return name if name.isascii() else f"{name} (全角の文字を含みます)"


# names the book uses where this course's signatures use others
BOOK_NAMES = {
    "dout": ("dout は書籍のレイヤの backward の引数の名前です。"
             "この課題の backward の引数は dy です。",
             "dout を dy に直してください。"),
}


def _name_error(message: str, names: Sequence[str]) -> tuple[str, str]:
    m = re.search(r"'([^']+)'", message)
    name = m.group(1) if m else ""
    if "local variable" in message or "before assignment" in message:
        return (f"関数の中で {name} に代入しているので, {name} はその関数のローカル変数に"
                "なり, 代入より前の行では値がありません。",
                f"引数を使うか, 先に {name} = ... で値を作ってから使ってください"
                " (x -= ... も代入です)。")
    if not name.isascii():
        return (f"名前 {name} に全角の文字が入っています (日本語入力のまま打った文字)。",
                "半角英数字で打ち直してください。")
    if name == "np":
        return ("np (NumPy) が import されていません。",
                "最初のセル (import numpy as np) を先に実行してください。")
    if name in BOOK_NAMES:
        return BOOK_NAMES[name]
    if name == "self":
        return ("self はメソッドの 1 番目の引数です。",
                "def メソッド名(self, ...) と self を引数に書いてください。")
    if f"self.{name}" in names:
        return (f"{name} はローカル変数ではなく, self.{name} に保存した属性です。",
                f"{name} を self.{name} に直してください (self. の付け忘れ)。")
    close = _closest(name, [n for n in names if not n.startswith("self.")])
    if close:
        return (f"{name} という名前はありません。{close} の打ち間違いではありませんか?",
                f"{name} を {close} に直してください。")
    return (f"{name} という名前はまだ定義されていません (スペルの違い, 定義したセルを"
            "実行していない, 関数の中だけの変数を外で使っている, など)。",
            f"{name} を定義しているセルを上から順に実行したか, スペルを確かめてください。")


def _attribute_error(message: str, names: Sequence[str], in_student_code: bool = True
                     ) -> tuple[str, str]:
    m = re.match(r"(?:module|type object) '([^']+)' has no attribute '([^']+)'", message)
    if m:
        module, attr = m.groups()
        close = _closest(attr, list(names) + _numpy_names(module))
        short = {"numpy": "np", "numpy.random": "np.random"}.get(module, module)
        if close:
            return (f"{short} に {_quote(attr)} はありません。{short}.{close} の打ち間違い"
                    "ではありませんか?", f"{short}.{attr} を {short}.{close} に直してください。")
        return (f"{short} に {_quote(attr)} という関数はありません。",
                "関数の名前を NumPy のリファレンスや講義ノートで確かめてください。")
    m = re.match(r"'([^']+)' object has no attribute '([^']+)'", message)
    kind, attr = m.groups() if m else ("", "")
    if kind == "NoneType":
        return ("None の属性を使おうとしました。値を返すはずの関数が何も返していません。",
                "その値を作る関数 (メソッド) の最後に return を書いてください。")
    if kind in ("list", "tuple") and attr in ("shape", "ndim", "size", "T", "dtype", "reshape",
                                              "sum", "copy", "astype"):
        return (f"{kind} には {attr} がありません。NumPy の配列が必要なところに {kind} が"
                "使われています。", "np.array(...) で配列にしてから使ってください。")
    if kind == "numpy.ndarray" and attr == "append":
        return ("NumPy の配列には append がありません。",
                "list に append してから np.array(...) で配列にするか, np.zeros で先に"
                "大きさの決まった配列を作って要素に代入してください。")
    if kind == "dict":
        return (f"dict のキーは . では取り出せません ({attr} という属性はありません)。",
                f'params["{attr}"] のように [] でキーを指定してください。')
    close = _closest(attr, names)
    if close and not in_student_code:
        return (f"テストは {kind} の {attr} を使いますが, {close} という名前になっています。",
                f"課題の説明どおり {close} を {attr} に直してください。")
    if close:
        return (f"{kind} に {_quote(attr)} はありません。{close} と名前が違います。",
                "課題の説明にある名前にそろえてください。")
    if kind and attr:
        return (f"{kind} のオブジェクトに {attr} がありません。",
                f"__init__ や forward で self.{attr} = ... と保存していますか"
                " (self. を付けないとローカル変数になって消えます)?")
    return ("存在しない属性を使おうとしました。", "名前のスペルを確かめてください。")


def _index_error(message: str, sources: str) -> tuple[str, str]:
    if re.search(r"\[\s*0\s*\*\s*len\(", sources) or "list assignment" in message:
        return ("list の長さより後ろの位置に代入しようとしました。[0*len(x)] は長さ 1 の"
                " list, [0] * len(x) は整数の list です。",
                "結果を入れる配列は np.zeros_like(x) (x が float の配列なら float) で"
                "作ってください。")
    if "too many indices" in message:
        return ("配列の次元より多くの添字を使いました (1 次元の配列に [i, j] など)。",
                "配列の shape を print して, 1 次元か 2 次元かを確かめてください。")
    if "out of bounds" in message or "out of range" in message:
        return ("配列 (list) の長さを超える位置を使いました。",
                "ループの範囲 (range(x.size) など) と配列の長さ・向きを確かめてください。")
    return ("添字が配列の範囲外です。", "ループの範囲と配列の shape を確かめてください。")


def _type_error(message: str, sources: str) -> tuple[str, str]:
    m = re.search(r"(\w+)\(\) takes (\d+) positional arguments? but (\d+) (?:were|was) given",
                  message)
    if m:
        func, takes, given = m.groups()
        if int(given) == int(takes) + 1:
            return (f"{func} に引数が 1 つ多く渡されました。",
                    f"メソッドなら def {func}(self, ...) と 1 番目に self を書き, "
                    "呼び出し側の引数の数と定義を見比べてください。")
        return (f"{func} は {takes} 個の引数をとりますが {given} 個渡されました。",
                "関数の定義 (def の行) と呼び出しの引数の数を見比べてください。")
    m = re.search(r"(\w+)\(\) missing (\d+) required (?:positional|keyword-only) "
                  r"arguments?: (.+)$", message)
    if m:
        func, _, missing = m.groups()
        return (f"{func} を呼ぶときに引数 {missing} が足りません。",
                "課題の説明にある引数 (とその既定値) のとおりに def を書き, "
                "呼び出し側と見比べてください。")
    if "got an unexpected keyword argument" in message:
        m = re.search(r"(\w+)\(\) got an unexpected keyword argument '(\w+)'", message)
        func, kw = m.groups() if m else ("関数", "?")
        return (f"{func} に {kw}= という引数がありません。",
                f"課題の説明どおり def {func}(..., {kw}=...) と引数を定義してください。")
    if "NoneType" in message:
        return ("None が計算に使われました。値を返すはずの関数が何も返していません。",
                "その関数の最後に return を書いてください (print では値は返りません)。")
    m = re.search(r"'([\w.]+)' object is not callable", message)
    if m:
        kind = m.group(1)
        extra = ""
        if kind in ("int", "float"):
            extra = " 2(x + 1) のように掛け算の * を書き忘れていませんか?"
        return (f"関数ではない値 ({kind}) を関数として呼び出しました。関数と同じ名前の変数に"
                "値を代入して, 関数を上書きしていませんか?" + extra,
                "変数の名前を関数の名前と別にしてください。")
    if re.search(r"can't multiply sequence|can only concatenate list|"
                 r"unsupported operand type\(s\) for .*'list'", message):
        return ("list で計算しようとしました。list の + は連結, * は繰り返しで, 要素ごとの"
                "計算にはなりません。",
                "np.array(...) で NumPy の配列にしてから計算してください。")
    if "cannot be interpreted as an integer" in message or "integer scalar arrays" in message \
            or "indices must be integers" in message:
        return ("整数が必要なところ (range や添字) に小数や配列を使いました。",
                "// (整数の割り算) や int(...) で整数にしてください。")
    if "not subscriptable" in message:
        return ("[] で要素を取り出せない値に [] を使いました。",
                "その変数が配列や dict になっているか (関数そのものではないか) を確かめて"
                "ください。")
    return ("値の型 (数, 配列, list, 関数など) が合わない使い方をしました。",
            "その行の変数の型を print(type(...)) で確かめてください。")


def _value_error(message: str, sources: str) -> tuple[str, str]:
    if re.search(r"not aligned|mismatch in its core dimension|could not be broadcast|"
                 r"shapes? .* (?:and|vs) ", message):
        return ("配列の shape が合わない積や和を計算しました。",
                "各配列の shape を書き出して, 積の順番 (x @ W か W @ x か), 転置 .T, "
                "keepdims を確かめてください。")
    if "truth value of an array" in message:
        return ("配列 (要素が複数) を if や and/or で真偽として使いました。",
                "要素ごとに比べるなら np.all(...) や np.any(...) を使ってください。")
    if "setting an array element with a sequence" in message:
        return ("配列の 1 つの要素に, 配列 (や list) を入れようとしました。",
                "右辺が 1 つの数になっているか (f が数を返すか) を確かめてください。")
    if "axis" in message and "out of bounds" in message:
        return (_AXIS, _AXIS_FIX)
    if "too many values to unpack" in message or "not enough values to unpack" in message:
        return ("戻り値を受け取る変数の数と, 返した値の数が違います。",
                "return の値の数 (例: return x, history) を課題の説明と見比べてください。")
    return ("値の中身 (shape や範囲) がこの計算に合いません。",
            "その行で使っている配列の shape と値を確かめてください。")


_AXIS = "配列にない軸 (axis) を指定しました (1 次元の配列に axis=1 など)。"
_AXIS_FIX = ("t がラベル (1 次元) のときは argmax をとらずにそのまま比べます (書籍の accuracy は"
             " t を one-hot としますが, この課題ではラベルも受け付けます)。"
             "t.ndim で見分けてください。")


def _key_fix(key: str) -> str:
    if key.strip("'\"") in ("W1", "b1", "W2", "b2"):
        return ("書籍の train はキー ('W1', 'b1', 'W2', 'b2') を並べて書きますが, この課題の"
                " train は params のキーが違うネットワークも学習できるように, "
                "for key in network.params: でループします。")
    return "キーを決め打ちせず, 渡された dict のキー (for key in d: など) を使ってください。"


def _zero_division(message: str, sources: str) -> tuple[str, str]:
    if "modulo" in message:
        return ("0 で割った余り (% 0) を計算しました。",
                "iter_per_epoch = max(train_size // batch_size, 1) のように 0 にならない"
                "ようにしてください。")
    return ("0 で割りました。", "分母 (h や 2 * h, サンプル数) が 0 になっていないか確かめて"
                               "ください。")


def _recursion(frames: Sequence[Frame]) -> tuple[str, str]:
    func = frames[-1].function if frames else "関数"
    return (f"{func} が自分自身を呼び続けて止まりません。",
            f"{func} の中で, 同じ名前の {func} (自分自身) を呼んでいないか確かめてください。"
            "ライブラリの関数を呼ぶつもりなら名前を変えるか common から import した名前を"
            "使ってください。")


def explain(exc_type: str, message: str, frames: Sequence[Frame], called: str | None = None,
            names: Sequence[str] = (), inputs: str | None = None) -> str:
    """学生のコードで起きた例外の, 日本語の説明 (5 行ほど).

    Args:
        exc_type: 例外の型の名前 (``"NameError"`` など).
        message: 例外のメッセージ (``str(exc)``).
        frames: 学生のセルのフレーム, 外側 (テストが呼んだ関数) から内側 (エラーの行) の順.
            空なら, エラーはテストが学生の戻り値を使ったところで起きたとみなす.
        called: テストが呼んだ学生の関数の名前 (省略時は ``frames[0].function``).
        names: 打ち間違いの候補として比べる名前 (学生の変数, 関数, 属性の名前).
        inputs: テストが渡した入力の短い説明 (例 ``"x = shape (5, 4) の配列"``).
            あれば 2 行目に「入力: ...」として書く (未回答の文面には書かない).
    Returns:
        表示する文面 (改行区切り). テストのコードは含まない.
    """
    called = called or (frames[0].function if frames else None)
    if called in ("<module>", "<lambda>"):
        called = None
    if exc_type == "NotImplementedError":
        inner = frames[-1].function if frames else called
        if inner in ("<module>", "<lambda>"):
            inner = called
        return not_answered(inner)
    sources = "\n".join(f.source for f in frames)
    short = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"
    if exc_type in ("NameError", "UnboundLocalError"):
        meaning, fix = _name_error(message, names)
    elif exc_type == "AttributeError":
        meaning, fix = _attribute_error(message, names, bool(frames))
    elif exc_type == "IndexError":
        meaning, fix = _index_error(message, sources)
    elif exc_type == "KeyError":
        key = short.strip()
        meaning = f"dict にキー {key} がありません。"
        fix = _key_fix(key) if frames else "返す dict のキーを課題の説明と見比べてください。"
    elif exc_type == "TypeError":
        meaning, fix = _type_error(message, sources)
    elif exc_type in ("AxisError",):
        meaning, fix = _AXIS, _AXIS_FIX
    elif exc_type == "ValueError":
        meaning, fix = _value_error(message, sources)
    elif exc_type == "ZeroDivisionError":
        meaning, fix = _zero_division(message, sources)
    elif exc_type == "RecursionError":
        meaning, fix = _recursion(frames)
    elif exc_type == "OverflowError":
        meaning, fix = ("計算の途中で値が大きくなりすぎました。",
                        "学習率や exp の入力 (最大値を引いたか) を確かめてください。")
    else:
        meaning, fix = ("", "エラーの出た行を見直してください。")
    head = f"{called} を呼んだところで" if called else "テストの途中で"
    lines = [f"{head} {exc_type} が起きました: {short}"]
    if inputs:
        lines.append(f"入力: {inputs}")
    if frames:
        last = frames[-1]
        func = "" if last.function in ("<module>", "") else f" ({last.function} の中)"
        lines.append(f"場所: {last.cell} の {last.line} 行目{func}:  {last.source.strip()[:100]}")
    else:
        lines.append("場所: テストがあなたの関数の戻り値やオブジェクトを使ったところ"
                     " (戻り値の型, dict のキー, 属性の名前を確かめてください)")
    if meaning:
        lines.append(f"意味: {meaning}")
    lines.append(f"直し方: {fix}")
    return "\n".join(lines)
