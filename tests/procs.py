"""The processes running on this machine, as the tests that check for survivors see them."""

from __future__ import annotations

from pathlib import Path


def command_lines() -> dict[int, str]:
    """pid -> command line (arguments joined by spaces) of every process still readable."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found
