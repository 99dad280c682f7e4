"""Remote cache on a real REAPI server: a checkout fills BuildGrid's cache; a second checkout at another
path, with an empty local store and an engine that lost those images (a fresh CI machine), gets every
image from it (no engine build) and `package` loads them into the engine."""

from __future__ import annotations

import re
import uuid

import docker

from pants_kolla_tests.buildgrid_fixture import BuildGridCache
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.small_tree import add_small_tree

IMAGES = ("debian-bookworm-rootfs", "base", "cron")


def checkout(path, tag: str) -> ScratchRepo:
    repo = ScratchRepo(path, tag=tag)
    add_small_tree(repo)
    return repo


def images_built(run) -> list[str]:
    """Image builds that ran to completion. With remote cache reads, Pants 2.17 starts each process while
    the cache lookup is in flight and cancels it on a hit (`Canceled: Building ...`), so `Starting:`
    lines alone do not mean a build happened."""
    return sorted(re.findall(r"Completed: Building (kolla/\S+)", run.stderr))


def counter(run, name: str) -> int:
    """A counter from `--stats-log`."""
    match = re.search(rf"^\s*{name}: (\d+)$", run.stderr, re.MULTILINE)
    assert match, f"no {name} in the stats log:\n{run.stderr}"
    return int(match.group(1))


def test_second_checkout_builds_nothing_and_loads_from_the_remote_cache(tmp_path):
    tag = f"rc{uuid.uuid4().hex[:10]}"  # nothing built before: run 1 must fill the remote cache
    refs = sorted(f"kolla/{name}:{tag}" for name in IMAGES)
    with BuildGridCache(tmp_path / "buildgrid") as cache:
        first = checkout(tmp_path / "ci-1/repo", tag)
        # Its own empty local store: every process runs, so every result is written to the remote cache.
        run1 = first.pants(
            *cache.pants_options(), f"--local-store-dir={tmp_path / 'store-1'}", "package", "images/::"
        )
        assert run1.returncode == 0, run1.stderr
        assert images_built(run1) == refs, run1.stderr

        second = checkout(tmp_path / "ci-2/elsewhere/repo", tag)
        # The engine forgets run 1's images: run 2 must get them from the remote cache and load them.
        # (Same engine on purpose: a second engine would repoint the machine-wide engine link that
        # concurrent Pants runs of other tests use; see util_rules/engine_endpoint.py.)
        client = docker.from_env(timeout=900)
        for ref in refs:
            client.images.remove(ref, force=True)
        run2 = second.pants(
            *cache.pants_options(),
            "--no-local-cache",
            "--stats-log",
            f"--local-store-dir={tmp_path / 'store-2'}",
            "package",
            "images/::",
        )
        loaded = {ref: client.images.get(ref).id for ref in refs if run2.returncode == 0}
        assert run2.returncode == 0, run2.stderr
        # Zero engine builds: every image came from the remote cache first.
        assert images_built(run2) == [], run2.stderr
        assert counter(run2, "remote_cache_speculation_local_completed_first") == 0
        assert counter(run2, "remote_cache_requests_cached") >= len(IMAGES)

    # The engine holds every image again, as built by the first checkout.
    for name, ref in zip(sorted(IMAGES), refs):
        assert loaded[ref] == second.dist_image_id(name) == first.dist_image_id(name)
