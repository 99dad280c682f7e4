"""The builder's engine calls (builder/engine_build.py) against the real engine: a `RUN` step that prints
nothing for longer than the client's timeout is not a lost engine, and a build leaves only what it
loads behind (its un-normalized image and step images are removed)."""

from __future__ import annotations

import io
import os
import tarfile
import uuid

import pytest

from pants_kolla.builder import engine_build
from pants_kolla.builder.engine_http import EngineClient


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
