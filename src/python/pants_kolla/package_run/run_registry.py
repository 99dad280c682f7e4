"""Which images each run packages, kept in this Pants process (pure state, no engine imports).

Why it exists: a Kolla run must not let one failing image cut independent branches short, and Pants
cancels the other members of the `package` goal's MultiGet as soon as one raises. So a failed image
may raise only once every image of the run is built, which needs the run's images. The goal knows them
(its target roots), but a rule cannot ask: rules under Pants' `PackageFieldSet` union see only the
`EnvironmentName` param (the union's `in_scope_types`), never the goal's `Specs`. Re-reading the command
line would break `--changed-since`. Instead every package rule records its image here when it
starts, and again when its image is done (built or failed, loaded, its dist/ files ready): the rule that
finishes last writes the run's reports (package_run/run_report.py), and a failed image waits for the images
recorded so far before it raises. A successful image waits for nobody, so a run's cost stays linear in
its images (each rule asking for a summary of everything recorded so far would be quadratic: 17 s for
a no-op of 300 images).

All of a goal's package rules start together (one MultiGet) and record their image as they start (after
looking up the run's token), while a build that fails must first run a process (hundreds of milliseconds
at least): the goal's images are all recorded before any failure is known.

Also kept: which run first saw each build's process result, to tell images built in this run from
results pantsd memoized in an earlier run (without pantsd, every run is a new process).
"""

from __future__ import annotations

import threading
from typing import Any, Hashable

_MAX_RUNS = 16  # pantsd lives long; a run's state is only needed while it runs

_lock = threading.Lock()
_images: dict[str, dict[Hashable, None]] = {}  # run token -> images, in the order they were recorded
_finished: dict[str, dict[Hashable, Any]] = {}  # run token -> image -> what its rule made of it
_claims: dict[str, dict[Hashable, Any]] = {}  # run token -> key (an image name) -> its first claimant
_reported: dict[str, int] = {}  # run token -> size of the largest summary written
_first_seen: dict[Hashable, str] = {}  # a build's (address, process run id) -> the run that first saw it


def record(run: str, image: Hashable) -> None:
    with _lock:
        if run not in _images:
            for old in list(_images)[: max(0, len(_images) - _MAX_RUNS + 1)]:
                states: tuple[dict[str, Any], ...] = (_images, _finished, _claims, _reported)
                for state in states:
                    state.pop(old, None)
        _images.setdefault(run, {})[image] = None


def images(run: str) -> frozenset:
    with _lock:
        return frozenset(_images.get(run, ()))


def finish(run: str, image: Hashable, result: Any) -> tuple | None:
    """Records `image` (recorded before) as done with `result`. When it is the last of the images
    recorded so far, returns every recorded image's result in the order they were recorded; else None."""
    with _lock:
        finished = _finished.setdefault(run, {})
        finished[image] = result
        recorded = _images.get(run, {})
        if len(finished) < len(recorded):
            return None
        return tuple(finished[i] for i in recorded)


def claim(run: str, key: Hashable, claimant: Any) -> Any:
    """The run's first claimant of `key`: `claimant` itself unless another came first."""
    with _lock:
        return _claims.setdefault(run, {}).setdefault(key, claimant)


def claim_report(run: str, size: int) -> bool:
    """Whether a summary of `size` images may write the run's reports: never one smaller than a summary
    already written (a rule that finished early may hold a summary of part of the run)."""
    with _lock:
        if size < _reported.get(run, 0):
            return False
        _reported[run] = size
        return True


def first_seen_in(run: str, build: Hashable) -> bool:
    """True when `build` was first seen by this run (and records that it was)."""
    with _lock:
        return _first_seen.setdefault(build, run) == run
