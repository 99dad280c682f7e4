"""Which (name, image ID) pairs one engine image event may have made false.

What the engine reports (moby's image events, checked against the engine): `tag` carries the image and
the name it gained (the name's previous image loses it without an event of its own); `untag` and
`delete` carry only the image that lost a name or went away; `load` and `import` carry only the image,
yet may move names from the archive's manifest onto it without a `tag` event. So:

- `tag`: the name's pairs;
- `untag`, `delete`: the image's pairs;
- `load`, `import`: the image's pairs and those of every name it holds when asked right after (the
  names it may have taken);
- `untag` or `delete` of an image a load reached: every pair. A name the load moved and that was
  removed before the image was asked about was never seen: its old pair may still be trusted;
- `save`, `push`: nothing (they read);
- anything else (`pull`, `prune`...): every pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

READ_ONLY_ACTIONS = frozenset({"save", "push"})
LOAD_ACTIONS = frozenset({"load", "import"})
REMOVE_ACTIONS = frozenset({"untag", "delete"})
# Images a load reached, remembered until this many: past it, one event forgets every pair instead.
MAX_LOADED_IMAGES = 4096

DOCKER_HUB_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def familiar(ref: str) -> str:
    """`ref` as the engine writes names in events and `RepoTags` (Docker Hub's domain and `library/`
    left out, `:latest` when no tag is given), so a plugin ref and an event name compare equal."""
    first, slash, rest = ref.partition("/")
    has_domain = bool(slash) and ("." in first or ":" in first or first == "localhost")
    if not has_domain or first in DOCKER_HUB_DOMAINS:
        path = rest if has_domain else ref
        ref = path.removeprefix("library/") if path.count("/") == 1 else path
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in ref else f"{ref}:latest"


@dataclass(frozen=True)
class Footprint:
    refs: frozenset = frozenset()  # familiar names
    image_ids: frozenset = frozenset()
    everything: bool = False

    def affects(self, ref: str, image_id: str) -> bool:
        return self.everything or image_id in self.image_ids or familiar(ref) in self.refs


NOTHING = Footprint()
EVERYTHING = Footprint(everything=True)

# The names an image holds now, None when the engine no longer has it (or cannot say).
TagsOf = Callable[[str], Optional[list]]


def event_footprint(event: dict, tags_of: TagsOf, loaded: set) -> Footprint:
    """The pairs `event` may have made false. `loaded` holds the images earlier load events reached (this
    function adds to it); `tags_of` asks the engine, for load events only."""
    action = event.get("Action", "")
    actor = event.get("Actor") or {}
    image = str(actor.get("ID") or event.get("id") or "")
    if action in READ_ONLY_ACTIONS:
        return NOTHING
    if action == "tag":
        name = (actor.get("Attributes") or {}).get("name", "")
        return Footprint(refs=frozenset({familiar(name)})) if name else EVERYTHING
    if not image.startswith("sha256:"):
        return EVERYTHING
    if action in REMOVE_ACTIONS:
        return EVERYTHING if image in loaded else Footprint(image_ids=frozenset({image}))
    if action in LOAD_ACTIONS:
        return _load_footprint(image, tags_of, loaded)
    return EVERYTHING


def _load_footprint(image: str, tags_of: TagsOf, loaded: set) -> Footprint:
    if len(loaded) >= MAX_LOADED_IMAGES:
        loaded.clear()
        return EVERYTHING
    loaded.add(image)
    tags = tags_of(image)
    if tags is None:
        return EVERYTHING
    return Footprint(refs=frozenset(familiar(t) for t in tags), image_ids=frozenset({image}))
