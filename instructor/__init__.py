"""Instructor tooling of 勾配演習コース, built on nbgrader (run as ``python -m instructor``).

Start-up cost: ``jsonschema`` (through nbformat) imports the optional ``rfc3987_syntax`` only to
check the "iri" string format, which no notebook schema uses; building its grammar costs about
1 s per process (measured on 2 cores). jsonschema wraps that import in ``suppress(ImportError)``, so
marking the module unavailable in this process simply leaves "iri" unchecked.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
