"""engine_watch (the names pantsd trusts between runs) against the real engine's event stream: a verified
name stays trusted only while the stream is connected and reports no image event."""

from __future__ import annotations

import os
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest

from pants_kolla.docker_api import engine_client
from pants_kolla.docker_api.engine_events import READ_ONLY_ACTIONS, EngineWatch


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


class RecordedStream:
    """The engine's real event stream, each event also kept here: the engine is shared with tests
    running at the same time, so a test must know which events (its own or another's) the watcher saw."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    @contextmanager
    def __call__(self, host: engine_client.Endpoint | str, since: float) -> Iterator[Iterator[dict]]:
        with engine_client.image_events(host, since) as events:

            def relay() -> Iterator[dict]:
                for event in events:
                    self.events.append(event)
                    yield event

            yield relay()


def saved(docker_client, watch: EngineWatch, stream: RecordedStream, image_id: str) -> int:
    """Save `image_id` (a read-only event) and wait until the watcher has handled that event, so every
    event before it has been handled too (the stream is ordered). Returns its index in `stream.events`."""
    start = len(stream.events)
    b"".join(docker_client.api.get_image(image_id))

    def handled() -> int | None:
        for index in range(start, len(stream.events)):
            event = stream.events[index]
            if event.get("Action") == "save" and event.get("id") == image_id and watch.events_seen > index:
                return index
        return None

    assert eventually(lambda: handled() is not None), "the watcher never reported the image's save event"
    index = handled()
    assert index is not None
    return index


def trusted_across_a_save(docker_client, watch, stream, image_id: str, ref: str) -> bool | None:
    """Record `ref` with a fresh token, save the image, and say whether `ref` is still trusted once the
    watcher has handled the save; None when an event that is not read-only (another test's tag, say)
    reached the watcher in between, which rightly forgets every name and so says nothing here."""
    before = saved(docker_client, watch, stream, image_id)
    _, token = watch.snapshot()
    watch.record(token, ref, image_id)
    after = saved(docker_client, watch, stream, image_id)
    window = stream.events[before + 1 : after + 1]
    if any(event.get("Action") not in READ_ONLY_ACTIONS for event in window):
        return None
    return (ref, image_id) in watch.snapshot()[0]


def quiet_attempts(attempt: Callable[[], bool | None], tries: int = 30) -> bool:
    """The first answer of `attempt` not spoilt by another test's event; failing when the engine never
    stays quiet for the few milliseconds one attempt takes, so the test cannot pass by never checking."""
    for _ in range(tries):
        answer = attempt()
        if answer is not None:
            return answer
    pytest.fail(f"another client changed image names during each of {tries} attempts")


def test_a_verified_name_stays_trusted_until_an_image_event(docker_client, docker_host, imported) -> None:
    ref, image_id = imported
    repository = ref.split(":")[0]
    stream = RecordedStream()
    watch = EngineWatch(docker_host, open_events=stream)
    watch.ensure_watching()
    assert watch.snapshot()[1] is not None

    # Reading an image (save) changes no name: a name recorded before it is still trusted after it.
    assert quiet_attempts(lambda: trusted_across_a_save(docker_client, watch, stream, image_id, ref))

    # Any name change forgets everything, and a check made before it cannot be recorded after it.
    _, token = watch.snapshot()
    docker_client.api.tag(image_id, repository, "other-" + uuid.uuid4().hex[:6])
    assert eventually(lambda: watch.snapshot()[0] == frozenset())
    watch.record(token, ref, image_id)
    assert watch.snapshot()[0] == frozenset()

    # A name change while a name is trusted forgets it (the watcher has handled the tag once the save
    # made after it has been handled).
    assert quiet_attempts(lambda: trusted_across_a_save(docker_client, watch, stream, image_id, ref))
    other = "again-" + uuid.uuid4().hex[:6]
    docker_client.api.tag(image_id, repository, other)
    saved(docker_client, watch, stream, image_id)
    assert watch.snapshot()[0] == frozenset()
    docker_client.api.remove_image(f"{repository}:{other}")


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
    first_ends, stop = threading.Event(), threading.Event()
    streams_ended: list[threading.Event] = []

    @contextmanager
    def stream(_host: engine_client.Endpoint | str, _since: float) -> Iterator[Iterator[dict]]:
        index = len(streams_ended)
        streams_ended.append(threading.Event())

        def events() -> Iterator[dict]:
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
