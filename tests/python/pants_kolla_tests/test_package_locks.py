"""Package locks end to end: `kolla-lock` resolves with real apt in the parent image, a locked build
installs exactly the locked .debs through the builder's proxy (no `apt-get update`, no mirror), the
.debs come from Pants' store by sha256 (the URL is in no key), and drift stops a run before any build.
A nested Pants, the real engine, mmdebstrap and the Debian mirror."""

from __future__ import annotations

import json
import re

import pytest

from pants_kolla.core.package_lock import parse
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tiny_tree import image

LOCK = "images/leaf/packages.lock"
MACROS = """{% macro install_packages(packages) -%}
RUN {{ apt_install(packages) }} && apt-get clean && rm -rf /var/lib/apt/lists/*
{%- endmacro %}
"""
# The step prints the network interfaces its RUN steps see (the host's, or loopback only).
LEAF = (
    '{{ macros.install_packages(["cron"]) }}\n'
    'RUN echo "network interfaces:" $(tail -n +3 /proc/net/dev | cut -d: -f1) && echo leaf > /leaf.txt\n'
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("locks"))
    repo.write("images/BUILD", 'kolla_template_library(name="templates")\n')
    repo.write("images/macros.j2", MACROS)
    repo.write("images/rootfs/BUILD", 'debian_rootfs(name="rootfs", image_name="tiny-rootfs")\n')
    image(repo, "base", "infra", "images/rootfs", "RUN echo base > /base.txt\n")
    image(repo, "leaf", "infra", "images/base", LEAF)
    return repo


def _lock_and_build(repo: ScratchRepo) -> str:
    locked = repo.pants("kolla-lock", "images/leaf")
    assert locked.returncode == 0, locked.stderr[-3000:]
    assert re.search(rf"{LOCK}: wrote \(\d+ \.debs\)", locked.stdout), locked.stdout
    lock = parse(repo.read(LOCK), LOCK)
    assert [i.requested for i in lock.installs] == [("cron",)]
    assert "cron" in {d.name for d in lock.debs} and lock.release
    built = repo.pants("package", "images/leaf")
    assert built.returncode == 0, built.stderr[-3000:]
    return repo.dist_image_id("leaf")


def test_a_locked_build_installs_the_locked_debs_and_reads_no_mirror(repo, docker_client) -> None:
    image_id = _lock_and_build(repo)
    log = repo.read("dist/images/leaf/build.log")
    assert "http://debs.pants-kolla.invalid/cron_" in log
    assert "deb.debian.org" not in log and "apt-get update" not in log
    versions = docker_client.containers.run(
        image_id, ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "cron"], remove=True
    )
    cron = next(d for d in parse(repo.read(LOCK), LOCK).debs if d.name == "cron")
    assert versions.decode().strip() == f"cron {cron.version}"

    again = repo.pants("kolla-lock", "images/leaf")
    assert again.returncode == 0 and f"{LOCK}: unchanged" in again.stdout, again.stdout


def test_locked_debs_come_from_the_store_by_digest_whatever_the_url(repo) -> None:
    image_id = repo.dist_image_id("leaf")
    lock = repo.read(LOCK)
    repo.write(LOCK, lock.replace("http://deb.debian.org/", "http://127.0.0.1:9/"))
    try:
        cached = repo.pants("package", "images/leaf")
        assert cached.returncode == 0, cached.stderr[-3000:]
        assert cached.built == [] and repo.dist_image_id("leaf") == image_id
        # Built again (no process cache): the .debs are still only in Pants' store, under their sha256.
        rebuilt = repo.pants("--no-local-cache", "package", "images/leaf")
        assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
        assert repo.ref("leaf") in rebuilt.built and repo.dist_image_id("leaf") == image_id
    finally:
        repo.write(LOCK, lock)


def test_drift_and_broken_locks_stop_the_run_before_any_build(repo) -> None:
    lock = repo.read(LOCK)
    try:
        image(repo, "leaf", "infra", "images/base", LEAF.replace('["cron"]', '["cron", "less"]'))
        drift = repo.pants("package", "images/leaf")
        assert drift.returncode != 0 and "Building" not in drift.stderr
        assert "installs `cron less`, which images/leaf/packages.lock does not lock" in drift.stderr
        assert "pants kolla-lock images/leaf:leaf" in drift.stderr and "Traceback" not in drift.stderr

        image(repo, "leaf", "infra", "images/base", "RUN echo no packages\n")
        stale = repo.pants("package", "images/leaf")
        assert stale.returncode != 0 and "no longer makes (cron)" in stale.stderr, stale.stderr[-2000:]

        image(repo, "leaf", "infra", "images/base", LEAF)
        repo.write(LOCK, lock.replace("install cron", "install cron\nthis is not a record", 1))
        broken = repo.pants("kolla-render", "images/leaf")
        assert broken.returncode != 0 and "Traceback" not in broken.stderr
        line = lock.splitlines().index("install cron") + 2
        assert f"{LOCK}:{line}: unknown record `this`" in broken.stderr, broken.stderr[-2000:]
    finally:
        image(repo, "leaf", "infra", "images/base", LEAF)
        repo.write(LOCK, lock)


def installed_packages(docker_client, image_id: str) -> set[str]:
    listed = docker_client.containers.run(image_id, ["dpkg-query", "-W", "-f", "${Package}\\n"], remove=True)
    return set(listed.decode().split())


def test_a_locked_rootfs_is_made_from_the_locked_debs_only(repo, docker_client) -> None:
    rootfs_lock, build = "images/rootfs/packages.lock", repo.read("images/rootfs/BUILD")
    unlocked = repo.pants("package", "images/rootfs")
    assert unlocked.returncode == 0, unlocked.stderr[-3000:]
    unlocked_packages = installed_packages(docker_client, repo.dist_image_id("tiny-rootfs"))
    try:
        locked = repo.pants("kolla-lock", "images/rootfs")
        assert locked.returncode == 0 and f"{rootfs_lock}: wrote" in locked.stdout, locked.stderr[-3000:]
        lock = parse(repo.read(rootfs_lock), rootfs_lock)
        assert [i.requested for i in lock.installs] == [("minbase",)]
        assert {"base-files", "coreutils", "dash"} <= {d.name for d in lock.debs} and len(lock.debs) > 30
        # A mirror nothing answers at: mmdebstrap reads only the lock's .debs (it only names the mirror in
        # the image's sources.list).
        offline = repo.pants("--kolla-debian-mirror=http://127.0.0.1:9/debian", "package", "images/rootfs")
        assert offline.returncode == 0, offline.stderr[-3000:]
        assert repo.ref("tiny-rootfs") in offline.built
        log = repo.read("dist/images/tiny-rootfs/build.log")
        assert "copy://locked-debs ./" in log
        # Every package of the unlocked rootfs, apt's second stage included (apt, gpgv, passwd...).
        locked_packages = installed_packages(docker_client, repo.dist_image_id("tiny-rootfs"))
        assert locked_packages == unlocked_packages == {d.name for d in lock.debs}

        repo.write("images/rootfs/BUILD", build.replace(")", ', packages=["less"])'))
        drift = repo.pants("package", "images/rootfs")
        assert drift.returncode != 0 and "Building" not in drift.stderr
        assert "asks mmdebstrap for `minbase less`" in drift.stderr, drift.stderr[-2000:]
    finally:
        repo.write("images/rootfs/BUILD", build)
        (repo.root / rootfs_lock).unlink(missing_ok=True)


def test_buildah_builds_a_locked_image_with_no_network_from_the_mounted_debs(repo) -> None:
    run = repo.pants("--kolla-builder=buildah", "package", "images/leaf")
    assert run.returncode == 0, run.stderr[-3000:]
    log = repo.read("dist/images/leaf/build.log")
    assert "--isolation oci --network none --volume" in log and ":/mnt:ro" in log
    assert "network interfaces: lo\n" in log, log[-3000:]  # the host's namespace has more than loopback
    bom = json.loads(repo.read("dist/images/leaf/sbom.cdx.json"))  # what dpkg lists in the built image
    cron = next(d for d in parse(repo.read(LOCK), LOCK).debs if d.name == "cron")
    assert ("cron", cron.version) in {(c["name"], c.get("version")) for c in bom["components"]}
    config = repo.read(f"dist/images/leaf/image/{repo.dist_image_id('leaf').split(':')[1]}.json")
    assert "/mnt:ro" not in config and "pants-sandbox" not in config
