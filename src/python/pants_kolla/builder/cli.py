"""The out-of-process image builder that Pants runs as a cached `Process`.

It sees only what the rule put in its sandbox (rendered Dockerfile, declared context files, the parent
image as a docker-archive directory) and writes its result as files (a normalized docker-archive
directory and the build log), so Pants caches the image by content. Subcommands:

  rootfs  run mmdebstrap and pack its tarball as a one-layer image
  pull    pull a root image by digest from a registry (skopeo) into a docker-archive directory
  build   build the Dockerfile FROM the parent, with the Docker engine (then load the normalized image
          back: children build FROM it) or buildah
  load    make sure the engine holds an archived image under the given tags (per-session step)
  lock    resolve an image's package installs with apt in a container of its parent (`kolla-lock`)
  rootfs-lock  resolve a rootfs's .debs with mmdebstrap (`kolla-lock`)
  oci-layout  compress an image's new layers into an OCI layout (`publish`'s input, cached)
  publish push every image of a run by digest with skopeo, then move the tags (`publish`)
  file-index  list the files an image's own layers leave, with their sha256 (`kolla-size`, cached)
  probe   report the builders this machine has (tool_probe.py; under remote execution, the worker's)

Exit codes: builder/exit_codes.py (shared with the rules).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from pants_kolla.builder import exit_codes
from pants_kolla.builder.build_commands import cmd_build, cmd_load
from pants_kolla.builder.root_image_commands import cmd_pull, cmd_rootfs


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "probe":
        from pants_kolla.builder import tool_probe

        return tool_probe.cmd_probe(args)
    if args.command == "publish":
        from pants_kolla.builder import registry_publish

        return registry_publish.cmd_publish(args.plan, args.repository, args.state, args.run)
    if args.command == "oci-layout":
        from pants_kolla.builder import oci_layout

        return oci_layout.cmd_oci_layout(args.image, args.parent_layers, args.out)
    if args.command == "file-index":
        from pants_kolla.builder import file_index

        return file_index.cmd_file_index(args.image, args.inherited_layers, args.out)
    if args.command in ("lock", "rootfs-lock"):
        from pants_kolla.builder import lock_resolve

        return lock_resolve.cmd_lock(args) if args.command == "lock" else lock_resolve.cmd_rootfs_lock(args)
    return run_image_step(args)


def run_image_step(args: argparse.Namespace) -> int:
    """Run `rootfs`, `pull`, `build` or `load`; an engine lost during `build` or `load` is reported in one
    line with ENGINE_UNREACHABLE."""
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "rootfs": cmd_rootfs,
        "pull": cmd_pull,
        "build": cmd_build,
        "load": cmd_load,
    }
    try:
        returncode = commands[args.command](args)
        if returncode == 0 and getattr(args, "packages_out", None):
            write_packages(args)
        return returncode
    except Exception as e:
        # The engine went away mid-command (killed, restarted): one line and the engine's exit code, so
        # the rule reports how to start it instead of a traceback.
        from pants_kolla.builder import engine_build

        if args.command in ("rootfs", "pull") or not engine_build.is_connection_error(e):
            raise
        image = f" of {', '.join(args.tag)}" if args.command == "load" else ""
        print(f"Lost the Docker engine during `{args.command}`{image}: {e}", file=sys.stderr)
        return exit_codes.ENGINE_UNREACHABLE


def write_packages(args: argparse.Namespace) -> None:
    """The built image's dpkg database, for its SBOM: read from the layers just written; where they do
    not touch it, the parent's, as the parent's build wrote it (reading the rootfs's layer for it would
    cost every build ~0.2 s)."""
    from pants_kolla.builder import image_files

    image_files.write_dpkg_status(args.out, getattr(args, "parent_packages", ""), args.packages_out)


def build_parser() -> argparse.ArgumentParser:
    """The command line the rules call: one subcommand per step, each with its flags."""
    parser = argparse.ArgumentParser(prog="pants-kolla-builder")
    sub = parser.add_subparsers(dest="command", required=True)
    add_pull_and_rootfs(sub)
    add_build(sub)
    add_load_publish_and_probe(sub)
    return parser


def add_pull_and_rootfs(sub: argparse._SubParsersAction) -> None:
    pull = sub.add_parser("pull")
    pull.add_argument("--image", required=True)
    pull.add_argument("--plain-http", action="store_true")
    pull.add_argument("--out", required=True)
    pull.add_argument("--log", required=True)
    add_packages_out(pull)
    rootfs = add_mmdebstrap_args(sub.add_parser("rootfs"))
    rootfs.add_argument("--apt-auth", default="", help="An apt auth.conf file for the mirror, if not empty.")
    rootfs.add_argument("--epoch", type=int, required=True)
    rootfs.add_argument("--debs", default="", help="a folder of the lock's .debs: install only those")
    rootfs.add_argument("--out", required=True)
    rootfs.add_argument("--log", required=True)
    add_packages_out(rootfs)


def add_packages_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--packages-out", default="", help="write the image's dpkg status file here")


def add_mmdebstrap_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """What a rootfs is made of, for `rootfs` (the build) and `rootfs-lock` (its lock)."""
    parser.add_argument("--suite", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--include", action="append", default=[])
    parser.add_argument("--mirror", required=True)
    return parser


def add_build(sub: argparse._SubParsersAction) -> None:
    build = sub.add_parser("build")
    build.add_argument("--builder", choices=("docker", "buildah"), required=True)
    build.add_argument("--builder-version", default="", help="Only here to be part of the cache key.")
    build.add_argument("--context", required=True)
    build.add_argument("--parent", required=True)
    build.add_argument("--parent-base-id", default="", help="The parent's own parent image ID, if any.")
    build.add_argument(
        "--parent-packages", required=True, help="the parent's dpkg status, as its build wrote it"
    )
    build.add_argument("--build-arg", action="append", default=[])
    build.add_argument("--epoch", type=int, required=True)
    build.add_argument("--no-engine-cache", dest="engine_cache", action="store_false")
    build.add_argument("--step-images-out", default="", help="write the IDs of the step images kept here")
    build.add_argument("--no-read-engine-storage", dest="read_engine_storage", action="store_false")
    build.add_argument("--debs", default="", help="a folder of locked .debs to serve to the RUN steps")
    build.add_argument("--squash", action="store_true", help="merge the image's own layers into one")
    build.add_argument("--out", required=True)
    build.add_argument("--log", required=True)
    add_packages_out(build)


def add_load_publish_and_probe(sub: argparse._SubParsersAction) -> None:
    load = sub.add_parser("load")
    load.add_argument("--image", required=True)
    load.add_argument("--base-id", default="", help="The image's parent ID: its layers need not be sent.")
    load.add_argument("--tag", action="append", default=[])
    load.add_argument("--out", required=True)

    index = sub.add_parser("file-index")
    index.add_argument("--image", required=True, help="a docker-archive folder")
    index.add_argument(
        "--inherited-layers", type=int, default=0, help="how many leading layers are the parent's"
    )
    index.add_argument("--out", required=True)

    layout = sub.add_parser("oci-layout")
    layout.add_argument("--image", required=True, help="a docker-archive folder")
    layout.add_argument("--parent-layers", default="", help="the parent layout's layers.json")
    layout.add_argument("--out", required=True)

    publish = sub.add_parser("publish")
    publish.add_argument("--plan", required=True, help="JSON: every image of the run, parents first")
    publish.add_argument("--repository", default="", help="report only this image")
    publish.add_argument("--state", required=True, help="a folder the run's processes share")
    publish.add_argument("--run", required=True, help="the run's token")

    lock = sub.add_parser("lock")
    lock.add_argument("--parent", required=True)
    lock.add_argument("--parent-base-id", default="")
    lock.add_argument("--installs", required=True, help="JSON: the packages of each install, in order")
    lock.add_argument("--out", required=True)
    add_mmdebstrap_args(sub.add_parser("rootfs-lock")).add_argument("--out", required=True)

    probe = sub.add_parser("probe")
    probe.add_argument("--out", required=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
