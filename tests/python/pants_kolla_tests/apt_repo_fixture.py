"""A Debian package repository on loopback that the test changes: .debs made with `dpkg-deb`, indexes with
`apt-ftparchive`, served over HTTP. It stands for the mirror moving on: a newer version replaces an older
one in the index while the older file stays at its URL (as in a Debian pool before clean-up, or a
snapshot)."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from pathlib import Path

from pants_kolla_tests.registry_fixture import free_port


class LoopbackAptRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pool = root / "pool"
        self.pool.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.listed: dict[str, str] = {}  # package -> the version the index offers
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)

    def __enter__(self) -> "LoopbackAptRepo":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sources_line(self) -> str:
        return f"deb [trusted=yes] {self.url} ./"

    def release(self, package: str, version: str) -> None:
        """Make `package` at `version` (its file /usr/share/<package>/version holds the version) and offer
        it in the index instead of any earlier version."""
        tree = self.root / "build" / f"{package}-{version}"
        (tree / "DEBIAN").mkdir(parents=True)
        (tree / "DEBIAN/control").write_text(
            f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
            f"Maintainer: pants-kolla tests <tests@example.invalid>\nDescription: a test package\n"
        )
        (tree / f"usr/share/{package}").mkdir(parents=True)
        (tree / f"usr/share/{package}/version").write_text(version + "\n")
        deb = self.pool / f"{package}_{version}_all.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
            check=True,
            capture_output=True,
        )
        self.listed[package] = version
        self._index()

    def _index(self) -> None:
        scanned = subprocess.run(
            ["apt-ftparchive", "packages", "pool"], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout
        stanzas = [s for s in scanned.strip().split("\n\n") if self._is_listed(s)]
        (self.root / "Packages").write_text("\n\n".join(stanzas) + "\n")
        release = subprocess.run(
            ["apt-ftparchive", "-o", "APT::FTPArchive::Release::Origin=pants-kolla-tests", "release", "."],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (self.root / "Release").write_text(release)

    def _is_listed(self, stanza: str) -> bool:
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        return self.listed.get(fields.get("Package", "")) == fields.get("Version")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass
