"""The step images the engine keeps for its layer cache: at most one set per target, its latest build's.

A build leaves its step images in the engine (so the next edit of the same image rebuilds only the
steps that changed) and reports their IDs; when a new build of the target replaces them, the previous
set goes. Which set belongs to which target is a machine-local record, a file per engine and target
(named with its repository's root) under Pants' named caches: outside every cache key, and surviving
pantsd restarts.
"""

from __future__ import annotations

import hashlib
import json
import os

from pants_kolla.docker_api import engine_client

RECORD_FOLDER = "kolla_step_images"


def _record_path(named_caches_dir: str, endpoint: engine_client.Endpoint, target: str) -> str:
    key = hashlib.sha256(f"{endpoint.host}\n{target}".encode()).hexdigest()[:32]
    return os.path.join(named_caches_dir, RECORD_FOLDER, f"{key}.json")


def _read(path: str) -> list[str]:
    try:
        with open(path) as f:
            ids = json.load(f)
    except (OSError, ValueError):
        return []
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def replace_step_images(
    named_caches_dir: str, endpoint: engine_client.Endpoint, target: str, step_images: tuple[str, ...]
) -> None:
    """Record `step_images` as the target's set and remove the previous set's images the new one does
    not reuse (a step the engine's cache served keeps its ID). Raises EngineApiError."""
    path = _record_path(named_caches_dir, endpoint, target)
    keep = set(step_images)
    stale = [i for i in _read(path) if i not in keep]
    # Newest first: an image with children is kept by the engine.
    engine_client.remove_unused_images(endpoint, stale)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(list(step_images), f)
    os.replace(tmp, path)
