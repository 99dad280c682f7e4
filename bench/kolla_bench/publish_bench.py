"""The publish section's runs: `kolla-publish` of a packaged tree to a fresh loopback registry (Debian's
docker-registry), and the peer: the engine pushing each image (`docker push`, what Pants' docker backend
and a docker build loop do). Each sample gets a registry of its own and no skopeo blob-info cache, as a
fresh CI runner would."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from kolla_bench.pants_repo import PantsRepo, Timed
from pants_kolla_tests.registry_fixture import LocalRegistry

BLOB_INFO_CACHES = (Path("/var/lib/containers/cache"), Path.home() / ".local/share/containers/cache")


def fresh_runner() -> None:
    for cache in BLOB_INFO_CACHES:
        shutil.rmtree(cache, ignore_errors=True)


def kolla_publish(repo: PantsRepo, work: Path, jobs: int, spec: str) -> Timed:
    fresh_runner()
    with LocalRegistry(work) as registry:
        return repo.pants(
            f"--kolla-registry={registry.address}",
            f"--kolla-push-jobs={jobs}",
            "kolla-publish",
            spec,
            pantsd=True,
        )


def engine_push(refs: list[str], work: Path) -> Timed:
    """`docker tag` + `docker push` of every image, one after another (the engine compresses each layer
    as it pushes; it has never pushed to this registry)."""
    with LocalRegistry(work) as registry:
        start = time.monotonic()
        for ref in refs:
            remote = f"{registry.address}/{ref}"
            subprocess.run(["docker", "tag", ref, remote], check=True, capture_output=True)
            subprocess.run(["docker", "push", "-q", remote], check=True, capture_output=True)
        seconds = time.monotonic() - start
        for ref in refs:
            subprocess.run(["docker", "rmi", f"{registry.address}/{ref}"], capture_output=True)
    return Timed(seconds=seconds, returncode=0, stdout="", stderr="", built=())
