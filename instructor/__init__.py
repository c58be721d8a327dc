"""Instructor tooling of 勾配演習コース, built on nbgrader (run as ``python -m instructor``)."""
