"""Which trusted engine names one image event forgets (pure logic), and how the watcher judges a check
against the events it has seen since (a scripted event stream; test_engine_events.py runs the same
against the real engine's events)."""

from __future__ import annotations

import queue
from contextlib import contextmanager
from typing import Iterator

import pytest

from pants_kolla.core import image_event_footprint
from pants_kolla.core.image_event_footprint import EVERYTHING, NOTHING, event_footprint, familiar
from pants_kolla.docker_api.engine_events import EngineWatch
from pants_kolla_tests.polling import eventually

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def event(action: str, image: str, name: str = "") -> dict:
    """An image event as the engine sends it (`id` and `Actor.ID` the image, `name` its attribute)."""
    return {
        "Type": "image",
        "Action": action,
        "id": image,
        "Actor": {"ID": image, "Attributes": {"name": name}},
    }


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("kolla/cron:master", "kolla/cron:master"),
        ("docker.io/kolla/cron:master", "kolla/cron:master"),
        ("index.docker.io/library/debian:bookworm", "debian:bookworm"),
        ("library/debian", "debian:latest"),
        ("debian", "debian:latest"),
        ("localhost:5000/kolla/cron:master", "localhost:5000/kolla/cron:master"),
        ("registry.example/library/debian:12", "registry.example/library/debian:12"),
        ("kolla/cron@sha256:" + "c" * 64, "kolla/cron@sha256:" + "c" * 64),
    ],
)
def test_names_compare_as_the_engine_writes_them(ref: str, expected: str) -> None:
    assert familiar(ref) == expected


def test_a_tag_forgets_only_the_name_it_moved() -> None:
    footprint = event_footprint(event("tag", B, "kolla/cron:master"), lambda _: pytest.fail("asked"), set())
    assert footprint.affects("docker.io/kolla/cron:master", A)  # the name's previous image lost it
    assert not footprint.affects("kolla/base:master", A)
    assert not footprint.affects("kolla/base:master", B)


@pytest.mark.parametrize("action", ["untag", "delete"])
def test_removing_a_name_or_an_image_forgets_that_image_s_names(action: str) -> None:
    footprint = event_footprint(event(action, A, A), lambda _: pytest.fail("asked"), set())
    assert footprint.affects("kolla/cron:master", A)
    assert not footprint.affects("kolla/cron:master", B)


@pytest.mark.parametrize("action", ["load", "import"])
def test_a_load_forgets_the_names_the_loaded_image_holds_and_its_own(action: str) -> None:
    loaded: set[str] = set()
    footprint = event_footprint(event(action, B, B), lambda image: ["kolla/cron:master"], loaded)
    assert footprint.affects("kolla/cron:master", A)  # moved onto B without a `tag` event
    assert footprint.affects("kolla/other:x", B)
    assert not footprint.affects("kolla/base:master", A)
    assert loaded == {B}
    # A name the load may have moved and that was removed before B was asked about: never seen, so
    # removing any name of B forgets everything.
    assert event_footprint(event("untag", B, B), lambda _: [], loaded) == EVERYTHING
    assert event_footprint(event("untag", A, A), lambda _: [], loaded) != EVERYTHING


def test_a_load_of_an_image_already_gone_forgets_everything() -> None:
    assert event_footprint(event("load", B, B), lambda _: None, set()) == EVERYTHING


def test_past_the_remembered_loads_a_load_forgets_everything() -> None:
    loaded = {f"sha256:{i:064x}" for i in range(image_event_footprint.MAX_LOADED_IMAGES)}
    assert event_footprint(event("load", B, B), lambda _: [], loaded) == EVERYTHING
    assert loaded == set()


@pytest.mark.parametrize(
    "sent, expected",
    [
        (event("save", A, A), NOTHING),
        (event("push", A, "kolla/cron:master"), NOTHING),
        (event("pull", "kolla/cron:master", "kolla/cron:master"), EVERYTHING),
        (event("prune", "", ""), EVERYTHING),
        (event("untag", "", ""), EVERYTHING),
        (event("tag", A, ""), EVERYTHING),
        (event("something-new", A, A), EVERYTHING),
    ],
)
def test_reads_change_nothing_and_unknown_events_forget_everything(sent: dict, expected) -> None:
    assert event_footprint(sent, lambda _: [], set()) == expected


class ScriptedStream:
    """An event stream the test feeds one event at a time."""

    def __init__(self) -> None:
        self.events: queue.Queue[dict | None] = queue.Queue()

    @contextmanager
    def __call__(self, _host: object, _since: float) -> Iterator[Iterator[dict]]:
        def events() -> Iterator[dict]:
            while (item := self.events.get(timeout=120)) is not None:
                yield item

        yield events()


def handled(watch: EngineWatch, sent: dict, stream: ScriptedStream) -> None:
    """Send `sent` and wait until the watcher has applied it."""
    seen = watch.events_seen
    stream.events.put(sent)
    assert eventually(lambda: watch.events_seen > seen), "the watcher never handled the event"


def test_a_check_is_trusted_unless_an_event_since_its_token_may_have_changed_it() -> None:
    stream = ScriptedStream()
    watch = EngineWatch("unix:///scripted", open_events=stream, tags_of=lambda image: ["kolla/new:x"])
    watch.ensure_watching()
    try:
        _, token = watch.snapshot()
        handled(watch, event("tag", B, "kolla/unrelated:x"), stream)
        handled(watch, event("load", B, B), stream)
        watch.record(token, "kolla/cron:master", A)  # checked before events about other names
        watch.record(token, "kolla/new:x", A)  # a name the load may have moved after the check
        assert watch.snapshot()[0] == {("kolla/cron:master", A)}

        handled(watch, event("untag", B, B), stream)  # an image a load reached: everything goes
        assert watch.snapshot()[0] == frozenset()
        _, token = watch.snapshot()
        watch.record(token, "kolla/cron:master", A)
        handled(watch, event("tag", A, "kolla/cron:master"), stream)
        assert watch.snapshot()[0] == frozenset()
    finally:
        stream.events.put(None)


def test_a_check_older_than_the_logged_events_is_refused(monkeypatch) -> None:
    monkeypatch.setattr("pants_kolla.docker_api.engine_events.LOGGED_EVENTS", 3)
    stream = ScriptedStream()
    watch = EngineWatch("unix:///scripted", open_events=stream, tags_of=lambda image: [])
    watch.ensure_watching()
    try:
        _, token = watch.snapshot()
        for index in range(3):
            handled(watch, event("tag", B, f"kolla/unrelated:{index}"), stream)
        watch.record(token, "kolla/cron:master", A)  # the events since its token are all logged
        _, token = watch.snapshot()
        for index in range(4):
            handled(watch, event("tag", B, f"kolla/unrelated:{index}"), stream)
        watch.record(token, "kolla/base:master", A)  # one of them is no longer logged: cannot tell
        assert watch.snapshot()[0] == {("kolla/cron:master", A)}
    finally:
        stream.events.put(None)
