"""engine_watch (the names pantsd trusts between runs) against the real engine's event stream: a verified
name stays trusted only while the stream is connected and reports no image event."""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
import uuid
from contextlib import contextmanager

import pytest

from pants_kolla.engine_watch import EngineWatch

REPOSITORY = "kolla/watch-test"


def eventually(condition, timeout: float = 120.0) -> bool:
    """Poll `condition` (a loaded machine may take long; a condition that holds returns at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def docker_host(docker_client) -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@pytest.fixture
def imported(docker_client):
    """A one-file image made from a tarball (nothing to pull, nothing to build), removed afterwards."""
    payload = uuid.uuid4().hex.encode()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    ref = f"{REPOSITORY}:{uuid.uuid4().hex[:10]}"
    docker_client.api.import_image_from_data(data.getvalue(), repository=REPOSITORY, tag=ref.split(":")[1])
    image_id = docker_client.images.get(ref).id
    yield ref, image_id
    docker_client.api.remove_image(image_id, force=True)


def test_a_verified_name_stays_trusted_until_an_image_event(docker_client, docker_host, imported) -> None:
    ref, image_id = imported
    watch = EngineWatch(docker_host)
    watch.ensure_watching()
    names, token = watch.snapshot()
    assert token is not None and names == frozenset()
    watch.record(token, ref, image_id)
    assert watch.snapshot()[0] == {(ref, image_id)}

    # Reading an image (save) changes no name: still trusted once the watcher has read that event.
    seen = watch.events_seen
    b"".join(docker_client.api.get_image(image_id))
    assert eventually(lambda: watch.events_seen > seen)
    assert watch.snapshot()[0] == {(ref, image_id)}

    # Any name change forgets everything, and a check made before it cannot be recorded any more.
    docker_client.api.tag(image_id, REPOSITORY, "other-" + uuid.uuid4().hex[:6])
    assert eventually(lambda: watch.snapshot()[0] == frozenset())
    watch.record(token, ref, image_id)
    assert watch.snapshot()[0] == frozenset()

    _, token = watch.snapshot()
    watch.record(token, ref, image_id)
    assert watch.snapshot()[0] == {(ref, image_id)}
    docker_client.api.remove_image(ref)
    assert eventually(lambda: watch.snapshot()[0] == frozenset())


def test_nothing_is_trusted_without_an_engine() -> None:
    watch = EngineWatch("unix:///nonexistent/docker.sock")
    watch.ensure_watching()
    assert watch.snapshot() == (frozenset(), None)
    watch.record(None, "kolla/x:y", "sha256:0")
    assert watch.snapshot() == (frozenset(), None)


def test_a_dropped_stream_forgets_every_name() -> None:
    """The engine stopping ends the stream: what was trusted may have changed while it was down, so
    nothing is trusted until a new stream connects, and then neither the old names nor a check made
    before the drop (its token) are."""
    first_ends, streams_ended, stop = threading.Event(), [], threading.Event()

    @contextmanager
    def stream(_host: str, _since: float):
        index = len(streams_ended)
        streams_ended.append(threading.Event())

        def events():
            (first_ends if index == 0 else stop).wait(120)
            return
            yield

        try:
            yield events()
        finally:
            streams_ended[index].set()

    watch = EngineWatch("unix:///fake", open_events=stream)
    watch.ensure_watching()
    _, token = watch.snapshot()
    watch.record(token, "kolla/x:y", "sha256:1")
    assert watch.snapshot()[0] == {("kolla/x:y", "sha256:1")}
    first_ends.set()
    assert streams_ended[0].wait(120)
    assert eventually(lambda: watch.snapshot() == (frozenset(), None))
    try:
        watch.ensure_watching()  # reconnects
        names, new_token = watch.snapshot()
        assert new_token is not None and new_token != token
        assert names == frozenset()
        watch.record(token, "kolla/x:y", "sha256:1")  # checked before the drop: refused
        assert watch.snapshot()[0] == frozenset()
    finally:
        stop.set()
