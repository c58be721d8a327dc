"""解答セルが Python として読めないとき (SyntaxError / IndentationError) の日本語の説明.

日本語入力のまま打った全角スペース (U+3000) や全角の括弧・引用符・演算子は, 見た目では
半角と区別しにくい. :func:`syntax_problem` はセルのソースだけから「何行目の何文字目に何が
あるか」を答える純粋な関数で, 採点 (instructor.preprocessors) と学生のカーネル
(common.testing のフック) の両方が使う.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FULL_WIDTH", "syntax_problem", "defined_names"]

# 全角の文字 → 打ちたかったはずの半角の文字
FULL_WIDTH = {
    "\u3000": " ", "（": "(", "）": ")", "［": "[", "］": "]", "｛": "{", "｝": "}",
    "＝": "=", "＋": "+", "－": "-", "ー": "-", "−": "-", "＊": "*", "／": "/", "％": "%",
    "＜": "<", "＞": ">", "，": ",", "、": ",", "．": ".", "。": ".", "：": ":", "；": ";",
    "”": '"', "“": '"', "＂": '"', "’": "'", "‘": "'", "＇": "'", "＠": "@", "＃": "#",
    "＿": "_", "！": "!", "＾": "^", "＆": "&", "｜": "|", "〜": "~", "～": "~",
}


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == "\u3000":
        return f"全角スペース ({code})"
    if char in FULL_WIDTH:
        return f"全角の「{char}」({code})"
    if "\uff10" <= char <= "\uff5a":
        return f"全角の「{char}」({code})"
    try:
        name = unicodedata.name(char)
    except ValueError:
        name = ""
    return f"「{char}」({code}{', ' + name if name else ''})"


def _replacement(char: str) -> str | None:
    if char in FULL_WIDTH:
        return FULL_WIDTH[char]
    if "\uff01" <= char <= "\uff5e":  # 全角英数字・記号 → 半角
        return chr(ord(char) - 0xFEE0)
    return None


def _first_non_ascii(line: str) -> int | None:
    """Column (0-based) of the first non-ASCII character outside strings and comments."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif ch == "#":
            return None
        elif ch in "'\"":
            quote = line[i:i + 3] if line[i:i + 3] in ("'''", '"""') else ch
            i += len(quote)
            continue
        elif not ch.isascii() and not ch.isidentifier():
            return i
        i += 1
    return None


def syntax_problem(source: str, *, cell: str = "このセル") -> str | None:
    """``source`` が Python として読めなければ, その日本語の説明 (数行). 読めれば None.

    Args:
        source: セルのソース (IPython のマジックは先に変換しておく).
        cell: 文面で使うセルの名前 (例 ``"セル numerical_diff"``).
    """
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as err:
        return _explain_syntax_error(source, err, cell)
    except (ValueError, OverflowError) as err:  # null bytes, huge literals
        return f"{cell} を Python として読めません: {err}"
    return None


def _explain_syntax_error(source: str, err: SyntaxError, cell: str) -> str:
    lines = source.splitlines() or [""]
    lineno = err.lineno or 1
    # a full-width character anywhere outside strings is the most likely cause: report the first
    for number, text in enumerate(lines, start=1):
        column = _first_non_ascii(text)
        if column is not None:
            char = text[column]
            fix = _replacement(char)
            todo = (f"半角の「{fix}」に" if fix not in (None, " ") else
                    "半角スペースに" if fix == " " else "半角の文字に")
            return (f"{cell} の {number} 行目の {column + 1} 文字目に{_describe(char)} "
                    f"があります (日本語入力のまま打った文字)。\n"
                    f"  {number} 行目: {text.strip()[:80]}\n"
                    f"直し方: {todo}打ち直してください。")
    text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    kind = type(err).__name__
    msg = err.msg or ""
    if kind in ("IndentationError", "TabError"):
        if "expected an indented block" in msg:
            meaning = "def や for, if の次の行が字下げされていません。"
        elif "unexpected indent" in msg:
            meaning = "字下げする必要のない行が字下げされています。"
        elif "unindent" in msg or "inconsistent" in msg or kind == "TabError":
            meaning = "字下げの深さがそろっていません (タブと半角スペースが混ざっていませんか?)。"
        else:
            meaning = "字下げ (インデント) が正しくありません。"
        fix = "字下げは半角スペース 4 つずつでそろえてください。"
    elif "never closed" in msg or "was never closed" in msg or "unexpected EOF" in msg \
            or "does not match opening" in msg or "unmatched" in msg:
        meaning = "括弧 ( [ { の開きと閉じが対応していません。"
        fix = "この行とその前の行の括弧の数を数えてください。"
    elif "unterminated string" in msg or "EOL while scanning" in msg:
        meaning = "文字列の引用符が閉じられていません。"
        fix = "' や \" を対応させてください。"
    elif "expected ':'" in msg:
        meaning = "def, for, if, class などの行の最後に : がありません。"
        fix = "行の最後に半角の : を付けてください。"
    elif "cannot assign" in msg or "assign to" in msg:
        meaning = "代入できないもの (式や関数の呼び出し) に = で代入しています。"
        fix = "比べるなら ==, 代入なら左辺を変数名にしてください。"
    elif "'return' outside function" in msg:
        meaning = "関数の外に return があります (字下げがずれていませんか?)。"
        fix = "return を def の中まで字下げしてください。"
    else:
        meaning = "Python の文法として読めない書き方があります。"
        fix = "この行 (か 1 つ前の行) の括弧, : , 演算子を確かめてください。"
    where = f"{lineno} 行目" + (f"の {err.offset} 文字目" if err.offset else "")
    return (f"{cell} の {where}で {kind} (文法の誤り): {meaning}\n"
            f"  {lineno} 行目: {text.strip()[:80]}\n"
            f"直し方: {fix}")


def defined_names(source: str) -> list[str]:
    """セルが (読めたなら) 定義するはずの関数・クラスの名前 (def/class の行から, 読めなくても)."""
    return re.findall(r"^(?:def|class)\s+([A-Za-z_]\w*)", source, flags=re.MULTILINE)
