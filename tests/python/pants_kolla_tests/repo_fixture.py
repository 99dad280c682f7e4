"""Scratch repos driven by a nested, real Pants (`python -m pants`) for whole-tool tests.

The test's sandbox holds the plugin sources and the images/ tree (declared dependencies); a scratch repo
gets a copy of them plus a pants.toml, and runs Pants with the same interpreter the test runs on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from pants_kolla_tests.offline_toml import offline_pants_toml, source_date_epoch_for

SANDBOX = Path.cwd()
BUILD_LINE = re.compile(r"Starting: Building (\S+/\S+:\S+)$", re.MULTILINE)


def pants_toml(pex_cli: str, tag: str) -> str:
    return offline_pants_toml(
        pex_cli,
        ["pants.backend.python", "pants_kolla"],
        f'[kolla]\ntag = "{tag}"\nsource_date_epoch = {source_date_epoch_for(tag)}\n',
    )


# The `openstack` resolve that source images' PEX files come from (3rdparty/python, see pants.toml).
OPENSTACK_FILES = ("3rdparty/python/openstack-requirements.txt", "3rdparty/python/openstack.lock")
OPENSTACK_TOML = """
resolves = { python-default = "3rdparty/python/default.lock", openstack = "3rdparty/python/openstack.lock" }
resolves_to_interpreter_constraints = { openstack = ["==3.11.*"] }
enable_resolves = true
"""
OPENSTACK_BUILD = """
python_requirements(name="openstack", source="openstack-requirements.txt", resolve="openstack")
"""


@dataclass
class PantsRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def built(self) -> list[str]:
        """Image refs whose build process really ran (a cache hit starts no process)."""
        return sorted(BUILD_LINE.findall(self.stderr))


class ScratchRepo:
    def __init__(self, root: Path, tag: str | None = None) -> None:
        self.root = root
        self.tag = tag or f"t{uuid.uuid4().hex[:10]}"  # this repo's names in the shared engine
        pex_cli = os.environ.get("PANTS_KOLLA_PEX_CLI")
        assert pex_cli, "run the tests through ./pants, which exports PANTS_KOLLA_PEX_CLI"
        shutil.copytree(SANDBOX / "src/python/pants_kolla", root / "src/python/pants_kolla")
        (root / "pants.toml").write_text(pants_toml(pex_cli, self.tag))
        (root / "BUILD_ROOT").write_text("")

    def add_images(self) -> None:
        """The real images/ tree, with the `openstack` resolve its source images' PEX files need."""
        shutil.copytree(SANDBOX / "images", self.root / "images")
        for path in OPENSTACK_FILES:
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SANDBOX / path, self.root / path)
        self.write("3rdparty/python/BUILD", OPENSTACK_BUILD)
        self.write(
            "pants.toml", self.read("pants.toml").replace("[python]\n", "[python]" + OPENSTACK_TOML, 1)
        )

    def write(self, path: str, content: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def _command(
        self, args: tuple[str, ...], env: dict[str, str] | None, pantsd: bool = False, cwd: str = ""
    ) -> dict:
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("PEX")}
        run_env.update(env or {})
        daemon = "--pantsd" if pantsd else "--no-pantsd"  # with pantsd: stop it (scratch_pantsd.py)
        return dict(args=[sys.executable, "-m", "pants", daemon, *args], cwd=self.root / cwd, env=run_env)

    def pants(
        self, *args: str, env: dict[str, str] | None = None, pantsd: bool = False, cwd: str = ""
    ) -> PantsRun:
        """`cwd`: a folder of the repo to run from (specs are then relative to it)."""
        proc = subprocess.run(
            **self._command(args, env, pantsd, cwd), capture_output=True, text=True, timeout=2400
        )
        return PantsRun(proc.returncode, proc.stdout, proc.stderr)

    def pants_start(self, *args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        """A run in the background (to interrupt it, or to race another run); stderr goes to `log`."""
        return subprocess.Popen(
            **self._command(args, env), stdout=subprocess.PIPE, stderr=open(log, "w"), text=True
        )

    @staticmethod
    def finished(proc: subprocess.Popen, log: Path, timeout: float = 2400) -> PantsRun:
        stdout, _ = proc.communicate(timeout=timeout)
        return PantsRun(proc.returncode, stdout, log.read_text())

    def ref(self, name: str) -> str:
        return f"kolla/{name}:{self.tag}"

    def packaged(self) -> list[str]:
        return packaged(self.root)

    def dist_image_id(self, name: str) -> str:
        return dist_image_id(self.root, name)


def packaged(root: Path) -> list[str]:
    """The images the last `package` run in `root` reported on (what it selected), built or cached."""
    report = json.loads((root / "dist/kolla-summary.json").read_text())
    return sorted(entry["name"] for key in ("built", "cached") for entry in report[key])


def dist_image_id(root: Path, name: str) -> str:
    """The image ID `package` wrote to dist/images/<name>/ in `root` (the digest of the image's config)."""
    manifest = json.loads((root / f"dist/images/{name}/image/manifest.json").read_text())[0]
    return "sha256:" + manifest["Config"].split(".")[0]


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Files under `root` (symlinks not followed: a sandbox's named caches are links) holding `needle`."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found
