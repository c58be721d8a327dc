# Colab など common のない環境で, 最初に 1 回実行するセル (common があれば何もしません)。
import importlib
import importlib.util
import subprocess
import sys

COMMON_SOURCE = "git+https://example.invalid/kobai-student.git"  # make student-repo が書き換える

if importlib.util.find_spec("common") is None:
    print(f"共通パッケージ common をインストールします: {COMMON_SOURCE}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", COMMON_SOURCE], check=True)
    importlib.invalidate_caches()
else:
    print("common はインストール済みです。")
