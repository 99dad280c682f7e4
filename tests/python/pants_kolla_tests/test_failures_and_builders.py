"""Failure isolation, the run summary, hermetic contexts, both builders and reproducibility, on a tiny
tree through a nested Pants and a real Docker engine / real buildah."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile

import pytest

from pants_kolla_tests.registry_fixture import LocalRegistry
from pants_kolla_tests.repo_fixture import PantsRun, ScratchRepo
from pants_kolla_tests.scratch_pantsd import stop_pantsd
from pants_kolla_tests.tar_files import file_bytes
from pants_kolla_tests.tiny_tree import image, write_tiny_tree


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("tiny"))
    write_tiny_tree(repo)
    return repo


def summary(repo: ScratchRepo) -> dict:
    return json.loads(repo.read("dist/kolla-summary.json"))


def test_one_failure_does_not_stop_independent_branches(repo, docker_client) -> None:
    run = repo.pants("package", "images/::")
    assert run.returncode != 0
    # The root cause, its failing step and the log tail are in the error...
    assert "Building kolla/bad:" in run.stderr and "exit code 3" in run.stderr
    assert "about to fail" in run.stderr and "Step 2/2" in run.stderr
    # ...independent images were built and loaded, the failed image's descendants were not attempted.
    docker_client.images.get(repo.ref("ok"))
    docker_client.images.get(repo.ref("debian-binary-svc"))
    assert repo.ref("bad-child") not in run.built
    report = summary(repo)
    failed = {f["name"]: f["status"] for f in report["failed"]}
    assert failed == {repo.ref("bad"): "error", repo.ref("bad-child"): "parent_error"}
    assert repo.ref("ok") in {b["name"] for b in report["built"]}
    assert set(report) >= {"built", "failed", "not_matched", "skipped", "unbuildable"}
    # Nothing lost: the failed image's full log is in dist/.
    assert "about to fail" in repo.read("dist/images/bad/build.log")


def test_allowed_to_fail_keeps_the_exit_code_green(repo) -> None:
    image(repo, "bad", "infra", "images/base", 'RUN echo "about to fail" && exit 7\n', allowed_to_fail=True)
    image(repo, "bad-child", "infra", "images/bad", "RUN echo never\n", allowed_to_fail=True)
    run = repo.pants("package", "images/::")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "FAILED (allowed to fail)" in run.stderr
    assert run.built == [repo.ref("bad")]  # the rest is cached from the previous run; failures are not
    assert {f["name"] for f in summary(repo)["failed"]} == {repo.ref("bad"), repo.ref("bad-child")}


def test_no_secret_ca_or_machine_path_in_any_layer(repo) -> None:
    """Every file of every layer and every config: no undeclared file, no host CA bundle (the one
    ./pants hands to pip), no path of this checkout or of the user's caches."""
    forbidden_names = ("secret.key",)
    forbidden_bytes = [
        b"TOP-SECRET-KEY-CONTENT",
        str(repo.root).encode(),
        os.environ.get("HOME", "/root").encode() + b"/.cache",
    ]
    ca_path = os.environ.get("PANTS_CA_CERTS_PATH")
    host_ca = hashlib.sha256(open(ca_path, "rb").read()).digest() if ca_path else None
    run = repo.pants("--kolla-export-archives", "package", "images/::")  # cached: this writes dist/
    assert run.returncode == 0, run.stderr[-3000:]
    scanned = 0
    for image_dir in (repo.root / "dist/images").glob("*/image"):
        for layer in image_dir.glob("*/layer.tar"):
            with tarfile.open(layer) as tar:
                for member in tar.getmembers():
                    assert not member.name.endswith(forbidden_names), (layer, member.name)
                    if member.isreg():
                        data = file_bytes(tar, member)
                        assert hashlib.sha256(data).digest() != host_ca, (image_dir, member.name)
                        for needle in forbidden_bytes:
                            assert needle not in data, (image_dir, member.name, needle)
            scanned += 1
        for config in image_dir.glob("*.json"):
            for needle in forbidden_bytes:
                assert needle not in config.read_bytes(), (config, needle)
    assert scanned >= 5


def test_infra_image_is_not_rebuilt_by_a_run_of_the_other_type(repo) -> None:
    image(
        repo,
        "base",
        "infra",
        "images/rootfs",
        "COPY start.sh /usr/local/bin/start.sh\nRUN echo base-v2 > /base.txt\n",
        extra_build='files(name="files", sources=["start.sh"])\n',
        deps=[":files"],
    )
    binary = repo.pants("--tag=binary", "package", "images/::")
    assert binary.returncode == 0, binary.stderr[-3000:]
    assert binary.built == sorted([repo.ref("base"), repo.ref("debian-binary-svc")])
    source = repo.pants("--tag=source", "package", "images/::")
    assert source.returncode == 0, source.stderr[-3000:]
    assert source.built == [repo.ref("debian-source-svc")]


def test_unreachable_engine_fails_fast_with_the_fix(repo) -> None:
    run = repo.pants(
        "--kolla-builder=docker",
        "package",
        "images/ok",
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    assert run.returncode != 0
    assert "No Docker engine answers at unix:///nonexistent/docker.sock" in run.stderr
    assert ".ci/dockerd.sh start" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_named_engine_that_does_not_answer_is_an_error_not_a_switch_to_buildah(repo) -> None:
    """`[kolla].builder = "auto"` (the default) falls back to buildah only when no engine is named: an
    engine named by DOCKER_HOST that does not answer stops the run, although buildah is installed."""
    run = repo.pants("package", "images/ok", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert run.returncode != 0
    assert "No Docker engine answers at unix:///nonexistent/docker.sock" in run.stderr, run.stderr[-3000:]
    assert "builds with buildah only when no engine is named" in run.stderr, run.stderr[-3000:]
    assert run.built == [] and "Traceback" not in run.stderr


def test_buildah_builds_the_same_kind_of_image_without_an_engine(repo, docker_client) -> None:
    run = repo.pants("--kolla-builder=buildah", "package", "images/ok")
    assert run.returncode == 0, run.stderr[-3000:]
    assert repo.ref("ok") in run.built and "not loaded: no engine" in run.stderr
    image_dir = repo.root / "dist/images/ok/image"
    archive = repo.root / "ok-buildah.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(image_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(image_dir)), recursive=False)
    with open(archive, "rb") as f:
        docker_client.api.load_image(f)
    manifest = json.loads((image_dir / "manifest.json").read_text())[0]
    image_id = "sha256:" + manifest["Config"].split(".")[0]
    out = docker_client.containers.run(
        image_id, ["cat", "/ok.txt"], remove=True, entrypoint="", network_mode="none"
    )
    assert out.decode().split() == ["ok"]


def test_rebuild_from_scratch_is_bit_identical(repo) -> None:
    def image_id(tag: str) -> str:
        # Names are in no cache key: Pants' cache is off instead, so every build (the rootfs's too) runs.
        run = repo.pants(
            f"--kolla-tag={tag}", "--no-local-cache", "--no-kolla-engine-layer-cache", "package", "images/ok"
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"kolla/ok:{tag}" in run.built and f"kolla/tiny-rootfs:{tag}" in run.built
        manifest = json.loads(repo.read("dist/images/ok/image/manifest.json"))[0]
        return manifest["Config"]

    assert image_id(f"{repo.tag}-a") == image_id(f"{repo.tag}-b")


# Every kind of layer entry, and both kinds of overlay whiteout (a deleted file, a replaced directory).
LAYERS_BODY = (
    "RUN mkdir -p /made/deep && echo a > /made/deep/file && ln /made/deep/file /made/hardlink"
    " && ln -s deep/file /made/symlink && mkfifo /made/fifo && chmod 4755 /made/deep/file\n"
    "RUN rm /etc/issue /etc/issue.net && rm -rf /etc/skel && mkdir /etc/skel && echo new > /etc/skel/only\n"
    "RUN rm -rf /made/deep && echo b > /made/file2\n"
)


def new_layer_entries(repo: ScratchRepo, name: str, count: int) -> set[tuple[str, bytes]]:
    image_dir = repo.root / f"dist/images/{name}/image"
    entries = set()
    for layer in json.loads((image_dir / "manifest.json").read_text())[0]["Layers"][-count:]:
        with tarfile.open(image_dir / layer) as tar:
            entries |= {(m.name, m.type) for m in tar.getmembers()}
    return entries


def test_layers_read_from_the_engine_storage_equal_docker_save(repo) -> None:
    """The builder reads a build's new layers from the engine's overlay2 storage instead of `docker save`:
    the archive must be byte-identical to the one made from `docker save`."""
    image(repo, "layers", "infra", "images/base", LAYERS_BODY)
    fast = repo.pants("--kolla-export-archives", "package", "images/layers")
    assert fast.returncode == 0, fast.stderr[-3000:]
    assert repo.ref("layers") in fast.built
    log = repo.read("dist/images/layers/build.log")
    assert "from the engine's storage" in log and "docker save" not in log
    fast_id = repo.dist_image_id("layers")
    assert new_layer_entries(repo, "layers", 3) >= {
        ("made/deep/file", tarfile.REGTYPE),
        ("made/hardlink", tarfile.LNKTYPE),
        ("made/symlink", tarfile.SYMTYPE),
        ("made/fifo", tarfile.FIFOTYPE),
        ("etc/.wh.issue", tarfile.REGTYPE),
        ("etc/skel/.wh..wh..opq", tarfile.REGTYPE),
        ("etc/skel/only", tarfile.REGTYPE),
        ("made/.wh.deep", tarfile.REGTYPE),
    }

    saved = repo.pants(
        "--no-kolla-read-engine-storage", "--kolla-export-archives", "package", "images/layers"
    )
    assert saved.returncode == 0, saved.stderr[-3000:]
    assert repo.ref("layers") in saved.built  # the option is part of the build's cache key
    assert "docker save" in repo.read("dist/images/layers/build.log")
    assert repo.dist_image_id("layers") == fast_id


def test_pantsd_trusts_engine_names_until_the_engine_reports_a_change(repo, docker_client) -> None:
    """With pantsd, a no-op asks the engine nothing about names its event stream reported unchanged since
    a run checked them; a name removed between runs is still noticed (an event) and restored. Which
    events keep which names trusted: test_engine_events.py."""

    def package_ok() -> tuple[int, PantsRun]:
        run = repo.pants("-ldebug", "package", "images/ok", pantsd=True)
        assert run.returncode == 0, run.stderr[-3000:]
        trusted = re.search(r"Engine names trusted without asking: (\d+)", run.stderr)
        assert trusted is not None, run.stderr[-3000:]
        return int(trusted.group(1)), run

    def removed_and_restored() -> int:
        """Remove ok's name, package it, and say how many names that run trusted."""
        docker_client.api.remove_image(repo.ref("ok"))
        trusted, run = package_ok()
        assert run.built == []
        assert docker_client.images.get(repo.ref("ok")).id == repo.dist_image_id("ok")
        return trusted

    try:
        package_ok()  # builds ok if needed
        removed_and_restored()  # loaded back: its name is checked by the next run
        checked = package_ok()[0]  # checks ok's name, and records it
        trusted = package_ok()[0]
        assert trusted == checked + 1
        assert removed_and_restored() < trusted
    finally:
        stop_pantsd(repo.root)


def test_pants_run_starts_the_image_with_its_run_args_and_the_arguments_after_dashes(repo) -> None:
    build = repo.read("images/ok/BUILD")
    repo.write(
        "images/ok/BUILD", build.replace("kolla_image(", 'kolla_image(run_args=["-e", "GREETING=hi"], ', 1)
    )
    try:
        run = repo.pants("run", "images/ok", "--", "sh", "-c", 'cat /ok.txt; echo "$GREETING"')
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split() == ["ok", "hi"], run.stdout
        no_engine = repo.pants("--kolla-builder=buildah", "run", "images/ok")
        assert no_engine.returncode != 0
        assert (
            "No Docker engine here holds kolla/ok:" in no_engine.stderr and "podman load" in no_engine.stderr
        )
        assert "Traceback" not in no_engine.stderr
    finally:
        repo.write("images/ok/BUILD", build)


def test_kolla_publish_of_a_selection_with_a_failed_image_publishes_nothing(repo, tmp_path) -> None:
    with LocalRegistry(tmp_path / "registry") as registry:
        run = repo.pants(f"--kolla-registry={registry.address}", "kolla-publish", "images/ok", "images/bad")
        assert run.returncode != 0
        assert "Nothing published" in run.stderr and f"kolla/bad:{repo.tag}" in run.stderr, run.stderr[-3000:]
        assert "Traceback" not in run.stderr
        assert registry.blob_bytes() == 0
        partial = repo.pants(
            f"--kolla-registry={registry.address}",
            "--kolla-publish-partial",
            "kolla-publish",
            "images/ok",
            "images/bad",
        )
        # The others go up; the run still fails, naming what was not published.
        assert partial.returncode != 0 and f"kolla/bad:{repo.tag} was not built" in partial.stderr
        assert f"published {registry.address}/kolla/ok@" in partial.stdout, partial.stdout[-3000:]


def test_squash_leaves_one_own_layer_without_what_later_steps_removed(repo, docker_client) -> None:
    steps = (
        "RUN head -c 4000000 /dev/urandom > /big && echo kept > /keep\nRUN rm /big\nRUN echo done > /done\n"
    )
    image(repo, "squashed", "infra", "images/base", steps)
    repo.write(
        "images/squashed/BUILD", 'kolla_image(install_type="infra", parent="images/base", squash=True)\n'
    )
    try:
        run = repo.pants("--kolla-export-archives", "package", "images/base", "images/squashed")
        assert run.returncode == 0, run.stderr[-3000:]
        layers = json.loads(repo.read("dist/images/squashed/image/manifest.json"))[0]["Layers"]
        base_layers = json.loads(repo.read("dist/images/base/image/manifest.json"))[0]["Layers"]
        assert layers[:-1] == base_layers and len(layers) == len(base_layers) + 1  # the parent's, shared
        assert (repo.root / "dist/images/squashed/image" / layers[-1]).stat().st_size < 100_000
        out = docker_client.containers.run(
            repo.dist_image_id("squashed"), ["sh", "-c", "test ! -e /big && cat /keep /done"], remove=True
        )
        assert out.decode().split() == ["kept", "done"]
        history = [h["CreatedBy"] for h in docker_client.api.history(repo.dist_image_id("squashed"))]
        assert any("rm /big" in step for step in history)  # the steps stay in the history
    finally:
        shutil.rmtree(repo.root / "images/squashed")
