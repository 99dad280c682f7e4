"""Locked images are reproducible across time: after the mirror moved on (a loopback apt repository where a
package gets a newer version), the same commit built from an empty Pants cache gives the same image IDs,
while an unlocked image picks up the new version; re-locking then changes exactly the lock of the image
that holds the package, and only that image is built again. Real apt, dpkg-deb, apt-ftparchive, engine."""

from __future__ import annotations

import re

import pytest

from pants_kolla_tests.apt_repo_fixture import LoopbackAptRepo
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tiny_tree import image

MACROS = """{% macro install_packages(packages) -%}
RUN {{ apt_install(packages) }} && apt-get clean && rm -rf /var/lib/apt/lists/*
{%- endmacro %}
"""
LOCKED = ("hello", "other")  # image -> installs the package kolla-<image>
IMAGES = (*LOCKED, "unlocked")


def installs(package: str) -> str:
    return f'{{{{ macros.install_packages(["{package}"]) }}}}\n'


@pytest.fixture(scope="module")
def apt_repo(tmp_path_factory):
    with LoopbackAptRepo(tmp_path_factory.mktemp("apt-repo")) as served:
        served.release("kolla-hello", "1.0")
        served.release("kolla-other", "1.0")
        yield served


@pytest.fixture(scope="module")
def repo(tmp_path_factory, apt_repo) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("locks-over-time"))
    repo.write("images/BUILD", 'kolla_template_library(name="templates")\n')
    repo.write("images/macros.j2", MACROS)
    repo.write("images/rootfs/BUILD", 'debian_rootfs(name="rootfs", image_name="tiny-rootfs")\n')
    image(repo, "base", "infra", "images/rootfs", "RUN echo base > /base.txt\n")
    sources = f"RUN echo '{apt_repo.sources_line()}' > /etc/apt/sources.list.d/loopback.list\n"
    image(repo, "local-apt", "infra", "images/base", sources)
    image(repo, "hello", "infra", "images/local-apt", installs("kolla-hello"))
    image(repo, "other", "infra", "images/local-apt", installs("kolla-other"))
    image(repo, "unlocked", "infra", "images/local-apt", installs("kolla-hello"))
    return repo


def version_in(docker_client, image_id: str, package: str) -> str:
    return (
        docker_client.containers.run(image_id, ["cat", f"/usr/share/{package}/version"], remove=True)
        .decode()
        .strip()
    )


def image_ids(repo: ScratchRepo) -> dict[str, str]:
    return {name: repo.dist_image_id(name) for name in IMAGES}


def test_a_locked_tree_builds_the_same_images_after_the_mirror_moved_on(
    repo, apt_repo, docker_client, tmp_path
) -> None:
    locked = repo.pants("kolla-lock", *(f"images/{name}" for name in LOCKED))
    assert locked.returncode == 0, locked.stderr[-3000:]
    for name in LOCKED:
        assert f"images/{name}/packages.lock: wrote (1 .debs)" in locked.stdout, locked.stdout
        assert f"kolla-{name} 1.0 all" in repo.read(f"images/{name}/packages.lock")
    first = repo.pants("package", "images::")
    assert first.returncode == 0, first.stderr[-3000:]
    before = image_ids(repo)
    assert version_in(docker_client, before["unlocked"], "kolla-hello") == "1.0"

    apt_repo.release("kolla-hello", "1.1")
    # The same commit from an empty Pants cache: a new store and new named caches (so every process runs
    # and every .deb is fetched again, by its locked URL and sha256), and no engine layer cache (every RUN
    # step runs again).
    empty = [
        f"--local-store-dir={tmp_path / 'store'}",
        f"--named-caches-dir={tmp_path / 'named'}",
        "--no-kolla-engine-layer-cache",
    ]
    again = repo.pants(*empty, "package", "images::")
    assert again.returncode == 0, again.stderr[-3000:]
    assert repo.ref("hello") in again.built and repo.ref("unlocked") in again.built
    after = image_ids(repo)
    assert {n: after[n] for n in LOCKED} == {n: before[n] for n in LOCKED}
    assert version_in(docker_client, after["hello"], "kolla-hello") == "1.0"
    # What the lock prevents: the unlocked image now holds the new version.
    assert after["unlocked"] != before["unlocked"]
    assert version_in(docker_client, after["unlocked"], "kolla-hello") == "1.1"

    relocked = repo.pants("kolla-lock", *(f"images/{name}" for name in LOCKED))
    assert relocked.returncode == 0, relocked.stderr[-3000:]
    assert "images/hello/packages.lock: wrote (1 .debs)" in relocked.stdout, relocked.stdout
    assert "images/other/packages.lock: unchanged (1 .debs)" in relocked.stdout, relocked.stdout
    assert re.search(r"^deb kolla-hello 1\.1 all ", repo.read("images/hello/packages.lock"), re.M)
    updated = repo.pants("package", "images::")
    assert updated.returncode == 0, updated.stderr[-3000:]
    assert updated.built == [repo.ref("hello")], updated.built
    assert repo.dist_image_id("other") == before["other"]
    assert version_in(docker_client, repo.dist_image_id("hello"), "kolla-hello") == "1.1"
