"""A second, empty Docker engine: what a fresh CI machine has. Tests that must not be helped by images
the machine's engine already holds (loading from a cache, pushing unknown layers) use it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


class FreshEngine:
    """A new dockerd with its own data root, bridge and no iptables rules, that must not clash with the
    machine's engine. Builds use host networking, so `RUN` steps work too.

    Its own bridge, because a second dockerd started with `--bridge=none` deletes the machine engine's
    `docker0` (as it does on the test machines), after which that engine cannot start bridged containers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Unix socket paths are limited to ~104 bytes: containerd's sockets live under a short folder.
        self.run_dir = Path(tempfile.mkdtemp(prefix="kolla-engine-", dir="/tmp"))
        self.docker_host = f"unix://{self.run_dir}/docker.sock"
        self.bridge = f"kfe{os.getpid() % 100000}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "FreshEngine":
        assert shutil.which("dockerd"), "dockerd is not installed: apt-get install -y docker.io"
        self.root.mkdir(parents=True, exist_ok=True)
        subnet = f"172.31.{random.randint(1, 254)}.1/24"
        for argv in (
            ["link", "add", self.bridge, "type", "bridge"],
            ["addr", "add", subnet, "dev", self.bridge],
            ["link", "set", self.bridge, "up"],
        ):
            subprocess.run(["ip", *argv], check=True)
        self.start()
        return self

    def start(self) -> None:
        """Start (or restart, on the same data root) the engine and wait until it answers."""
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--data-root",
                f"{self.root}/data",
                "--exec-root",
                f"{self.run_dir}/exec",
                "--pidfile",
                f"{self.run_dir}/pid",
                "-H",
                self.docker_host,
                f"--bridge={self.bridge}",
                "--iptables=false",
            ],
            stdout=open(self.root / "log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(60):
            assert self.proc.poll() is None, (self.root / "log").read_text()
            if (
                subprocess.run(["docker", "-H", self.docker_host, "version"], capture_output=True).returncode
                == 0
            ):
                return
            time.sleep(0.5)
        self.__exit__()
        raise TimeoutError(f"dockerd did not start: {(self.root / 'log').read_text()}")

    def kill(self) -> None:
        """What a crash does: SIGKILL dockerd, its containerd and the containers' shims, no clean-up."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for pattern in (f"containerd --config {self.run_dir}/", f"-address {self.run_dir}/"):
            subprocess.run(["pkill", "-KILL", "-f", pattern], check=False)
        # A killed containerd may linger as a zombie (nothing reaps it here), and dockerd would take its
        # pid file for a live containerd and wait for it forever: drop the stale pid file.
        for pid_file in self.run_dir.glob("exec/containerd/*.pid"):
            pid_file.unlink()

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # dockerd stops its containerd
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # dockerd bind-mounts its data root onto itself, a killed engine leaves its containers' mounts
        # behind, and its network namespace stays mounted under the exec root (rmtree cannot remove a
        # mount point): unmount everything under either, deepest first.
        owned = (str(self.root / "data") + "/", f"{self.run_dir}/")
        with open("/proc/mounts") as f:
            mounts = [line.split()[1] for line in f if (line.split()[1] + "/").startswith(owned)]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", self.bridge], check=False, capture_output=True)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.docker_host, timeout=900)
