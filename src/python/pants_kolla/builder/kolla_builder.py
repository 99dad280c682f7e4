"""The out-of-process image builder that Pants runs as a cached `Process`.

It only sees what the rule put in its sandbox (rendered Dockerfile, declared context files, the parent
image as a docker-archive directory) and writes its result as files (a docker-archive directory and a
build log), so Pants can cache the image by content. Subcommands:

  rootfs  run mmdebstrap and pack its tarball as a one-layer docker-archive image
  build   load the parent into the engine, build the Dockerfile, save the result
  load    make sure the engine holds an archived image under the given tags (per-session step)
  push    tag an image (by ID) for a registry and push it with the engine (`publish`, never cached)

Exit code 3 means the Dockerfile itself failed (a `RUN` step...), 4 that the engine is unreachable, 5 that
a push failed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone

EXIT_BUILD_FAILED = 3
EXIT_ENGINE_UNREACHABLE = 4
LOG_TAIL_LINES = 30


class BuildFailed(Exception):
    """The Dockerfile failed: not worth retrying unless the log looks transient."""


# -- docker-archive directories -------------------------------------------------------------------


def archive_manifest(image_dir: str) -> dict:
    with open(os.path.join(image_dir, "manifest.json")) as f:
        return json.load(f)[0]


def archive_image_id(image_dir: str) -> str:
    """The image ID is the sha256 of its config blob, named `<hex>.json` in a docker-archive."""
    return "sha256:" + archive_manifest(image_dir)["Config"].split(".")[0].split("/")[-1]


def tar_directory(image_dir: str, dest: str) -> None:
    with tarfile.open(dest, "w") as tar:
        for root, dirs, files in os.walk(image_dir):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                tar.add(path, arcname=os.path.relpath(path, image_dir), recursive=False)


def save_to_directory(client, ref: str, out_dir: str) -> None:
    """`docker save` into a directory: each layer is its own file, so identical layers are stored once
    in Pants' content store."""
    with tempfile.TemporaryFile() as tmp:
        for chunk in client.api.get_image(ref):
            tmp.write(chunk)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp, mode="r:") as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            tar.extractall(out_dir, members=members)
            # `docker save` writes a layer identical to an earlier one as a symlink to it: copy the file
            # (stored once in Pants' store anyway), or the archive only loads where the image already is.
            for link in (m for m in tar.getmembers() if m.issym()):
                target = os.path.normpath(os.path.join(os.path.dirname(link.name), link.linkname))
                if target.startswith(".."):
                    raise ValueError(f"docker save: {link.name} links outside the archive")
                shutil.copyfile(os.path.join(out_dir, target), os.path.join(out_dir, link.name))
    _rewrite_repo_tags(out_dir, [ref])


def _rewrite_repo_tags(out_dir: str, tags: list[str]) -> None:
    path = os.path.join(out_dir, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest[0]["RepoTags"] = tags
    with open(path, "w") as f:
        json.dump(manifest, f, sort_keys=True)
    # `repositories` is a legacy file whose content would only repeat the tags; docker load does not need it.
    legacy = os.path.join(out_dir, "repositories")
    if os.path.exists(legacy):
        os.remove(legacy)


def load_directory(client, image_dir: str) -> str:
    image_id = archive_image_id(image_dir)
    with tempfile.NamedTemporaryFile(suffix=".tar") as tmp:
        tar_directory(image_dir, tmp.name)
        with open(tmp.name, "rb") as f:
            # The SDK returns a lazy stream: read it to the end, so that the load has finished and its
            # errors (a missing layer file...) are reported here, not as "No such image" when tagging.
            for chunk in client.api.load_image(f, quiet=True):
                if "error" in chunk:
                    raise RuntimeError(f"docker load failed: {chunk['error']}")
    return image_id


def engine_has(client, ref: str) -> str | None:
    import docker.errors

    try:
        return client.api.inspect_image(ref)["Id"]
    except docker.errors.ImageNotFound:
        return None


def connect():
    import docker
    import docker.errors

    # The rule hands us the engine socket relative to the sandbox (see util_rules/engine.py).
    relative_socket = os.environ.get("KOLLA_ENGINE_SOCKET")
    if relative_socket:
        os.environ["DOCKER_HOST"] = "unix://" + os.path.abspath(relative_socket)
    try:
        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except docker.errors.DockerException as e:
        host = os.environ.get("DOCKER_HOST", "the default socket")
        print(f"Docker engine unreachable at {host}: {e}", file=sys.stderr)
        sys.exit(EXIT_ENGINE_UNREACHABLE)


# -- rootfs -----------------------------------------------------------------------------------------


def pack_rootfs(rootfs_tar: str, ref: str, epoch: int, created_by: str, out_dir: str) -> None:
    """Turn a rootfs tarball into a docker-archive with a fixed creation time, so the same tarball always
    gives the same image ID (unlike `docker import`, which stamps the current time)."""
    os.makedirs(out_dir, exist_ok=True)
    sha = hashlib.sha256()
    with open(rootfs_tar, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    diff_id = "sha256:" + sha.hexdigest()
    layer_dir = os.path.join(out_dir, sha.hexdigest())
    os.makedirs(layer_dir, exist_ok=True)
    shutil.move(rootfs_tar, os.path.join(layer_dir, "layer.tar"))
    created = datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/bash"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": created_by}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    with open(os.path.join(out_dir, config_name), "wb") as f:
        f.write(config_bytes)
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": [f"{sha.hexdigest()}/layer.tar"]}]
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, sort_keys=True)


def cmd_rootfs(args) -> int:
    rootfs_tar = os.path.abspath("rootfs.tar")
    if shutil.which("mmdebstrap") is None:
        print("mmdebstrap is not installed: apt-get install -y mmdebstrap", file=sys.stderr)
        return EXIT_BUILD_FAILED
    argv = ["mmdebstrap", f"--variant={args.variant}", "--mode=root", "--format=tar"]
    if args.include:
        argv.append("--include=" + ",".join(args.include))
    argv += [args.suite, rootfs_tar]
    if args.mirror:
        argv.append(args.mirror)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(args.epoch)}
    with open(args.log, "w") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        print_log_tail(args.log, f"mmdebstrap failed with exit code {proc.returncode}")
        return EXIT_BUILD_FAILED
    created_by = f"mmdebstrap --variant={args.variant} {args.suite}" + (
        " --include=" + ",".join(args.include) if args.include else ""
    )
    pack_rootfs(rootfs_tar, args.tag, args.epoch, created_by, args.out)
    return 0


# -- build ------------------------------------------------------------------------------------------


def pin_parent(dockerfile: str, parent_ref: str, parent_id: str) -> None:
    """Point `FROM <parent_ref>` at the parent's image ID: another build sharing the engine may retag the
    name concurrently, the content-addressed ID cannot change under us."""
    with open(dockerfile) as f:
        text = f.read()
    pattern = re.compile(r"^(\s*FROM\s+(?:--platform=\S+\s+)?)" + re.escape(parent_ref) + r"(\s|$)",
                         re.MULTILINE | re.IGNORECASE)
    text, count = pattern.subn(lambda m: m.group(1) + parent_id + m.group(2), text)
    if count == 0:
        print(f"The rendered Dockerfile never uses its parent image `{parent_ref}` in a FROM line.",
              file=sys.stderr)
        sys.exit(EXIT_BUILD_FAILED)
    with open(dockerfile, "w") as f:
        f.write(text)


def run_build(client, context: str, tag: str, build_args: dict, log) -> None:
    import docker.errors

    try:
        stream = client.api.build(path=context, tag=tag, rm=True, forcerm=True, pull=False, decode=True,
                                  buildargs=build_args or None)
        for chunk in stream:
            if "stream" in chunk:
                log.write(chunk["stream"])
            elif "status" in chunk:
                log.write(chunk["status"] + "\n")
            if "error" in chunk:
                log.write("ERROR: " + chunk["error"].rstrip() + "\n")
                raise BuildFailed(chunk["error"].strip())
            log.flush()
    except docker.errors.APIError as e:
        log.write(f"ERROR: {e}\n")
        raise BuildFailed(str(e))


TRANSIENT = re.compile(r"(Temporary failure|Could not resolve|Connection (timed out|reset|refused)|"
                       r"Hash Sum mismatch|503 Service Unavailable|Unable to fetch some archives)", re.I)


def cmd_build(args) -> int:
    client = connect()
    context = os.path.abspath(args.context)
    build_args = dict(kv.split("=", 1) for kv in args.build_arg)
    with open(args.log, "w") as log:
        if args.parent:
            parent_id = load_directory(client, args.parent)
            log.write(f"parent {args.parent_ref} = {parent_id}\n")
            pin_parent(os.path.join(context, "Dockerfile"), args.parent_ref, parent_id)
        for attempt in range(1, args.retries + 2):
            try:
                run_build(client, context, args.tag, build_args, log)
                break
            except BuildFailed as e:
                transient = bool(TRANSIENT.search(open(args.log).read()))
                if attempt > args.retries or not transient:
                    log.close()
                    print_log_tail(args.log, f"Building {args.tag} failed: {e}")
                    return EXIT_BUILD_FAILED
                log.write(f"-- transient failure, retry {attempt} of {args.retries}\n")
                time.sleep(2 * attempt)
    save_to_directory(client, args.tag, args.out)
    return 0


def print_log_tail(log_path: str, headline: str) -> None:
    with open(log_path, errors="replace") as f:
        tail = f.read().splitlines()[-LOG_TAIL_LINES:]
    print(headline, file=sys.stderr)
    print("--- last lines of the build log ---", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)


# -- load -------------------------------------------------------------------------------------------


def cmd_load(args) -> int:
    client = connect()
    image_id = archive_image_id(args.image)
    if engine_has(client, image_id) is None:
        load_directory(client, args.image)
        print(f"loaded {image_id}")
    for ref in args.tag:
        if engine_has(client, ref) != image_id:
            repo, _, tag = ref.rpartition(":")
            client.api.tag(image_id, repo, tag)
            print(f"tagged {ref}")
    with open(args.out, "w") as f:
        json.dump({"image_id": image_id, "tags": args.tag}, f, sort_keys=True)
    return 0


# -- push -------------------------------------------------------------------------------------------

EXIT_PUSH_FAILED = 5
# Errors meaning "the registry did not answer" (worth retrying), as the engine words them.
REGISTRY_UNREACHABLE = re.compile(r"(connection refused|no such host|i/o timeout|connection reset|"
                                  r"dial tcp|EOF|TLS handshake timeout|503 Service Unavailable)", re.I)
LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")


class PushFailed(Exception):
    pass


def check_insecure(client, registry: str, insecure: bool) -> None:
    """Plain HTTP is a daemon setting: fail early, with the fix, rather than with a TLS error."""
    if not insecure or LOOPBACK.match(registry):
        return
    import ipaddress

    config = client.info().get("RegistryConfig") or {}
    if not ((config.get("IndexConfigs") or {}).get(registry) or {}).get("Secure", True):
        return
    host = registry.rsplit(":", 1)[0].strip("[]")
    try:
        address = ipaddress.ip_address(host)
        if any(address in ipaddress.ip_network(c) for c in config.get("InsecureRegistryCIDRs") or ()):
            return
    except ValueError:
        pass  # a host name: only IndexConfigs can list it
    print(f"`{registry}` is in [kolla].insecure_registries, but the Docker engine does not treat it as "
          f"insecure. Add it to `insecure-registries` in the engine's daemon.json and restart it.",
          file=sys.stderr)
    sys.exit(EXIT_PUSH_FAILED)


def push_once(client, ref: str) -> dict:
    """One `docker push`; returns the manifest digest and what happened to each layer (the engine says
    `Layer already exists` or `Mounted from ...` for blobs the registry has: nothing is uploaded)."""
    repository, _, tag = ref.rpartition(":")
    layers: dict[str, str] = {}
    digest = None
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise PushFailed(chunk["error"].strip())
        status = chunk.get("status", "")
        if chunk.get("id") and (status in ("Pushed", "Layer already exists") or status.startswith("Mounted")):
            layers[chunk["id"]] = status
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    return {"digest": digest, "layers": layers}


def push_with_retries(client, ref: str, retries: int) -> dict:
    import docker.errors
    import requests.exceptions

    for attempt in range(1, retries + 2):
        try:
            return push_once(client, ref)
        except (PushFailed, docker.errors.APIError, requests.exceptions.ConnectionError) as e:
            if not REGISTRY_UNREACHABLE.search(str(e)):
                raise PushFailed(str(e)) from None
            if attempt > retries:
                raise PushFailed(f"the registry did not answer after {attempt} attempts (last error: {e})")
            delay = 2 ** (attempt - 1)
            print(f"push of {ref}: registry unreachable ({e}); retry {attempt} of {retries} in {delay} s",
                  file=sys.stderr, flush=True)
            time.sleep(delay)
    raise AssertionError("unreachable")


def cmd_push(args) -> int:
    client = connect()
    check_insecure(client, args.registry, args.insecure)
    if engine_has(client, args.image_id) is None:
        print(f"The engine does not hold {args.image_id}: run `pants package` first.", file=sys.stderr)
        return EXIT_PUSH_FAILED
    for ref in args.dest:
        repository, _, tag = ref.rpartition(":")
        client.api.tag(args.image_id, repository, tag)  # by ID: what we built, whatever names say now
        try:
            result = push_with_retries(client, ref, args.retries)
        except PushFailed as e:
            print(f"Pushing {ref} failed: {e}\n(credentials come from Docker's config: "
                  f"`docker login {args.registry}`, or set DOCKER_CONFIG)", file=sys.stderr)
            return EXIT_PUSH_FAILED
        statuses = list(result["layers"].values())
        uploaded = statuses.count("Pushed")
        print(f"pushed {ref}@{result['digest']} image {args.image_id}: {uploaded} layer(s) uploaded, "
              f"{len(statuses) - uploaded} already in the registry", flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kolla_builder")
    sub = parser.add_subparsers(dest="command", required=True)

    rootfs = sub.add_parser("rootfs")
    rootfs.add_argument("--suite", required=True)
    rootfs.add_argument("--variant", required=True)
    rootfs.add_argument("--include", action="append", default=[])
    rootfs.add_argument("--mirror", default="")
    rootfs.add_argument("--epoch", type=int, required=True)
    rootfs.add_argument("--tag", required=True)
    rootfs.add_argument("--out", required=True)
    rootfs.add_argument("--log", required=True)

    build = sub.add_parser("build")
    build.add_argument("--context", required=True)
    build.add_argument("--parent", default="")
    build.add_argument("--parent-ref", default="")
    build.add_argument("--tag", required=True)
    build.add_argument("--build-arg", action="append", default=[])
    build.add_argument("--retries", type=int, default=0)
    build.add_argument("--out", required=True)
    build.add_argument("--log", required=True)

    load = sub.add_parser("load")
    load.add_argument("--image", required=True)
    load.add_argument("--tag", action="append", default=[])
    load.add_argument("--out", required=True)

    push = sub.add_parser("push")
    push.add_argument("--image-id", required=True)
    push.add_argument("--registry", required=True)
    push.add_argument("--dest", action="append", required=True)
    push.add_argument("--insecure", action="store_true")
    push.add_argument("--retries", type=int, default=3)

    args = parser.parse_args(argv)
    return {"rootfs": cmd_rootfs, "build": cmd_build, "load": cmd_load, "push": cmd_push}[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
