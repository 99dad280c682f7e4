"""A real Docker registry (Debian's `docker-registry`, distribution 2.8) on 127.0.0.1 for publish tests.

Loopback registries are plain HTTP for the engine by default, so no daemon configuration is needed.
"""

from __future__ import annotations

import base64
import crypt
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFESTS = f"{MANIFEST_V2}, {OCI_MANIFEST}"


def forget_blob_locations() -> None:
    """Remove the only state skopeo keeps between runs on a machine (where it saw each blob, for mounts):
    what a fresh CI runner has."""
    for cache in (Path("/var/lib/containers/cache"), Path.home() / ".local/share/containers/cache"):
        shutil.rmtree(cache, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRegistry:
    def __init__(
        self, root: Path, port: int | None = None, credentials: tuple[str, str] | None = None
    ) -> None:
        """`credentials`: (user, password) the registry then requires (htpasswd, bcrypt, as in production)."""
        self.root = root
        self.credentials = credentials
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.storage = root / "storage"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "LocalRegistry":
        binary = shutil.which("docker-registry")
        assert binary, "docker-registry is not installed: apt-get install -y docker-registry"
        self.storage.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        settings = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}},
            "http": {"addr": self.address},
        }
        if self.credentials:
            user, password = self.credentials
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text(f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
            settings["auth"] = {"htpasswd": {"realm": "kolla-test", "path": str(htpasswd)}}
        config.write_text(json.dumps(settings))  # YAML is a superset of JSON
        self.proc = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=open(self.root / "log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.root / "log").read_text()
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                return self
            except urllib.error.HTTPError as e:
                if e.code == 401 and self.credentials:  # up, and asking for the credentials
                    return self
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"registry did not come up: {(self.root / 'log').read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _manifest_request(self, repository: str, reference: str, method: str) -> urllib.request.Request:
        headers = {"Accept": MANIFESTS}
        if self.credentials:
            headers["Authorization"] = (
                "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            )
        url = f"http://{self.address}/v2/{repository}/manifests/{reference}"
        return urllib.request.Request(url, method=method, headers=headers)

    def manifest_digest(self, repository: str, tag: str) -> str:
        with urllib.request.urlopen(self._manifest_request(repository, tag, "HEAD"), timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def blob_bytes(self) -> int:
        """Bytes of blobs stored (each blob once, however many images or pushes share it)."""
        blobs = self.storage / "docker/registry/v2/blobs"
        return sum(f.stat().st_size for f in blobs.rglob("data")) if blobs.exists() else 0

    def manifest(self, repository: str, reference: str) -> dict:
        with urllib.request.urlopen(
            self._manifest_request(repository, reference, "GET"), timeout=10
        ) as response:
            return json.load(response)
