"""Waiting for what another thread, process or the engine does, without a fixed sleep."""

from __future__ import annotations

import time
from typing import Callable


def eventually(condition: Callable[[], object], timeout: float = 120.0, interval: float = 0.02) -> bool:
    """Poll `condition` (a loaded machine may take long; a condition that holds returns at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
