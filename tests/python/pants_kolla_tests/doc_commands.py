"""The commands a page of docs/ tells users to type: its ```bash blocks, run in order, unchanged, so a
tested page cannot go stale."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def bash_blocks(page: Path) -> list[str]:
    return BASH_BLOCK.findall(page.read_text())


def run_block(
    block: str, cwd: Path, env: dict[str, str], timeout: float = 2400
) -> subprocess.CompletedProcess:
    """One block as one `bash -e` script (a heredoc spans lines), in `cwd`."""
    return subprocess.run(
        ["bash", "-e", "-c", block], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def user_env() -> dict[str, str]:
    """A user's shell on this machine: Python 3.9 and its pip on PATH (pyenv's, which this test runs
    on), pip without the machine's constraints file and with the CA of an intercepting proxy, and none of
    the test process's own PEX variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEX")}
    python_bin = os.path.dirname(os.path.realpath(sys.executable))
    env["PATH"] = f"{python_bin}:{env['PATH']}"
    env["PIP_CONFIG_FILE"] = "/dev/null"
    if env.get("PANTS_CA_CERTS_PATH"):
        env["PIP_CERT"] = env["PANTS_CA_CERTS_PATH"]
    return env


def write_pants_launcher(root: Path) -> None:
    """`./pants` in a scratch repository: the Pants this test runs with (a repository's bootstrap script
    or Pants' launcher in real life)."""
    launcher = root / "pants"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pants "$@"\n')
    launcher.chmod(0o755)
