"""The tests' Docker engine when none answers: a private dockerd, as `.ci/dockerd.sh start` makes it
(same state folder, so both find the same engine), started once for every test process of the machine
(a file lock) and left running for the next ones. An engine the user named (DOCKER_HOST) is never
replaced: if it does not answer, the tests that need it fail saying so."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

STATE = Path(os.environ.get("KOLLA_DOCKERD_DIR", "/var/tmp/kolla-dockerd"))
DEFAULT_SOCKET = "/var/run/docker.sock"


def answers(docker_host: str) -> bool:
    env = {**os.environ, "DOCKER_HOST": docker_host}
    return subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0


def _start(docker_host: str) -> None:
    assert shutil.which(
        "dockerd"
    ), "no Docker engine answers and dockerd is missing: apt-get install -y docker.io"
    log = open(STATE / "dockerd.log", "ab")
    argv = ["dockerd", "--data-root", f"{STATE}/root", "--exec-root", f"{STATE}/exec", "-H", docker_host]
    subprocess.Popen(
        [*argv, "--pidfile", f"{STATE}/dockerd.pid"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(120):
        if answers(docker_host):
            return
        time.sleep(0.5)
    raise TimeoutError(f"dockerd did not come up: see {STATE / 'dockerd.log'}")


def docker_host() -> str:
    """The engine the tests use: the one named or found, else the private one (started if needed)."""
    named = os.environ.get("DOCKER_HOST")
    if named:
        return named
    if os.path.exists(DEFAULT_SOCKET) and answers(f"unix://{DEFAULT_SOCKET}"):
        return f"unix://{DEFAULT_SOCKET}"
    STATE.mkdir(parents=True, exist_ok=True)
    private = f"unix://{STATE}/docker.sock"
    with open(STATE / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not answers(private):
            _start(private)
    return private
