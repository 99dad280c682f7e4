"""The `rootfs` and `pull` commands: the two ways a tree's root image is made (mmdebstrap from the Debian
mirror, or a registry image pulled by digest), each written as a one-image docker-archive directory."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys

from pants_kolla.builder import docker_archive, exit_codes
from pants_kolla.builder.build_log import print_log_tail
from pants_kolla.builder.docker_archive import UNNAMED


def cmd_rootfs(args: argparse.Namespace) -> int:
    if shutil.which("mmdebstrap") is None:
        print(
            f"mmdebstrap is not installed on {socket.gethostname()} (where this build ran): "
            "apt-get install -y mmdebstrap",
            file=sys.stderr,
        )
        return exit_codes.BUILD_FAILED
    rootfs_tar = os.path.abspath("rootfs.tar")
    argv = mmdebstrap_argv(args, rootfs_tar)
    returncode = run_mmdebstrap(args, argv)
    if returncode != 0:
        print_log_tail(args.log, f"mmdebstrap failed with exit code {returncode}")
        return exit_codes.BUILD_FAILED
    config = rootfs_config(args.epoch, shown(args, " ".join(a for a in argv if a != rootfs_tar)))
    docker_archive.write_image(args.out, config, [rootfs_tar], UNNAMED)
    return 0


def mmdebstrap_argv(args: argparse.Namespace, rootfs_tar: str) -> list[str]:
    """mmdebstrap's command line as logged, without the mirror's auth hooks; its last three arguments are
    the suite, the tarball to write and the mirror."""
    argv = mmdebstrap_prefix(args, "tar")
    if not args.debs:
        return argv + [args.suite, rootfs_tar, args.mirror]
    # The lock's .debs as a flat repository: no mirror is read. The image's sources.list names the mirror
    # as an unlocked build writes it, so children install from it as usual.
    from pants_kolla.builder import flat_repo

    flat_repo.write_flat_repo(args.debs, args.suite)
    argv.append(f'--customize-hook=echo "deb {args.mirror} {args.suite} main" > "$1/etc/apt/sources.list"')
    return argv + [args.suite, rootfs_tar, f"deb [trusted=yes] copy://{os.path.abspath(args.debs)} ./"]


def mmdebstrap_prefix(args: argparse.Namespace, output_format: str) -> list[str]:
    """mmdebstrap with the rootfs's variant and packages, as the build (`rootfs`) and its lock
    (`rootfs-lock`) both run it."""
    argv = ["mmdebstrap", f"--variant={args.variant}", "--mode=root", f"--format={output_format}"]
    if args.include:
        argv.append("--include=" + ",".join(args.include))
    return argv


def shown(args: argparse.Namespace, command: str) -> str:
    """A command as logs and the image's history show it: the sandbox's path is no part of it."""
    return command.replace(os.path.abspath(args.debs), "locked-debs") if args.debs else command


def run_mmdebstrap(args: argparse.Namespace, argv: list[str]) -> int:
    """Run mmdebstrap with the auth hooks and SOURCE_DATE_EPOCH, its output into the build log; return its
    exit code."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(args.epoch)}
    with open(args.log, "w") as log:
        log.write("$ " + shown(args, " ".join(argv)) + "\n")
        log.flush()
        proc = subprocess.run(
            [*argv[:-3], *apt_auth_hooks(args.apt_auth), *argv[-3:]],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return proc.returncode


def rootfs_config(epoch: int, created_by: str) -> dict:
    """The image config of the one-layer rootfs image: Debian's default PATH and a shell."""
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": docker_archive.iso(epoch),
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/bash"],
        },
        "history": [{"created": docker_archive.iso(epoch), "created_by": created_by}],
    }


def cmd_pull(args: argparse.Namespace) -> int:
    if shutil.which("skopeo") is None:
        print("skopeo is not installed: apt-get install -y skopeo", file=sys.stderr)
        return exit_codes.BUILD_FAILED
    pulled = os.path.abspath("pulled.tar")
    # By digest: skopeo checks the manifest against it. No signature policy file is needed for that.
    argv = [
        "skopeo",
        "--insecure-policy",
        "copy",
        f"--src-tls-verify={'false' if args.plain_http else 'true'}",
        f"docker://{args.image}",
        f"docker-archive:{pulled}",
    ]
    with open(args.log, "w") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        print_log_tail(args.log, f"pulling {args.image} failed with exit code {proc.returncode}")
        return exit_codes.BUILD_FAILED
    saved = os.path.abspath("pulled")
    docker_archive.extract_tar(pulled, saved)
    manifest = docker_archive.read_manifest(saved)
    with open(os.path.join(saved, manifest["Config"])) as f:
        config = json.load(f)
    docker_archive.write_image(
        args.out, config, [os.path.join(saved, p) for p in manifest["Layers"]], UNNAMED
    )
    return 0


# apt's main auth file, not one in auth.conf.d/: the apt package ships that folder, and adding then
# removing a file there changes its mtime, so a rootfs built with an auth file would differ from one
# built without (remote and local rootfs IDs would differ whenever only one of the runs had credentials).
# mmdebstrap writes /etc/apt itself, so its mtime is clamped to SOURCE_DATE_EPOCH either way: no trace.
APT_AUTH_IN_CHROOT = "/etc/apt/auth.conf"


def apt_auth_hooks(auth_file: str) -> list[str]:
    """mmdebstrap hooks giving apt the mirror's login (an auth.conf file outside the cache key, see
    util_rules/rootfs_mirror_auth.py) for the downloads, then removing it before the tree is packed. Not logged
    and not in the image's history: the file path is the sandbox's."""
    if not auth_file or not os.path.exists(auth_file) or os.path.getsize(auth_file) == 0:
        return []
    return [
        f"--setup-hook=upload {os.path.abspath(auth_file)} {APT_AUTH_IN_CHROOT}",
        f'--customize-hook=rm -f "$1{APT_AUTH_IN_CHROOT}"',
    ]
