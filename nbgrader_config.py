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
    "python": "# ここにコードを書いてください\n"
              'raise NotImplementedError('
              '"まだ解答していません: この 2 行を消して, コードを書いてください")',
}
c.ClearSolutions.text_stub = "ここに答えを書いてください"

# Execution: generous per-cell budget (the slowest cell trains a tiny net), no timing metadata
# (keeps generated notebooks byte-stable), warnings on stderr from correct code cost no points.
c.Execute.timeout = 60
c.Execute.record_timing = False
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\b\w*Warning: "

# Autograde, hardened (SECURITY.md). Sanitize: the notebook graded is the student version of the
# master with only the student's answer cells put in (RebuildFromMaster); nbgrader then restores
# test cells from the gradebook as usual. Execute: the kernel runs in a bubblewrap sandbox with
# resource limits and one wall-time budget per notebook; test cells never run in it: a separate
# judge process runs them and calls the student's code through a plain-data protocol
# (instructor.execute.SandboxedExecute replaces nbgrader's Execute; instructor/judge.py).
c.Autograde.sanitize_preprocessors = [
    "instructor.preprocessors.RebuildFromMaster",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "instructor.execute.SandboxedExecute",
    "instructor.preprocessors.ExplainBrokenAnswers",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.SandboxedExecute.wall_budget = 300  # seconds for one whole notebook, kernel start included
c.SandboxedExecute.memory_limit = 2 * 1024**3  # address space: a bigger allocation -> MemoryError
c.SandboxedExecute.process_limit = 64  # processes + threads inside the sandbox
c.SandboxedExecute.max_output_bytes = 200_000  # per cell; the rest is dropped as it arrives
c.SandboxedExecute.output_budget = 2_000_000  # bytes the kernel may send per notebook (outputs,
# metadata, errors, comms): then nothing more is kept, the kernel is ended, later cells fail
c.SandboxedExecute.shutdown_kernel = "immediate"  # the sandbox ends with it: no grace to wait for

# Feedback: per-test points and the Japanese messages of common.testing, never the test code
# (ClearHiddenTests removes hidden tests from the source, ShortTracebacks keeps tracebacks from
# quoting it; nbgrader #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "instructor.preprocessors.ClearHiddenTests",
    "instructor.preprocessors.ShortTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The page a student opens offline: Japanese frame, math as MathML, nothing from the network
# (instructor/feedback.py, template instructor/templates/feedback_ja). Used by make grade, the
# formgrader's Generate Feedback and `nbgrader generate_feedback` alike.
c.GenerateFeedback.exporter_class = "instructor.feedback.FeedbackExporter"
c.FeedbackExporter.template_name = "feedback_ja"
