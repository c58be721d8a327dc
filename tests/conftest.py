"""pytest の共通設定: hypothesis のプロファイル.

既定は "ci" (deadline なし, 例の数を抑えて単体テスト全体を速く保つ, 乱数の種を固定).
例を増やして探すときは HYPOTHESIS_PROFILE=thorough pytest tests と指定する.
"""

import os

from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=25, derandomize=True, database=None)
settings.register_profile("thorough", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
