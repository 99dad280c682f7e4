"""The synthetic monorepo's other teams' code: non-image targets beside the images, and its git history
(for `--changed-since`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

TARGETS_PER_FOLDER = 10


def other_targets(count: int) -> dict[str, str]:
    """`count` `files` targets (one small file each), ten per folder under src/: what a monorepo holds
    besides its images. A run that reads only what it selects must not slow down with them."""
    files: dict[str, str] = {}
    for folder in range((count + TARGETS_PER_FOLDER - 1) // TARGETS_PER_FOLDER):
        names = [f"f{j}" for j in range(min(TARGETS_PER_FOLDER, count - folder * TARGETS_PER_FOLDER))]
        base = f"src/lib{folder:04d}"
        files[f"{base}/BUILD"] = "".join(f'files(name="{n}", sources=["{n}.txt"])\n' for n in names)
        files.update({f"{base}/{n}.txt": f"{base}/{n}\n" for n in names})
    return files


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def git_init(root: Path) -> None:
    (root / ".gitignore").write_text("dist/\n.pids/\n.pants.d/\n.bench-logs/\n")
    _git(root, "init", "-q")
    git_commit(root, "the tree")


def git_commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
