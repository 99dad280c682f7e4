"""The `build` and `load` commands: build an image FROM its parent with the Docker engine or buildah,
write its normalized archive, and load that into the engine (children build FROM it)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Iterator

from pants_kolla.builder import docker_archive, exit_codes
from pants_kolla.builder.build_log import MIRROR_HICCUP_LINE, print_log_tail, timed
from pants_kolla.builder.docker_archive import UNNAMED

if TYPE_CHECKING:
    from pants_kolla.builder.engine_http import EngineClient


class ImageBuildFailed(Exception):
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
            raise ImageBuildFailed(str(e))
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
        raise ImageBuildFailed(str(e))
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
        except ImageBuildFailed as e:
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
        raise ImageBuildFailed(
            f"a locked build serves its .debs on this host's loopback, which the engine at {engine} cannot "
            "reach: build with an engine on this host (its unix socket), or with buildah"
        )
    with debs_proxy.serving(folder) as proxy:
        build_args["http_proxy"] = proxy
        yield


def report_build_failure(log_path: str, error: ImageBuildFailed) -> int:
    """Print the log's tail and return the exit code: TRANSIENT when the log shows a mirror hiccup."""
    with open(log_path, errors="replace") as f:
        transient = bool(MIRROR_HICCUP_LINE.search(f.read()))
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
