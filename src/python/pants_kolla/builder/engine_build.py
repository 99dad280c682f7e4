"""Building through a Docker engine (the classic builder), with engine_http's client."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import IO, Iterable, Iterator

from pants_kolla.builder import docker_archive, exit_codes, layer_tar
from pants_kolla.builder.engine_http import EngineClient, EngineError, EngineUnreachable, ImageNotFound

_CHUNK = 1 << 20


class BuildFailed(Exception):
    pass


def client_from_env(timeout: int) -> EngineClient:
    # The rule hands us the engine socket relative to the sandbox (see util_rules/engine_endpoint.py).
    relative_socket = os.environ.get("KOLLA_ENGINE_SOCKET")
    if relative_socket:
        # The link's target, not the link: a socket path is limited to 108 bytes, and a remote worker's
        # sandbox paths are long.
        os.environ["DOCKER_HOST"] = "unix://" + os.path.realpath(relative_socket)
    # A TLS endpoint's certificates, likewise linked into the sandbox (the SDK reads DOCKER_TLS_VERIFY).
    if os.environ.get("DOCKER_CERT_PATH"):
        os.environ["DOCKER_CERT_PATH"] = os.path.abspath(os.environ["DOCKER_CERT_PATH"])
    return EngineClient.from_env(timeout=timeout)


def connect() -> EngineClient:
    try:
        client = client_from_env(timeout=900)
        client.ping()
        return client
    except (OSError, EngineError, EngineUnreachable, http.client.HTTPException) as e:
        print(
            f"Docker engine unreachable at {os.environ.get('DOCKER_HOST', 'the default socket')}: {e}",
            file=sys.stderr,
        )
        sys.exit(exit_codes.ENGINE_UNREACHABLE)


def is_connection_error(error: Exception) -> bool:
    # A dying engine cuts a streamed answer (build output, load progress) short, or refuses the next call.
    return isinstance(error, (ConnectionError, http.client.IncompleteRead, http.client.BadStatusLine))


def _inspect(client: EngineClient, name: str) -> dict | None:
    try:
        return client.inspect_image(name)
    except ImageNotFound:
        return None


def engine_has(client: EngineClient, ref: str) -> str | None:
    image = _inspect(client, ref)
    return image["Id"] if image else None


def load(client: EngineClient, image_dir: str, base_id: str = "") -> str:
    """Load a docker-archive directory unless the engine already holds that image ID. Layers the engine
    holds are left out of the tar: `docker load` reads a layer file only for layers it lacks, so that
    saves writing, copying and unpacking the parent's (often gigabytes of) bytes, and on an edit of an
    image, those of its steps that did not change."""
    wanted = docker_archive.image_id(image_dir)
    if engine_has(client, wanted) is None:
        layers = docker_archive.diff_ids(image_dir)
        inherited = _parent_prefix(client, layers, base_id)
        held = _held_prefix(client, layers, inherited)
        try:
            _send(client, image_dir, held)
        except LoadFailed:
            if held == inherited:
                raise
            # A layer the check found was removed before the engine read the tar (another run's
            # clean-up): send every layer but the parent's.
            _send(client, image_dir, inherited)
    return wanted


class LoadFailed(RuntimeError):
    pass


def _send(client: EngineClient, image_dir: str, skip_layers: int) -> None:
    with _tar_stream(image_dir, skip_layers) as stream:
        # The answer is a stream: read it to the end, so that load errors (a missing layer file...)
        # show here, not later as "No such image".
        for chunk in client.load_image(stream):
            if "error" in chunk:
                raise LoadFailed(f"docker load failed: {chunk['error']}")


def _parent_prefix(client: EngineClient, layers: list[str], base_id: str) -> int:
    present = _layers_of(client, base_id)
    return len(present) if layers[: len(present)] == present else 0


def _held_prefix(client: EngineClient, layers: list[str], start: int) -> int:
    """How many leading layers the engine holds, counting on from `start` known ones: where its storage
    is readable here, a layer is held when the layer store has its chain ID (moby keeps a layer under
    the digest of itself and everything below it)."""
    found = _layer_db(client)
    if found is None:
        return start
    layer_db, chain = found, chain_ids(layers)

    def stored(index: int) -> bool:
        return os.path.isfile(os.path.join(layer_db, chain[index].split(":", 1)[1], "diff"))

    # The storage found must be this engine's (a forwarded socket's engine is elsewhere): it holds the
    # layers the engine said it holds.
    if start and not stored(start - 1):
        return start
    held = start
    while held < len(layers) and stored(held):
        held += 1
    return held


def chain_ids(diff_ids: list[str]) -> list[str]:
    """moby's layer.CreateChainID for each layer of an image, bottom first."""
    chain: list[str] = []
    for diff_id in diff_ids:
        below = chain[-1] if chain else ""
        chain.append(
            "sha256:" + hashlib.sha256(f"{below} {diff_id}".encode()).hexdigest() if below else diff_id
        )
    return chain


def _layer_db(client: EngineClient) -> str | None:
    info = client.info()
    path = os.path.join(info.get("DockerRootDir", ""), "image", info.get("Driver", ""), "layerdb", "sha256")
    return path if info.get("DockerRootDir") and os.access(path, os.R_OK | os.X_OK) else None


@contextmanager
def _tar_stream(image_dir: str, skip_layers: int) -> Iterator[Iterator[bytes]]:
    """The `docker load` tar of an archive directory, written by a thread into a pipe and sent to the
    engine as it is made (chunked): the layers are read once, never copied to a temporary tar."""
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with os.fdopen(write_end, "wb") as out:
                docker_archive.write_tar(image_dir, out, skip_layers)
        except BaseException as e:  # re-raised in the caller's thread, after the engine's answer
            failure.append(e)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with os.fdopen(read_end, "rb") as tar:
        yield iter(lambda: tar.read(_CHUNK), b"")
    writer.join()
    if failure:
        raise failure[0]


def _layers_of(client: EngineClient, image: str) -> list[str]:
    inspected = _inspect(client, image) if image else None
    return list(inspected["RootFS"]["Layers"]) if inspected else []


def tag(client: EngineClient, image: str, ref: str) -> None:
    repo, _, tag_name = ref.rpartition(":")
    client.tag(image, repo, tag_name)


def build(client: EngineClient, context: str, build_args: dict, use_cache: bool, log) -> str:
    """Build untagged and return the image ID: only `package` names images, and only with the normalized
    archive, so a name in the engine never points at a half-made or unnormalized image."""
    # Host networking: RUN steps reach the mirror without depending on the engine's bridge (and, like
    # buildah's chroot isolation, without NAT).
    params = {
        "rm": "1",
        "forcerm": "1",
        "pull": "0",
        "networkmode": "host",
        "nocache": str(int(not use_cache)),
    }
    if build_args:
        params["buildargs"] = json.dumps(build_args)
    try:
        image_id = _follow_build(client.build(context, params), log)
    except EngineError as e:
        log.write(f"ERROR: {e}\n")
        raise BuildFailed(str(e))
    if image_id is None:
        client.ping()  # a stream cut short by a dying engine raises here (the caller reports it as lost)
        raise BuildFailed("the engine reported no image ID for the build")
    return image_id


def _follow_build(stream: Iterable[dict], log: IO[str]) -> str | None:
    """Copy the build's output to the log as it comes; return the image ID the engine reports, if any.
    Raises BuildFailed on the engine's first error."""
    image_id: str | None = None
    for chunk in stream:
        if "stream" in chunk:
            log.write(chunk["stream"])
        elif "status" in chunk:
            log.write(chunk["status"] + "\n")
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            log.write("ERROR: " + chunk["error"].rstrip() + "\n")
            raise BuildFailed(chunk["error"].strip())
        log.flush()
    return image_id


def step_images(client: EngineClient, built_id: str, normalized_id: str, parent_id: str) -> list[str]:
    """The un-normalized image a build made and the intermediate images of its steps, walking down to
    the image the build started FROM. Only the normalized image is ever used (children build FROM it);
    these serve the engine's layer cache for the next edit of the same image, or are removed."""
    if built_id == normalized_id or not parent_id:
        return []
    chain: list[str] = []
    current = built_id
    while current and current not in (parent_id, normalized_id) and len(chain) < 1000:
        image = _inspect(client, current)
        if image is None or image.get("RepoTags"):
            break  # gone already, or named by someone: not ours
        chain.append(current)
        current = image.get("Parent", "")
    # A walk that did not reach the parent: only the build's own image is surely the build's.
    return chain if current == parent_id else chain[:1]


def remove_images(client: EngineClient, image_ids: list[str]) -> None:
    """Remove images without pruning, newest first: the engine's own pruning would go on through the
    image a build started FROM too, since images are untagged until the run names them, and children
    still to be built (and `package`'s tagging) need it."""
    for image_id in image_ids:
        try:
            client.remove_image(image_id)
        except ImageNotFound:
            pass
        except EngineError as e:
            # Still in use (a concurrent build started FROM one of its steps through the layer cache): the
            # engine keeps it and what it stands on, which is harmless.
            print(f"kept the un-normalized image {image_id}: {e}", file=sys.stderr)
            return


def save(client: EngineClient, ref: str, saved_dir: str) -> None:
    with tempfile.NamedTemporaryFile(suffix=".tar") as tmp:
        with open(tmp.name, "wb") as f:
            for chunk in client.get_image(ref):
                f.write(chunk)
        docker_archive.extract_tar(tmp.name, saved_dir)


def normalize_from_engine(
    client: EngineClient, image_id: str, out_dir: str, ref: str, epoch: int, work_dir: str, parent_dir: str
) -> str | None:
    """Normalize a built image from the engine's own storage, without `docker save` (which re-tars every
    inherited layer). None when the engine's storage is not readable here (a remote or rootless engine,
    another storage driver): then `docker save` it is."""
    local = _local_image(client, image_id)
    if local is None:
        return None
    config, layer_dirs = local

    def write_layer(index: int, dest: str) -> None:
        layer_tar.write_normalized(layer_tar.entries_from_dir(layer_dirs[index]), dest, epoch)

    return docker_archive.normalize_image(config, write_layer, out_dir, ref, epoch, work_dir, parent_dir)


def _local_image(client: EngineClient, image_id: str) -> tuple[dict, list[str]] | None:
    """The image's config and its layers' overlay2 directories (bottom first), if readable here."""
    info = client.info()
    # Without the native overlay diff, the engine computes layer tars by comparing directories, and a
    # layer directory is not what `docker save` would hand back.
    native_diff = dict(info.get("DriverStatus") or []).get("Native Overlay Diff") == "true"
    if info.get("Driver") != "overlay2" or not native_diff:
        return None
    image = client.inspect_image(image_id)
    data = image["GraphDriver"]["Data"] or {}
    layer_dirs = [*filter(None, (data.get("LowerDir") or "").split(":"))][::-1] + [data.get("UpperDir", "")]
    digest = image_id.split(":", 1)[1]
    config_path = os.path.join(info["DockerRootDir"], "image/overlay2/imagedb/content/sha256", digest)
    if len(layer_dirs) != len(image["RootFS"]["Layers"]) or not all(
        os.access(path, os.R_OK) for path in (*layer_dirs, config_path)
    ):
        return None
    with open(config_path, "rb") as f:
        blob = f.read()
    if hashlib.sha256(blob).hexdigest() != digest:  # the image ID is its config's digest
        return None
    return json.loads(blob), layer_dirs
