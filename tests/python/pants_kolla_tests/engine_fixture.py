"""A second, empty Docker engine: what a fresh CI machine has. Tests that must not be helped by images
the machine's engine already holds (loading from a cache, pushing unknown layers) use it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class FreshEngine:
    """A new dockerd with its own data root. No bridge network and no iptables rules: it only loads,
    tags and pushes images (no `RUN`), and must not clash with the machine's engine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Unix socket paths are limited to ~104 bytes: containerd's sockets live under a short folder.
        self.run_dir = Path(tempfile.mkdtemp(prefix="kolla-engine-", dir="/tmp"))
        self.docker_host = f"unix://{self.run_dir}/docker.sock"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "FreshEngine":
        assert shutil.which("dockerd"), "dockerd is not installed: apt-get install -y docker.io"
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", f"{self.root}/data", "--exec-root", f"{self.run_dir}/exec",
             "--pidfile", f"{self.run_dir}/pid", "-H", self.docker_host, "--bridge=none", "--iptables=false"],
            stdout=open(self.root / "log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(60):
            assert self.proc.poll() is None, (self.root / "log").read_text()
            if subprocess.run(["docker", "-H", self.docker_host, "version"], capture_output=True).returncode == 0:
                return self
            time.sleep(0.5)
        self.__exit__()
        raise TimeoutError(f"dockerd did not start: {(self.root / 'log').read_text()}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # dockerd stops its containerd
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # dockerd bind-mounts its data root onto itself and may leave that mount behind.
        data = self.root / "data"
        if os.path.ismount(data):
            subprocess.run(["umount", str(data)], check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.docker_host)
