"""Faults injected into real runs: Ctrl-C mid-build, the engine killed mid-build, two runs at
once, deleted or corrupted outputs, an engine without the images. After each, the next `package` must end
correct, rebuilding exactly what is missing, and no image name may ever point at a partial build."""

from __future__ import annotations

import datetime
import shutil
import signal
from pathlib import Path
from typing import Callable

import docker.errors
import pytest

from pants_kolla_tests.engine_fixture import FreshEngine
from pants_kolla_tests.polling import eventually
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tiny_tree import image, write_tiny_tree

SLOW_STEP = "sleep 30"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("faults"))
    write_tiny_tree(repo)
    for failing in ("bad", "bad-child"):
        shutil.rmtree(repo.root / "images" / failing)
    warm = repo.pants("package", "images/::")
    assert warm.returncode == 0, warm.stderr[-3000:]
    return repo


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    assert eventually(predicate, timeout, interval=0.5), f"timed out after {timeout:.0f} s waiting for {what}"


def build_step_running(client, marker: str) -> bool:
    """Whether the engine runs a build container for a `RUN` step whose command contains `marker`."""
    return any(marker in " ".join(c.attrs["Config"]["Cmd"] or ()) for c in client.containers.list())


def engine_id(client, ref: str) -> str | None:
    try:
        return client.api.inspect_image(ref)["Id"]
    except docker.errors.ImageNotFound:
        return None


def slow_image(repo: ScratchRepo, name: str) -> str:
    """An image whose only step sleeps, with a marker unique to this repo to find its build container."""
    marker = f"{name}-{repo.tag}"
    image(
        repo, name, "infra", "images/base", f"RUN echo {marker} && {SLOW_STEP} && echo done > /{name}.txt\n"
    )
    return marker


def test_ctrl_c_mid_build_tags_nothing_and_the_next_run_builds_only_what_is_missing(
    repo, docker_client, tmp_path
) -> None:
    marker = slow_image(repo, "slow")
    image(repo, "slow-child", "infra", "images/slow", "RUN echo child > /child.txt\n")
    log = tmp_path / "interrupted.log"
    proc = repo.pants_start("package", "images/slow-child", log=log)
    wait_until(lambda: build_step_running(docker_client, marker), 600, "the slow RUN step to start")
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    interrupted = repo.finished(proc, log, timeout=120)
    assert interrupted.returncode != 0
    # The engine dropped the interrupted step, and no name points at anything of this build.
    wait_until(lambda: not build_step_running(docker_client, marker), 60, "the build container to go")
    assert engine_id(docker_client, repo.ref("slow")) is None
    assert engine_id(docker_client, repo.ref("slow-child")) is None

    again = repo.pants("package", "images/slow", "images/slow-child")
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.built == sorted([repo.ref("slow"), repo.ref("slow-child")])  # base and rootfs: cached
    for name in ("slow", "slow-child"):
        assert engine_id(docker_client, repo.ref(name)) == repo.dist_image_id(name)


def test_engine_killed_mid_build_then_restarted_ends_correct(repo, tmp_path) -> None:
    # A new engine of the test's own, so killing it disturbs no other test. Its own named-caches dir too:
    # the engine link lives there (util_rules/engine_endpoint.py), and the machine-wide one must keep pointing
    # at the machine's engine for the other tests running now.
    named_caches = f"--named-caches-dir={tmp_path / 'named-caches'}"
    marker = slow_image(repo, "crash")
    with FreshEngine(tmp_path / "engine") as engine:
        env = {"DOCKER_HOST": engine.docker_host}
        client = engine.client()
        log = tmp_path / "killed.log"
        proc = repo.pants_start(named_caches, "package", "images/crash", log=log, env=env)
        wait_until(lambda: build_step_running(client, marker), 1200, "the slow RUN step to start")
        engine.kill()
        crashed = repo.finished(proc, log, timeout=300)
        assert crashed.returncode != 0
        assert f"No Docker engine answers at {engine.docker_host}" in crashed.stderr, crashed.stderr[-3000:]
        assert "Traceback" not in crashed.stderr

        engine.start()
        assert engine_id(client, repo.ref("crash")) is None
        again = repo.pants(named_caches, "package", "images/crash", env=env)
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.built == [repo.ref("crash")]  # its ancestors come from Pants' cache, loaded again
        assert engine_id(client, repo.ref("crash")) == repo.dist_image_id("crash")
        out = client.containers.run(
            repo.ref("crash"),
            ["cat", "/crash.txt", "/base.txt"],
            remove=True,
            entrypoint="",
            network_mode="none",
        )
        assert out.decode().split() == ["done", "base"]


def test_two_runs_at_once_end_with_correct_images_and_an_intact_cache(repo, docker_client, tmp_path) -> None:
    image(repo, "race", "infra", "images/base", f"RUN echo race-{repo.tag} > /race.txt\n")
    image(repo, "race-child", "infra", "images/race", "RUN echo child > /child.txt\n")
    # A run deleting an image's folder before writing it would make the other run, filling that folder,
    # fail; a file beside the image shows deterministically that no run deletes the folder.
    beside = repo.root / "dist/images/race/notes.txt"
    beside.parent.mkdir(parents=True, exist_ok=True)
    beside.write_text("kept")
    logs = [tmp_path / f"run-{i}.log" for i in range(2)]
    procs = [repo.pants_start("package", "images/race", "images/race-child", log=log) for log in logs]
    runs = [repo.finished(proc, log) for proc, log in zip(procs, logs)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert beside.read_text() == "kept"
    for name in ("race", "race-child"):
        assert engine_id(docker_client, repo.ref(name)) == repo.dist_image_id(name)
    out = docker_client.containers.run(
        repo.ref("race-child"),
        ["cat", "/race.txt", "/child.txt"],
        remove=True,
        entrypoint="",
        network_mode="none",
    )
    assert out.decode().split() == [f"race-{repo.tag}", "child"]
    third = repo.pants("package", "images/race", "images/race-child")
    assert third.returncode == 0 and third.built == [], third.stderr[-3000:]


def test_deleted_or_corrupted_outputs_are_repaired_without_rebuilding(repo, docker_client) -> None:
    targets = ("images/base", "images/ok")
    first = repo.pants("package", *targets)
    assert first.returncode == 0, first.stderr[-3000:]
    good = {
        path: repo.read(path)
        for path in (
            "dist/images/ok/image/manifest.json",
            "dist/images/ok/Dockerfile",
            "dist/images/base/build.log",
        )
    }
    shutil.rmtree(repo.root / "dist/images/base")
    Path(repo.root / "dist/images/ok/image/manifest.json").write_text("corrupted")
    Path(repo.root / "dist/images/ok/Dockerfile").write_text("FROM scratch\n")
    # Left by something else: the run removes what it does not write (Pants does not clear the folder).
    stray = [repo.root / "dist/images/ok/image/stray.json", repo.root / "dist/images/ok/image/0123/layer.tar"]
    for path in stray:
        path.parent.mkdir(exist_ok=True)
        path.write_text("stray")
    # In the engine: ok's name points at another image, base's name is gone.
    docker_client.api.tag(repo.ref("tiny-rootfs"), "kolla/ok", repo.tag)
    docker_client.api.remove_image(repo.ref("base"))

    run = repo.pants("package", *targets)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.built == []
    assert {path: repo.read(path) for path in good} == good
    assert not any(path.exists() for path in stray) and not stray[1].parent.exists()
    for name in ("base", "ok"):
        assert engine_id(docker_client, repo.ref(name)) == repo.dist_image_id(name)


def test_an_engine_without_the_images_gets_each_back_after_its_parent(repo, tmp_path) -> None:
    # A fresh engine beside a warm Pants cache (a new CI runner, or `docker system prune -a`): packaging the
    # leaf builds nothing and loads its ancestors first, so each load sends only its image's own layers.
    named_caches = f"--named-caches-dir={tmp_path / 'named-caches'}"
    lineage = ("tiny-rootfs", "base", "ok")
    with FreshEngine(tmp_path / "engine") as engine:
        client = engine.client()
        start = datetime.datetime.now()
        run = repo.pants(named_caches, "package", "images/ok", env={"DOCKER_HOST": engine.docker_host})
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.built == []
        ids = [engine_id(client, repo.ref(name)) for name in lineage]
        assert None not in ids and ids[-1] == repo.dist_image_id("ok")
        until = datetime.datetime.now() + datetime.timedelta(seconds=1)
        loads = client.events(
            since=start, until=until, filters={"type": "image", "event": "load"}, decode=True
        )
        assert [event["id"] for event in loads] == ids
