"""The commands a page of docs/ tells users to type: its ```bash blocks, run in order, unchanged, so a
tested page cannot go stale."""

from __future__ import annotations

import re
import subprocess
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
