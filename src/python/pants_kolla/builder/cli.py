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
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Callable, Iterator

from pants_kolla.builder import docker_archive, exit_codes

if TYPE_CHECKING:
    from pants_kolla.builder.engine_http import EngineClient

# Builds never see the image's name (the tag is not part of what is built, nor of the cache key): the
# archive is written under this placeholder, and the rule names it (util_rules/build_image.py).
UNNAMED = "pants-kolla/unnamed:build"
LOG_TAIL_LINES = 30
# Log lines of failures worth retrying (a mirror hiccup), as opposed to a broken Dockerfile.
TRANSIENT = re.compile(
    r"(Temporary failure|Could not resolve|Connection (timed out|reset|refused)|"
    r"Hash Sum mismatch|503 Service Unavailable|Unable to fetch some archives)",
    re.I,
)


def print_log_tail(log_path: str, headline: str) -> None:
    with open(log_path, errors="replace") as f:
        tail = f.read().splitlines()[-LOG_TAIL_LINES:]
    print(headline, file=sys.stderr)
    print(f"--- last {len(tail)} lines of the build log ---", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)


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


@contextmanager
def timed(log: IO[str], step: str) -> Iterator[None]:
    """Log how long a step took: the build log then says where an image's time went."""
    start = time.monotonic()
    yield
    log.write(f"-- {step}: {time.monotonic() - start:.2f} s\n")


class BuildFailed(Exception):
    pass


@dataclass
class Built:
    """A build's result: in `saved_dir` (buildah), or in the engine (`client`, `image_id`)."""

    client: EngineClient | None = None
    image_id: str = ""
    parent_id: str = ""


def _build_once(
    args: argparse.Namespace, context: str, build_args: dict, saved_dir: str, log: IO[str]
) -> Built:
    if args.builder == "buildah":
        from pants_kolla.builder import buildah_build

        try:
            buildah_build.build(
                context, args.parent, UNNAMED, build_args, args.epoch, saved_dir, log, args.debs
            )
        except buildah_build.BuildahFailed as e:
            raise BuildFailed(str(e))
        return Built()
    from pants_kolla.builder import engine_build

    with timed(log, "connect and load the parent"):
        client = engine_build.connect()
        parent_id = engine_build.load(client, args.parent, args.parent_base_id)
    log.write(f"parent = {parent_id}\n")
    try:
        with timed(log, "docker build"):
            image_id = engine_build.build(client, context, build_args, args.engine_cache, log)
    except engine_build.BuildFailed as e:
        raise BuildFailed(str(e))
    return Built(client, image_id, parent_id)


def _normalize(args: argparse.Namespace, built: Built, saved_dir: str, log: IO[str]) -> str:
    """Write the reproducible archive of the build to `args.out`; return its image ID."""
    out, work = os.path.abspath(args.out), os.path.abspath(".")
    client = built.client
    if client is not None:
        from pants_kolla.builder import engine_build

        if args.read_engine_storage:
            with timed(log, "normalize the new layers from the engine's storage"):
                image_id = engine_build.normalize_from_engine(
                    client, built.image_id, out, UNNAMED, args.epoch, work, args.parent
                )
            if image_id is not None:
                return image_id
            log.write("-- the engine's storage is not readable here: docker save\n")
        with timed(log, "docker save"):
            engine_build.save(client, built.image_id, saved_dir)
    with timed(log, "normalize"):
        return docker_archive.normalize_saved_image(saved_dir, out, UNNAMED, args.epoch, work, args.parent)


def normalize_modes(context: str) -> None:
    """Give context files the modes a local Pants sandbox gives them (0755 if the owner may execute,
    else 0644; folders 0755): remote workers materialize inputs with other modes (Bazel's: 0744), and
    a COPY'd file's mode is part of the layer, so the image ID would depend on where it was built."""
    for folder, dirs, files in os.walk(context):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & stat.S_IXUSR
                os.chmod(path, 0o755 if executable else 0o644)


def cmd_build(args: argparse.Namespace) -> int:
    context = os.path.abspath(args.context)
    # The kolla_image field rejects these when the BUILD file is parsed; a direct caller gets one line.
    malformed = [kv for kv in args.build_arg if "=" not in kv]
    if malformed:
        print(f"--build-arg must be NAME=value, got: {', '.join(malformed)}", file=sys.stderr)
        return exit_codes.USAGE
    normalize_modes(context)
    build_args = dict(kv.split("=", 1) for kv in args.build_arg)
    saved_dir = os.path.abspath("saved")
    with open(args.log, "w") as log:
        try:
            with _locked_debs(args.debs, args.builder, build_args):
                built = _build_once(args, context, build_args, saved_dir, log)
        except BuildFailed as e:
            log.close()
            return report_build_failure(args.log, e)
        image_id = _normalize(args, built, saved_dir, log)
        if args.squash:
            from pants_kolla.builder import layer_squash

            with timed(log, "squash the image's own layers"):
                image_id = layer_squash.squash_archive(
                    os.path.abspath(args.out), args.parent, args.epoch, os.path.abspath("."), UNNAMED
                )
        log.write(f"normalized image = {image_id}\n")
        steps = _load_normalized(args, built.client, built, image_id, log) if built.client else []
    if args.step_images_out:
        # What the build leaves in the engine for its layer cache: its step images' IDs, newest first.
        with open(args.step_images_out, "w") as f:
            json.dump(steps, f)
    shutil.rmtree(saved_dir, ignore_errors=True)
    return 0


@contextmanager
def _locked_debs(folder: str, builder: str, build_args: dict) -> Iterator[None]:
    """With a package lock and the Docker engine, its .debs are served to the RUN steps for the build's
    duration (buildah mounts them instead: see buildah_build.py)."""
    if not folder or builder == "buildah":
        yield
        return
    from pants_kolla.builder import debs_proxy

    engine = os.environ.get("DOCKER_HOST", "") if builder == "docker" else ""
    if engine.startswith(("tcp://", "http://", "https://")) and not debs_proxy.is_loopback(engine):
        raise BuildFailed(
            f"a locked build serves its .debs on this host's loopback, which the engine at {engine} cannot "
            "reach: build with an engine on this host (its unix socket), or with buildah"
        )
    with debs_proxy.serving(folder) as proxy:
        build_args["http_proxy"] = proxy
        yield


def report_build_failure(log_path: str, error: BuildFailed) -> int:
    """Print the log's tail and return the exit code: TRANSIENT when the log shows a mirror hiccup."""
    with open(log_path, errors="replace") as f:
        transient = bool(TRANSIENT.search(f.read()))
    print_log_tail(log_path, f"The build failed{' (transient)' if transient else ''}: {error}")
    # The rule retries transient failures ([kolla].retries), so the count is not in this key.
    return exit_codes.TRANSIENT if transient else exit_codes.BUILD_FAILED


def _load_normalized(
    args: argparse.Namespace, client: EngineClient, built: Built, image_id: str, log: IO[str]
) -> list[str]:
    """Children build FROM the normalized image: load it into the engine at the end of its build, while
    the engine surely holds its parent (only its own layers are sent), rather than in a separate process
    per image. `package` also checks the engine per run and loads from the archive when it lacks it.
    Returns the step images kept for the engine's layer cache (none when it is off: they are removed)."""
    from pants_kolla.builder import engine_build

    with timed(log, "load the normalized image"):
        engine_build.load(client, os.path.abspath(args.out), built.parent_id)
    steps = engine_build.step_images(client, built.image_id, image_id, built.parent_id)
    if args.engine_cache:
        # Kept for the engine's layer cache; the rule removes the previous build's set of this target.
        log.write(f"step images kept = {len(steps)}\n")
        return steps
    with timed(log, "remove the un-normalized image and its steps"):
        engine_build.remove_images(client, steps)
    return []


def cmd_load(args: argparse.Namespace) -> int:
    from pants_kolla.builder import engine_build

    client = engine_build.connect()
    image_id = engine_build.load(client, args.image, args.base_id)
    for ref in args.tag:
        if engine_build.engine_has(client, ref) != image_id:
            engine_build.tag(client, image_id, ref)
    with open(args.out, "w") as f:
        json.dump({"image_id": image_id, "tags": args.tag}, f, sort_keys=True)
    return 0


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
