"""A throwaway Pants repo (the plugin's scratch copy, or Peer A's docker_image repo) driven by a nested
Pants, timed from the outside.

Nested Pants runs go through the real repo's `./pants` bootstrap: it picks the cached Pants venv and
exports PANTS_KOLLA_PEX_CLI, while Pants itself finds its build root from the scratch repo's cwd.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "tests/python"))  # the generated repos' pants.toml, shared with the tests
from pants_kolla_tests.offline_toml import offline_pants_toml  # noqa: E402
from pants_kolla_tests.scratch_pantsd import stop_pantsd  # noqa: E402

# The plugin logs "Building <ref>"; Pants' docker backend "Building docker image <ref>". With
# --no-dynamic-ui each process that really runs logs "Starting: ..." once; a cache hit logs nothing.
BUILD_LINE = re.compile(r"Starting: Building (?:docker image )?(\S+/\S+:\S+?)(?:\s|$)", re.MULTILINE)


def pants_toml(backends: list[str], extra: str = "") -> str:
    return offline_pants_toml(str(REPO / "3rdparty/pex/pex"), backends, extra)


@functools.cache
def pants_python() -> str:
    """The installation of the Python 3.9 Pants runs on (its bootstrap found it, once per bench run): a
    worker on this machine runs the plugin's PEX files with it, and the plugin's copies are compiled for
    it."""
    env = {**os.environ, "PANTS_KOLLA_PRINT_PYTHON": "1"}
    return subprocess.run(
        [str(REPO / "pants")], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def compile_modules(folder: Path) -> None:
    """Byte-compile the modules under `folder` for the Python Pants runs on, as pip does for an installed
    plugin's wheel and did for Pants' own backends: without it, a shell with PYTHONDONTWRITEBYTECODE set
    (this machine's) makes every Pants start without pantsd compile the plugin again (~50 ms)."""
    python = f"{pants_python()}/bin/python3"
    subprocess.run([python, "-m", "compileall", "-q", str(folder)], check=True)


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    built: tuple[str, ...]  # image refs whose build process really ran


class RunFailed(Exception):
    pass


class PantsRepo:
    def __init__(self, root: Path, toml: str) -> None:
        self.root = root
        self.runs = 0
        root.mkdir(parents=True, exist_ok=True)
        self.write("pants.toml", toml)
        self.write("BUILD_ROOT", "")

    def write(self, path: str, content: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def pants(self, *args: str, pantsd: bool = False, check: bool = True, timeout: float = 3600) -> Timed:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEX")}
        start = time.monotonic()
        proc = subprocess.run(
            [str(REPO / "pants"), "--pantsd" if pantsd else "--no-pantsd", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        seconds = time.monotonic() - start
        # Every run's stderr stays in the scratch repo, to check what the Builds column counted.
        self.runs += 1
        self.write(f".bench-logs/{self.runs:02d}-{'_'.join(args)[:80].replace('/', '_')}.log", proc.stderr)
        if check and proc.returncode != 0:
            raise RunFailed(
                f"pants {' '.join(args)} in {self.root} exited {proc.returncode}:\n" f"{proc.stderr[-4000:]}"
            )
        return Timed(
            seconds=seconds,
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            # Distinct refs: pantsd may restart a build whose input changed under it.
            built=tuple(sorted(set(BUILD_LINE.findall(proc.stderr)))),
        )

    def stop_pantsd(self) -> None:
        stop_pantsd(self.root)
