"""A test server started as its own process group: wait until it listens, stop it and its children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def wait_listening(proc: subprocess.Popen, host: str, port: int, log: Path, timeout: float = 120) -> None:
    """Return once `host:port` accepts connections; fail with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    stop_group(proc)
    program = proc.args[0] if isinstance(proc.args, (list, tuple)) else proc.args
    raise TimeoutError(f"{os.fsdecode(program)} did not listen on {host}:{port}: {log.read_text()}")


def stop_group(proc: subprocess.Popen | None, grace: float = 30) -> None:
    """SIGTERM the server's process group (started with `start_new_session=True`), SIGKILL after `grace`."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
