"""Stopping the pantsd a scratch repo started (tests and the benchmark run Pants in scratch repos)."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def stop_pantsd(root: Path) -> None:
    """By the repo's pid file, never by name: other Pants runs share the machine."""
    for pid_file in root.glob(".pids/**/pantsd/pid"):
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
