"""Daemonless builds with buildah (`bud --isolation chroot`), in storage private to the sandbox, so a
build sees nothing but its inputs and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess

from pants_kolla.builder import docker_archive


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


def build(context: str, parent_dir: str, ref: str, build_args: dict, epoch: int, saved_dir: str, log) -> None:
    storage = os.path.abspath(".buildah")
    parent_tar = os.path.abspath("parent.tar")
    docker_archive.tar_directory(parent_dir, parent_tar)
    argv = _buildah(
        storage,
        "bud",
        "--isolation",
        "chroot",
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


def _run(argv: list[str], log) -> None:
    log.write("$ " + " ".join(argv[argv.index("--storage-driver") + 2 :]) + "\n")
    log.flush()
    proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise BuildahFailed(f"buildah exited with {proc.returncode}")
