"""Daemonless builds with buildah (`bud --isolation chroot`), in storage private to the sandbox, so a
build sees nothing but its inputs and leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess

from pants_kolla.builder import docker_archive

# Where locked installs look for their .debs first (core/apt_installs.py renders the same path: the
# builder imports nothing from the rules' side).
DEBS_MOUNT = "/mnt"
# Where buildah looks for its runtimes, whatever the build process's PATH.
RUNTIME_PATH = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"])


class BuildahFailed(Exception):
    pass


def _buildah(storage: str, *args: str) -> list[str]:
    return [
        "buildah",
        "--root",
        os.path.join(storage, "root"),
        "--runroot",
        os.path.join(storage, "run"),
        "--storage-driver",
        "vfs",
        *args,
    ]


def build(
    context: str,
    parent_dir: str,
    ref: str,
    build_args: dict,
    epoch: int,
    saved_dir: str,
    log,
    debs_dir: str = "",
) -> None:
    storage = os.path.abspath(".buildah")
    parent_tar = os.path.abspath("parent.tar")
    docker_archive.tar_directory(parent_dir, parent_tar)
    argv = _buildah(
        storage,
        "bud",
        *(_locked_isolation(debs_dir) if debs_dir else ["--isolation", "chroot"]),
        "--pull-never",
        "--layers=false",
        "--timestamp",
        str(epoch),
        "--from",
        f"docker-archive:{parent_tar}",
        "-f",
        os.path.join(context, "Dockerfile"),
        "-t",
        ref,
    )
    for key, value in build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    _run([*argv, context], log)
    out_tar = os.path.abspath("built.tar")
    _run(_buildah(storage, "push", ref, f"docker-archive:{out_tar}:{ref}"), log)
    docker_archive.extract_tar(out_tar, saved_dir)
    os.remove(out_tar)
    os.remove(parent_tar)


def _locked_isolation(debs_dir: str) -> list[str]:
    """A locked build's RUN steps get no network at all: an OCI runtime gives them a network namespace of
    their own with loopback only (chroot isolation cannot), and the locked .debs are mounted read-only
    where the locked install looks for them first."""
    if not any(shutil.which(runtime, path=RUNTIME_PATH) for runtime in ("crun", "runc")):
        raise BuildahFailed(
            "a locked build with buildah runs its steps with no network, in an OCI runtime, and neither "
            "crun nor runc is installed: apt-get install -y runc"
        )
    mount = f"{os.path.abspath(debs_dir)}:{DEBS_MOUNT}:ro"
    return ["--isolation", "oci", "--network", "none", "--volume", mount]


def _run(argv: list[str], log) -> None:
    log.write("$ " + " ".join(argv[argv.index("--storage-driver") + 2 :]) + "\n")
    log.flush()
    proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise BuildahFailed(f"buildah exited with {proc.returncode}")
