"""Cached remote execution on a real REAPI executor (Bazel's remote worker, reapi_worker_fixture.py), with
both builders, on a tiny tree (rootfs -> base -> ok; base COPYs an executable file, whose mode the worker
materializes differently from a local sandbox).

- every process of a remote `package` runs on the worker (`--stats-log`: no local execution; the worker's
  log names each build), and the images equal those a local build makes from the same inputs;
- a second checkout at another path, with an empty local store (and, for docker, a fresh engine) builds
  nothing and ends with every image (in that engine, or in dist/);
- an unreachable executor, and a worker lacking the builder, fail with one clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tarfile
import uuid
from pathlib import Path

import pytest

from pants_kolla_tests.engine_fixture import FreshEngine
from pants_kolla_tests.reapi_worker_fixture import RemoteWorker
from pants_kolla_tests.registry_fixture import LocalRegistry, free_port
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tar_files import file_bytes
from pants_kolla_tests.tiny_tree import image, write_rootfs_and_base

IMAGES = ("tiny-rootfs", "base", "ok")


def tiny_repo(path: Path, tag: str) -> ScratchRepo:
    repo = ScratchRepo(path, tag=tag)
    write_rootfs_and_base(repo)
    os.chmod(repo.root / "images/base/start.sh", 0o755)
    image(repo, "ok", "infra", "images/base", "RUN echo ok > /ok.txt\n")
    return repo


def completed_builds(run) -> list[str]:
    """Builds that ran to completion: with remote cache reads Pants may start an action while the cache
    lookup is in flight and cancel it on a hit (`Canceled: Building ...`), which is not a build."""
    return sorted(re.findall(r"Completed: Building (kolla/\S+)", run.stderr))


def stat(run, name: str) -> int:
    """A counter from `--stats-log` (0 when Pants did not count any)."""
    match = re.search(rf"^\s*{name}: (\d+)$", run.stderr, re.MULTILINE)
    return int(match.group(1)) if match else 0


def link_engine(caches_base: Path, docker_host: str) -> None:
    """What a worker host running the docker builder provides: its engine's socket in the named cache."""
    link = caches_base / "kolla_engine/docker.sock"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(docker_host.removeprefix("unix://"))


def _members(layer: Path) -> dict[str, tuple]:
    members: dict[str, tuple] = {}
    with tarfile.open(layer) as tar:
        for m in tar:
            data = file_bytes(tar, m) if m.isfile() else b""
            members[m.name] = (
                m.type,
                oct(m.mode),
                m.uid,
                m.gid,
                m.mtime,
                m.linkname,
                hashlib.sha256(data).hexdigest()[:12],
            )
    return members


def layer_differences(dist_a: Path, dist_b: Path, name: str, limit: int = 30) -> list[str]:
    """What differs between two dist/ copies of an image's layers (the docker builder writes no layers to
    dist/: then only that is said). For a failure message: a difference must say where it is."""
    folders = [d / f"images/{name}/image" for d in (dist_a, dist_b)]
    manifests = [json.loads((f / "manifest.json").read_text())[0] for f in folders]
    layers = [[f / layer for layer in m["Layers"]] for f, m in zip(folders, manifests)]
    if not all(path.exists() for paths in layers for path in paths):
        return [f"{name}: layers not in dist/ (held by the engine)"]
    found = []
    for a, b in zip(*layers):
        ma, mb = _members(a), _members(b)
        for member in sorted(ma.keys() | mb.keys()):
            if ma.get(member) != mb.get(member):
                found.append(f"{name}: {member}: {ma.get(member)} != {mb.get(member)}")
    return found[:limit] or [f"{name}: same layers, different config"]


def builds_on_worker(worker: RemoteWorker) -> list[str]:
    return [argv for argv in worker.executed() if re.search(r" (rootfs|build) ", argv)]


@pytest.mark.parametrize("builder", ["buildah", "docker"])
def test_remote_build_equals_local_and_a_second_checkout_builds_nothing(tmp_path, builder, docker_client):
    tag = f"re{uuid.uuid4().hex[:10]}"  # nothing built before: run 1 must execute every build remotely
    caches_base = tmp_path / "worker-caches"
    caches_base.mkdir()
    kolla = [f"--kolla-builder={builder}"]
    with RemoteWorker(tmp_path / "worker") as worker:
        link_engine(caches_base, os.environ["DOCKER_HOST"])
        first = tiny_repo(tmp_path / "ci-1/repo", tag)
        remote = first.pants(
            *worker.pants_options(caches_base),
            *kolla,
            "--stats-log",
            f"--local-store-dir={tmp_path / 'store-1'}",
            "package",
            "images/::",
        )
        assert remote.returncode == 0, remote.stderr[-5000:]
        # Every process of the run (the builder's Python check, probe, builds, loads) executed on the worker.
        assert stat(remote, "local_execution_requests") == 0, remote.stderr[-5000:]
        assert stat(remote, "remote_execution_requests") == stat(remote, "remote_execution_success") > 0
        assert remote.built == sorted(first.ref(name) for name in IMAGES)
        builds = builds_on_worker(worker)
        assert len(builds) == len(IMAGES), worker.executed()
        assert sum(" rootfs " in argv for argv in builds) == 1
        assert all(f"--builder {builder}" in argv for argv in builds if " build " in argv)
        remote_ids = {name: first.dist_image_id(name) for name in IMAGES}
        shutil.copytree(first.root / "dist", tmp_path / "dist-remote")  # to say what differs, if anything

        # The same inputs built locally (its own empty store: nothing comes from the remote run).
        local = first.pants(*kolla, f"--local-store-dir={tmp_path / 'store-local'}", "package", "images/::")
        assert local.returncode == 0, local.stderr[-5000:]
        assert local.built == remote.built
        local_ids = {name: first.dist_image_id(name) for name in IMAGES}
        different = [name for name in IMAGES if local_ids[name] != remote_ids[name]]
        assert not different, "\n".join(
            [
                f"remote {remote_ids} != local {local_ids}",
                *(
                    line
                    for name in different[:1]
                    for line in layer_differences(tmp_path / "dist-remote", first.root / "dist", name)
                ),
            ]
        )

        second = tiny_repo(tmp_path / "ci-2/elsewhere/repo", tag)
        with FreshEngine(tmp_path / "fresh-engine") as fresh:
            link_engine(caches_base, fresh.docker_host)  # the worker host gets a fresh engine
            run2 = second.pants(
                *worker.pants_options(caches_base),
                *kolla,
                "--stats-log",
                f"--local-store-dir={tmp_path / 'store-2'}",
                f"--named-caches-dir={tmp_path / 'named-2'}",
                "package",
                "images/::",
            )
            assert run2.returncode == 0, run2.stderr[-5000:]
            assert completed_builds(run2) == [], run2.stderr[-5000:]
            assert stat(run2, "remote_cache_requests_cached") >= len(IMAGES)
            assert stat(run2, "local_execution_requests") == 0
            assert {name: second.dist_image_id(name) for name in IMAGES} == remote_ids
            if builder == "docker":
                # Loaded into the (fresh) engine of the worker host.
                client = fresh.client()
                assert {name: client.images.get(second.ref(name)).id for name in IMAGES} == remote_ids
            else:
                # No engine: every image is a complete docker-archive in dist/.
                for name in IMAGES:
                    assert list((second.root / f"dist/images/{name}/image").glob("*/layer.tar"))
            # Published from this machine after the remote build: pushes run here (Pants runs interactive
            # processes only without remote execution), the images come through the remote cache.
            with LocalRegistry(tmp_path / "registry") as registry:
                options = [
                    *worker.pants_options(caches_base),
                    *kolla,
                    f"--local-store-dir={tmp_path / 'store-2'}",
                    f"--named-caches-dir={tmp_path / 'named-2'}",
                    f"--kolla-registry={registry.address}",
                ]
                refused = second.pants(*options, "kolla-publish", "images/::")
                assert refused.returncode != 0 and "run it with --no-remote-execution" in refused.stderr
                assert "Traceback" not in refused.stderr
                published = second.pants(*options, "--no-remote-execution", "kolla-publish", "images/::")
                assert published.returncode == 0, published.stdout[-3000:] + published.stderr[-3000:]
                for name in IMAGES:
                    manifest = registry.manifest(f"kolla/{name}", tag)
                    assert manifest["config"]["digest"] == remote_ids[name]


def test_unreachable_executor_is_one_clear_error(tmp_path):
    repo = tiny_repo(tmp_path / "repo", f"re{uuid.uuid4().hex[:10]}")
    worker = RemoteWorker(tmp_path / "never-started")
    worker.address = f"grpc://127.0.0.1:{free_port()}"  # nothing listens there
    run = repo.pants(
        *worker.pants_options(tmp_path / "caches"), "--kolla-builder=buildah", "package", "images/::"
    )
    assert run.returncode != 0
    assert f"The remote executor at {worker.address} does not answer" in run.stderr, run.stderr[-3000:]
    assert "--remote-execution-address" in run.stderr
    assert "Traceback" not in run.stderr


def test_worker_without_the_builder_names_the_tool_and_the_worker(tmp_path):
    repo = tiny_repo(tmp_path / "repo", f"re{uuid.uuid4().hex[:10]}")
    with RemoteWorker(tmp_path / "worker", hide=("buildah",)) as worker:
        run = repo.pants(
            *worker.pants_options(tmp_path / "caches"), "--kolla-builder=buildah", "package", "images/::"
        )
        assert run.returncode != 0
        expected = f"buildah is not installed on the remote worker {socket.gethostname()} ({worker.address})"
        assert expected in run.stderr, run.stderr[-3000:]
        assert "Traceback" not in run.stderr
        assert builds_on_worker(worker) == []  # refused before any build


LOCKED_MACROS = """{% macro install_packages(packages) -%}
RUN {{ apt_install(packages) }} && apt-get clean && rm -rf /var/lib/apt/lists/*
{%- endmacro %}
"""


def test_a_locked_image_builds_on_the_worker_with_no_network_and_no_mirror(tmp_path):
    """Locks made here (`kolla-lock`: mmdebstrap for the rootfs, the local engine for `ok`); the builds on
    the worker with buildah and a mirror nothing answers at: the .debs reach them as inputs by digest, and
    the locked image's steps see loopback only."""
    repo = ScratchRepo(tmp_path / "repo", tag=f"re{uuid.uuid4().hex[:10]}")
    write_rootfs_and_base(repo, macros=LOCKED_MACROS)
    image(
        repo,
        "ok",
        "infra",
        "images/base",
        '{{ macros.install_packages(["cron"]) }}\n'
        'RUN echo "network interfaces:" $(tail -n +3 /proc/net/dev | cut -d: -f1)\n',
    )
    locked = repo.pants("kolla-lock", "images/rootfs", "images/ok")
    assert locked.returncode == 0, locked.stderr[-3000:]
    assert "images/rootfs/packages.lock: wrote" in locked.stdout, locked.stdout
    caches_base = tmp_path / "worker-caches"
    caches_base.mkdir()
    with RemoteWorker(tmp_path / "worker") as worker:
        remote = repo.pants(
            *worker.pants_options(caches_base),
            "--kolla-builder=buildah",
            "--kolla-debian-mirror=http://127.0.0.1:9/debian",
            "--stats-log",
            "package",
            "images/ok",
        )
        assert remote.returncode == 0, remote.stderr[-5000:]
        assert stat(remote, "local_execution_requests") == 0, remote.stderr[-5000:]
        assert {repo.ref(name) for name in ("tiny-rootfs", "ok")} <= set(completed_builds(remote))
        worker_builds = builds_on_worker(worker)
        assert any(" rootfs " in argv and "--debs" in argv for argv in worker_builds), worker_builds
        assert any(" build " in argv and "--debs" in argv for argv in worker_builds), worker_builds
    log = repo.read("dist/images/ok/build.log")
    assert "--network none" in log and "network interfaces: lo\n" in log, log[-3000:]
    assert "Unpacking cron " in log
