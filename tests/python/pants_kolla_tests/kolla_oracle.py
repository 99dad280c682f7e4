"""kolla-build 23.0.0 from PyPI, the oracle of the kolla dialect: installed once into a venv under the
pants-kolla cache (keyed by version), run with `--template-only` in a clean environment."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from pants_kolla_tests.buildgrid_fixture import CACHE_ROOT, find_python311

KOLLA_VERSION = "23.0.0"
VENV = CACHE_ROOT / f"kolla-{KOLLA_VERSION}-py3.11"


def ensure_kolla() -> Path:
    """The venv's `bin/kolla-build`. kolla-build imports the docker SDK even with `--template-only`."""
    if not (VENV / ".complete").exists():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([find_python311(), "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin/pip"), "install", "--quiet", f"kolla=={KOLLA_VERSION}", "docker>=7,<8"]
        ca = os.environ.get("PANTS_CA_CERTS_PATH") or os.environ.get("PIP_CERT")
        if ca:
            pip += ["--cert", ca]
        subprocess.run(pip, check=True, env={**os.environ, "PIP_CONFIG_FILE": "/dev/null"})
        (VENV / ".complete").touch()
    return VENV / "bin/kolla-build"


def kolla_docker_tree() -> Path:
    """Kolla's docker/ folder as the package ships it (the sdist's docker/, installed by the wheel)."""
    (tree,) = glob.glob(str(VENV / "lib/python3*/site-packages/kolla/docker"))
    return Path(tree)


def render_with_kolla_build(work_dir: Path) -> Path:
    """`kolla-build --template-only --base debian`, defaults otherwise: an empty config file, no
    host environment (templates read `env`), so the output depends on kolla 23.0.0 alone."""
    kolla_build = ensure_kolla()
    config = work_dir / "kolla-build.conf"
    work_dir.mkdir(parents=True, exist_ok=True)
    config.write_text("")
    subprocess.run(
        [
            str(kolla_build),
            "--config-file",
            str(config),
            "--template-only",
            "--base",
            "debian",
            "--work-dir",
            str(work_dir / "out"),
        ],
        check=True,
        capture_output=True,
        timeout=1200,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work_dir)},
    )
    return work_dir / "out/docker"
