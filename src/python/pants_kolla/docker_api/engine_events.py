"""Which engine names are known to still point at their images, kept in pantsd between runs.

A no-op `package` would otherwise ask the engine about every image (one inspect call each). Instead, like
pantsd watches files with inotify, it keeps one connection to the engine's event stream open in a
background thread (`GET /events`, image events only): a name verified in one run stays trusted in later
runs as long as that stream stayed connected and reported no image event that may have changed it
(image_event_footprint.py: a `tag` of that name, an `untag` or `delete` of its image, a `load` of an
image that holds it after...). An event about other images and names (another image's build, another
project's `docker build -t`) leaves it trusted; an event whose effect cannot be told, or a dropped stream
(engine stopped), forgets every trusted name. Without pantsd the process ends with the run, and nothing
is ever trusted that this run did not verify itself.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable, ContextManager, Iterator, Union

from pants_kolla.core.image_event_footprint import EVERYTHING, NOTHING, Footprint, TagsOf, event_footprint
from pants_kolla.docker_api import engine_client

CONNECT_WAIT_SECONDS = 1.0
# The stream starts with the events the engine logged since a moment before the request (it answers
# before it subscribes: an event in between would be lost). Replayed events only forget names trusted
# before, and the margin covers a remote engine's clock running a little behind ours.
REPLAY_SECONDS = 5.0
# The footprints of this many latest events are kept to judge a `record`; an older token is refused.
LOGGED_EVENTS = 1024

EventStream = Callable[[Union[engine_client.Endpoint, str], float], ContextManager[Iterator[dict]]]


class EngineWatch:
    def __init__(
        self,
        docker_host: engine_client.Endpoint | str,
        open_events: EventStream = engine_client.image_events,
        tags_of: TagsOf | None = None,
    ) -> None:
        self.docker_host = docker_host
        self._open_events = open_events
        self._tags_of = tags_of or self._engine_tags_of
        self._lock = threading.Lock()
        self._trusted: set[tuple[str, str]] = set()
        self._generation = 0  # bumped by every event that may change a name, and by every (dis)connection
        # (generation, footprint) of the latest such events, for `record` to tell whether one touched a name.
        self._log: collections.deque[tuple[int, Footprint]] = collections.deque(maxlen=LOGGED_EVENTS)
        # Images load events reached (image_event_footprint.py); only the watcher thread touches it.
        self._loaded: set[str] = set()
        self.events_seen = 0  # events read from the stream so far (tests wait on it, never sleep)
        self._connected = threading.Event()
        self._settled = threading.Event()  # the last start connected, or failed
        self._thread: threading.Thread | None = None

    def ensure_watching(self) -> None:
        """Start the watcher unless it runs; a new one gets a moment to connect, so that this run's
        checks can already be trusted by the next."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._forget()
            self._settled.clear()
            self._thread = threading.Thread(target=self._watch, name="kolla-engine-watch", daemon=True)
            self._thread.start()
        self._settled.wait(CONNECT_WAIT_SECONDS)

    def snapshot(self) -> tuple[frozenset[tuple[str, str]], int | None]:
        """The (name, image ID) pairs trusted now, and the token `record` needs (None: not watching)."""
        with self._lock:
            if not self._connected.is_set():
                return frozenset(), None
            return frozenset(self._trusted), self._generation

    def record(self, token: int | None, ref: str, image_id: str) -> None:
        """Trust `ref` → `image_id`, found in the engine after `snapshot` gave `token`, unless an event
        that may have changed that name or image came in since then (after we looked, or before)."""
        with self._lock:
            if token is None or not self._connected.is_set() or not self._judged_since(token):
                return
            if not any(footprint.affects(ref, image_id) for gen, footprint in self._log if gen > token):
                self._trusted.add((ref, image_id))

    def _judged_since(self, token: int) -> bool:
        """Whether every event since `token` is still in the log."""
        oldest = self._log[0][0] if self._log else self._generation + 1
        return token >= oldest - 1

    def _apply(self, footprint: Footprint) -> None:
        self._generation += 1
        self._log.append((self._generation, footprint))
        if footprint.everything:
            self._trusted.clear()
        else:
            self._trusted = {pair for pair in self._trusted if not footprint.affects(*pair)}

    def _forget(self) -> None:
        self._apply(EVERYTHING)

    def _engine_tags_of(self, image: str) -> list | None:
        try:
            return engine_client.image_tags(self.docker_host, image)
        except engine_client.EngineApiError:
            return None

    def _watch(self) -> None:
        try:
            with self._open_events(self.docker_host, time.time() - REPLAY_SECONDS) as events:
                with self._lock:
                    self._forget()
                    self._connected.set()
                self._settled.set()
                for event in events:
                    # Outside the lock (a load asks the engine): a pair recorded meanwhile is judged when
                    # the footprint is applied, as one recorded before the event.
                    footprint = event_footprint(event, self._tags_of, self._loaded)
                    with self._lock:
                        if footprint != NOTHING:
                            self._apply(footprint)
                        self.events_seen += 1
        except Exception:  # the engine went away or answered nonsense: trust nothing, retry next run
            pass
        finally:
            with self._lock:
                self._connected.clear()
                self._forget()
            self._settled.set()


_WATCHES: dict[engine_client.Endpoint, EngineWatch] = {}
_WATCHES_LOCK = threading.Lock()


def watch_for(docker_host: engine_client.Endpoint | str) -> EngineWatch:
    docker_host = engine_client.as_endpoint(docker_host)
    with _WATCHES_LOCK:
        watch = _WATCHES.get(docker_host)
        if watch is None:
            watch = _WATCHES[docker_host] = EngineWatch(docker_host)
    watch.ensure_watching()
    return watch


def record(docker_host: engine_client.Endpoint | str, token: int | None, ref: str, image_id: str) -> None:
    """`EngineWatch.record` on the watch a run's `snapshot` came from; never starts one."""
    with _WATCHES_LOCK:
        watch = _WATCHES.get(engine_client.as_endpoint(docker_host))
    if watch is not None:
        watch.record(token, ref, image_id)
