"""A real REAPI server for remote-cache tests: BuildGrid 0.4.4, cache-only (action cache, CAS and
ByteStream on disk; no database, no workers), on 127.0.0.1.

BuildGrid needs Python 3.11 (0.4.4 is the last release without PostgreSQL for a cache): it is installed
once into a venv under the pants-kolla cache, so reruns start in seconds.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from pants_kolla_tests.registry_fixture import free_port
from pants_kolla_tests.server_process import stop_group, wait_listening

BUILDGRID_VERSION = "0.4.4"
CACHE_ROOT = Path(os.environ.get("PANTS_KOLLA_CACHE") or Path.home() / ".cache/pants-kolla")
VENV = CACHE_ROOT / f"buildgrid-{BUILDGRID_VERSION}-py3.11"

CONFIG = """
server:
  - !channel {{address: "{address}", insecure-mode: true}}
authorization: {{method: none}}
storages:
  - !disk-storage &main-storage {{path: {cas}}}
caches:
  - !lru-action-cache &main-action {{storage: *main-storage, max-cached-refs: 10000, allow-updates: true, cache-failed-actions: true}}
instances:
  - name: ""
    services:
      - !action-cache {{cache: *main-action}}
      - !cas {{storage: *main-storage}}
      - !bytestream {{storage: *main-storage}}
"""


def find_python311() -> str:
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates = [
        shutil.which("python3.11"),
        *sorted(glob.glob(f"{pyenv_root}/versions/3.11*/bin/python3.11")),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("BuildGrid needs Python 3.11: `pyenv install 3.11` (or apt-get install python3.11)")


def ensure_buildgrid() -> Path:
    bgd = VENV / "bin/bgd"
    if (VENV / ".complete").exists():
        return bgd
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([find_python311(), "-m", "venv", str(VENV)], check=True)
    # The machine-wide pip config may pin constraints; the CA of an intercepting proxy comes from the env.
    pip = [str(VENV / "bin/pip"), "install", "--quiet", f"buildgrid=={BUILDGRID_VERSION}"]
    ca = os.environ.get("PANTS_CA_CERTS_PATH")
    if ca:
        pip += ["--cert", ca]
    subprocess.run(pip, check=True, env={**os.environ, "PIP_CONFIG_FILE": "/dev/null"})
    (VENV / ".complete").touch()
    return bgd


class BuildGridCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.address = f"127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen | None = None

    def pants_options(self) -> list[str]:
        return [
            "--remote-cache-read",
            "--remote-cache-write",
            f"--remote-store-address=grpc://{self.address}",
            "--remote-instance-name=",
        ]

    def __enter__(self) -> "BuildGridCache":
        bgd = ensure_buildgrid()
        (self.root / "cas").mkdir(parents=True, exist_ok=True)
        config = self.root / "cache.yml"
        config.write_text(CONFIG.format(address=self.address, cas=self.root / "cas"))
        self.proc = subprocess.Popen(
            [str(bgd), "server", "start", "-v", str(config)],
            stdout=open(self.root / "log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # its own group: stop() ends its children
        host, port = self.address.split(":")
        wait_listening(self.proc, host, int(port), self.root / "log", timeout=60)
        return self

    def __exit__(self, *exc) -> None:
        stop_group(self.proc, grace=15)
