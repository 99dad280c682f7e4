"""The builder's engine calls (builder/engine_build.py) against the real engine: a `RUN` step that prints
nothing for longer than the client's timeout is not a lost engine, and a build leaves only what it
loads behind (its un-normalized image and step images are removed), and a load sends only the layers
the engine lacks."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import uuid

import pytest

from pants_kolla.builder import docker_archive, engine_build
from pants_kolla.builder.engine_http import EngineClient
from pants_kolla_tests.tar_files import write_layer_tar


@pytest.fixture(scope="module")
def sleeper_image(docker_client):
    """An image holding only the host's `sleep` and the libraries it loads (nothing to pull)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for path in ("/bin/sleep", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"):
            tar.add(os.path.realpath(path), arcname=path.lstrip("/"))
    repository, tag = "kolla/builder-engine-test", uuid.uuid4().hex[:10]
    docker_client.api.import_image_from_data(data.getvalue(), repository=repository, tag=tag)
    image_id = docker_client.images.get(f"{repository}:{tag}").id
    yield image_id
    docker_client.api.remove_image(image_id, force=True)


def short_timeout_client() -> EngineClient:
    # The builder's own client has a generous timeout; a short one shows that no read timeout applies
    # to a build's output stream, however long a step stays silent.
    return EngineClient.from_env(timeout=2)


def builder_client() -> EngineClient:
    return EngineClient.from_env(timeout=60)


def build(tmp_path, dockerfile: str) -> str:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    with open(tmp_path / "build.log", "w") as log:
        return engine_build.build(short_timeout_client(), str(context), {}, True, log)


def test_a_silent_step_longer_than_the_client_timeout_is_not_a_lost_engine(
    sleeper_image, tmp_path, docker_client
) -> None:
    marker = uuid.uuid4().hex
    image_id = build(tmp_path, f'FROM {sleeper_image}\nLABEL run="{marker}"\n' f'RUN ["/bin/sleep", "8"]\n')
    try:
        assert docker_client.images.get(image_id).labels["run"] == marker
    finally:
        client = builder_client()
        engine_build.remove_images(client, engine_build.step_images(client, image_id, "", sleeper_image))


def test_removing_a_build_removes_its_step_images(sleeper_image, tmp_path, docker_client) -> None:
    marker = uuid.uuid4().hex
    image_id = build(
        tmp_path,
        f'FROM {sleeper_image}\nLABEL run="{marker}"\n' f'RUN ["/bin/sleep", "0"]\nLABEL second="step"\n',
    )
    steps = docker_client.images.list(all=True, filters={"label": f"run={marker}"})
    assert len(steps) == 3  # LABEL, RUN, LABEL: the classic builder keeps one image per step
    client = builder_client()
    engine_build.remove_images(client, engine_build.step_images(client, image_id, "", sleeper_image))
    assert docker_client.images.list(all=True, filters={"label": f"run={marker}"}) == []
    assert docker_client.images.get(sleeper_image)  # the parent stays


def test_removing_a_build_keeps_its_untagged_parent(sleeper_image, tmp_path, docker_client) -> None:
    """Images are named only after a run, so a parent is untagged while its children build: the engine's
    own pruning would remove it with the child's steps, and `package` could then not tag it."""
    marker = uuid.uuid4().hex
    (tmp_path / "parent").mkdir()
    (tmp_path / "child").mkdir()
    parent_id = build(tmp_path / "parent", f'FROM {sleeper_image}\nLABEL parent="{marker}"\n')
    assert not docker_client.images.get(parent_id).tags
    child_id = build(
        tmp_path / "child", f'FROM {parent_id}\nLABEL run="{marker}"\n' f'RUN ["/bin/sleep", "0"]\n'
    )
    client = builder_client()
    engine_build.remove_images(client, engine_build.step_images(client, child_id, "", parent_id))
    assert docker_client.images.list(all=True, filters={"label": f"run={marker}"}) == []
    assert docker_client.images.get(parent_id)  # the parent stays
    docker_client.api.remove_image(parent_id, noprune=True)


def layer_of(tmp_path, name: str) -> str:
    """A one-file layer tar, unique to this test run."""
    return write_layer_tar(tmp_path / f"{name}.tar", {name: f"{name} {uuid.uuid4().hex}\n".encode()})


def archive(tmp_path, name: str, layers: list[str]) -> str:
    """A docker-archive directory of copies of the given layer tars (write_image moves them in)."""
    out = tmp_path / name
    copies = []
    for i, layer in enumerate(layers):
        copies.append(str(shutil.copyfile(layer, tmp_path / f"{name}-{i}.tar")))
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"test": name}}}
    docker_archive.write_image(str(out), config, copies, f"kolla/load-test:{name}")
    return str(out)


def test_a_load_sends_only_the_layers_the_engine_lacks(tmp_path, docker_client, monkeypatch) -> None:
    """An edited image shares its leading layers with its earlier build, which the engine holds: those
    layers are found in the engine's layer store and left out of the tar; the image loads all the same."""
    if os.geteuid() != 0:
        pytest.skip("the engine's storage is readable by root only")
    bottom, middle, top = (layer_of(tmp_path, name) for name in ("bottom", "middle", "top"))
    earlier = archive(tmp_path, "earlier", [bottom, middle])
    edited = archive(tmp_path, "edited", [bottom, middle, top])
    client = builder_client()
    sent: list[int] = []
    send = engine_build._send

    def recording_send(c, d, skip):
        sent.append(skip)
        send(c, d, skip)

    monkeypatch.setattr(engine_build, "_send", recording_send)
    loaded = []
    try:
        loaded.append(engine_build.load(client, earlier))
        loaded.append(engine_build.load(client, edited))
        assert sent == [0, 2]  # the earlier image sent every layer, the edited one only its new top
        image = docker_client.images.get(loaded[1])
        assert image.attrs["RootFS"]["Layers"] == docker_archive.diff_ids(edited)
        chain = engine_build.chain_ids(docker_archive.diff_ids(edited))
        assert chain[0] == docker_archive.diff_ids(edited)[0] and len(set(chain)) == 3
    finally:
        for image_id in reversed(loaded):
            docker_client.api.remove_image(image_id, force=True)


def test_a_layer_gone_before_the_load_is_sent_after_all(tmp_path, docker_client, monkeypatch) -> None:
    """The check finds a layer held, the engine no longer has it when it reads the tar (another run's
    clean-up in between): the load is made again with every layer."""
    bottom, top = layer_of(tmp_path, "bottom"), layer_of(tmp_path, "top")
    image_dir = archive(tmp_path, "image", [bottom, top])
    monkeypatch.setattr(engine_build, "_held_prefix", lambda client, layers, start: len(layers) - 1)
    image_id = engine_build.load(builder_client(), image_dir)
    try:
        assert docker_client.images.get(image_id).attrs["RootFS"]["Layers"] == docker_archive.diff_ids(
            image_dir
        )
    finally:
        docker_client.api.remove_image(image_id, force=True)
