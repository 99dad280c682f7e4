"""`pants package` on the real images/ tree against a real Docker engine (nested Pants).

The selection is one infra image (cron) and one service (keystone, both types) with their ancestors, so
that this file stays minutes long; test_full_tree_smoke.py builds and smoke-checks the whole tree. The tests
share one scratch repo and run in order: cold build, no-op, leaf change, undeclared file, declared file
in base, engine repair, tag filter.
"""

from __future__ import annotations

import math
import time

import pytest

from pants_kolla_tests.repo_fixture import ScratchRepo

SELECTION = ("images/cron:", "images/keystone:")
INFRA = ["base", "cron"]
PER_TYPE = ["openstack-base", "keystone-base", "keystone"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("repo"))
    repo.add_images()
    return repo


def refs(repo: ScratchRepo, infra=(), per_type=(), rootfs=False) -> list[str]:
    names = [*infra, *(f"debian-{t}-{n}" for n in per_type for t in ("binary", "source"))]
    if rootfs:
        names.append("debian-bookworm-rootfs")
    return sorted(repo.ref(n) for n in names)


def package(repo: ScratchRepo, *args: str):
    run = repo.pants(*args, "package", *SELECTION)
    assert run.returncode == 0, run.stderr[-6000:]
    return run


def next_whole_second() -> int:
    """Wait for the next whole second: the engine's event filter takes whole seconds, so an event of the
    previous run in the current second would otherwise count as this run's."""
    start = math.ceil(time.time())
    time.sleep(start - time.time())
    return start


def our_image_events_since(docker_client, repo: ScratchRepo, since: float) -> list[str]:
    """Engine-side evidence of a build: any image tagged/loaded/deleted with this repo's tag. (Other
    tests share the engine, so counting all containers would see their work.)"""
    events = docker_client.events(
        since=int(since), until=int(time.time()) + 1, decode=True, filters={"type": "image"}
    )
    return [
        f"{e['Action']} {e['Actor']['Attributes'].get('name', '')}"
        for e in events
        if f":{repo.tag}" in e["Actor"]["Attributes"].get("name", "")
    ]


def test_cold_build_builds_infra_once_and_per_type_images_per_type(repo, docker_client) -> None:
    run = package(repo)
    assert run.built == refs(repo, INFRA, PER_TYPE, rootfs=True)
    # Packaged images are in the engine under their names; ancestors only as the layers they share.
    cron = docker_client.images.get(repo.ref("cron"))
    keystones = {t: docker_client.images.get(repo.ref(f"debian-{t}-keystone")) for t in ("binary", "source")}
    shared = cron.attrs["RootFS"]["Layers"][:2]  # the rootfs and base's first layer: one infra build
    for install_type, image in keystones.items():
        assert image.attrs["RootFS"]["Layers"][:2] == shared
        env = dict(e.split("=", 1) for e in image.attrs["Config"]["Env"])
        assert env["KOLLA_INSTALL_TYPE"] == install_type
    assert not any(e.startswith("KOLLA_INSTALL_TYPE") for e in cron.attrs["Config"]["Env"])
    assert (repo.root / "dist/images/cron/Dockerfile").is_file()
    assert "Successfully built" in (repo.root / "dist/images/cron/build.log").read_text()
    # Builds leave no half-made names behind: only `package` names images, with normalized content.
    assert not docker_client.images.list(name=f"kolla/base:{repo.tag}")


def test_second_run_builds_nothing(repo, docker_client) -> None:
    start = next_whole_second()
    run = package(repo)
    assert run.built == []
    assert our_image_events_since(docker_client, repo, start) == []


def test_template_change_rebuilds_only_that_image_in_both_types(repo) -> None:
    template = repo.read("images/keystone/Dockerfile.j2")
    repo.write("images/keystone/Dockerfile.j2", template + 'LABEL changed_by_test="1"\n')
    assert package(repo).built == refs(repo, per_type=["keystone"])


def test_undeclared_file_in_image_folder_rebuilds_nothing(repo) -> None:
    repo.write("images/cron/NOTES.txt", "not declared, never sent to the engine\n")
    repo.write("images/base/secret.key", "not declared either\n")
    assert package(repo).built == []


def test_declared_file_in_base_rebuilds_base_and_descendants_only(repo) -> None:
    repo.write("images/base/kolla_start", repo.read("images/base/kolla_start") + "# changed\n")
    assert package(repo).built == refs(repo, INFRA, PER_TYPE)


def test_deleted_engine_image_is_repaired_without_rebuilding(repo, docker_client) -> None:
    docker_client.images.remove(repo.ref("cron"))
    start = next_whole_second()
    run = package(repo)
    assert run.built == []
    docker_client.images.get(repo.ref("cron"))
    # The engine saw the repair (which also shows the no-op test's event check can see activity).
    assert any(repo.ref("cron") in event for event in our_image_events_since(docker_client, repo, start))


def test_tag_filter_selects_infra_images_only(repo) -> None:
    run = package(repo, "--tag=infra")
    written = sorted(
        line.split("Wrote dist/images/")[1].strip()
        for line in run.stderr.splitlines()
        if "Wrote dist/images/" in line
    )
    assert written == ["cron"]
