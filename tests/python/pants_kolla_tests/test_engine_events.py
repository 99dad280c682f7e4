"""engine_watch (the names pantsd trusts between runs) against the real engine's event stream: a verified
name stays trusted while the stream is connected and reports no image event that may have changed it."""

from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from pants_kolla.core.image_event_footprint import READ_ONLY_ACTIONS
from pants_kolla.docker_api import engine_client
from pants_kolla.docker_api.engine_events import EngineWatch
from pants_kolla_tests.imported_image import import_tiny_image
from pants_kolla_tests.polling import eventually


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


@dataclass
class Watched:
    """A watcher on the real engine, with the events it read, and the test's own images."""

    docker_client: object
    watch: EngineWatch
    stream: RecordedStream
    image_ids: tuple[str, ...]  # events about these are the test's own

    def foreign(self, event: dict) -> bool:
        """Another client's event that may forget every name (its tags of its own names cannot)."""
        image = (event.get("Actor") or {}).get("ID") or event.get("id")
        return image not in self.image_ids and event.get("Action") not in {*READ_ONLY_ACTIONS, "tag"}

    def trusted_across(self, ref: str, image_id: str, change: Callable[[], object]) -> bool | None:
        """Record `ref` with a fresh token, make `change`, and say whether `ref` is still trusted once the
        watcher has handled it; None when another client's event that may forget every name came in
        between, which says nothing here."""
        before = saved(self.docker_client, self.watch, self.stream, image_id)
        _, token = self.watch.snapshot()
        self.watch.record(token, ref, image_id)
        change()
        after = saved(self.docker_client, self.watch, self.stream, image_id)
        if any(self.foreign(event) for event in self.stream.events[before + 1 : after + 1]):
            return None
        return (ref, image_id) in self.watch.snapshot()[0]


def quiet_attempts(attempt: Callable[[], bool | None], tries: int = 30) -> bool:
    """The first answer of `attempt` not spoilt by another test's event; failing when the engine never
    stays quiet for the few milliseconds one attempt takes, so the test cannot pass by never checking."""
    for _ in range(tries):
        answer = attempt()
        if answer is not None:
            return answer
    pytest.fail(f"another client changed images during each of {tries} attempts")


def test_an_image_event_forgets_only_the_names_it_may_have_changed(
    docker_client, docker_host, imported
) -> None:
    ref, image_id = imported
    other_ref, other_id = import_tiny_image(docker_client)
    repository, client = ref.split(":")[0], docker_client.api
    fresh = lambda label: f"{label}-{uuid.uuid4().hex[:6]}"  # noqa: E731
    stream = RecordedStream()
    watched = Watched(
        docker_client, EngineWatch(docker_host, open_events=stream), stream, (image_id, other_id)
    )
    watched.watch.ensure_watching()
    assert watched.watch.snapshot()[1] is not None

    def still_trusted(change: Callable[[], object]) -> bool:
        client.tag(image_id, repository, ref.split(":")[1])  # `ref` on its image again
        return quiet_attempts(lambda: watched.trusted_across(ref, image_id, change))

    try:
        # Reading an image, naming another one, or giving ours a second name leave `ref` trusted.
        assert still_trusted(lambda: None)
        assert still_trusted(lambda: client.tag(other_id, repository, fresh("unrelated")))
        assert still_trusted(lambda: client.tag(image_id, repository, fresh("alias")))
        # Moving `ref` to another image forgets it.
        assert not still_trusted(lambda: client.tag(other_id, repository, ref.split(":")[1]))
        # So does a load that moves it without a `tag` event: an archive of the other image named `ref`.
        client.tag(other_id, repository, ref.split(":")[1])
        archive = b"".join(client.get_image(ref))
        assert not still_trusted(lambda: list(client.load_image(archive)))

        # Removing a name of an image a load reached forgets every name: the load may have moved one that
        # was removed before the watcher saw it.
        def doomed_name() -> None:
            doomed = fresh("doomed")
            client.tag(other_id, repository, doomed)
            client.remove_image(f"{repository}:{doomed}")

        assert not still_trusted(doomed_name)
        # A check made before an event that may have changed the name cannot be recorded after it.
        _, token = watched.watch.snapshot()
        client.tag(other_id, repository, ref.split(":")[1])
        saved(docker_client, watched.watch, stream, image_id)
        watched.watch.record(token, ref, image_id)
        assert (ref, image_id) not in watched.watch.snapshot()[0]
    finally:
        client.remove_image(other_id, force=True)


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
