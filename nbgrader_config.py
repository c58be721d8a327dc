"""nbgrader configuration of 勾配演習コース (read by every nbgrader command run in this folder)."""

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "kobai-enshu"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.solution_directory = "solutions"
# Files never copied into a release, a submission or a feedback folder.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".venv",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".DS_Store",
]

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {
    "python": "# ここにコードを書いてください\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "ここに答えを書いてください"

# Execution: generous per-cell budget (the slowest cell trains a tiny net), no timing metadata
# (keeps generated notebooks byte-stable), warnings on stderr from correct code cost no points.
c.Execute.timeout = 60
c.Execute.record_timing = False
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\b\w*Warning: "

# Feedback: per-test points and the Japanese messages of common.testing, never the test code
# (ClearHiddenTests removes hidden tests from the source, ShortTracebacks keeps tracebacks from
# quoting it; nbgrader #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "instructor.preprocessors.ShortTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
