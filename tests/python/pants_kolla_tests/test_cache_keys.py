"""Cache keys hold what a build's output depends on and nothing else, and rebuilds leave their final
images plus one set of step images per target in the engine: a nested Pants on a tiny tree, the real
engine, real mmdebstrap."""

from __future__ import annotations

import http.server
import json
import threading
import uuid

import pytest

from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.scratch_pantsd import stop_pantsd
from pants_kolla_tests.tiny_tree import image

IMAGES = ("tiny-rootfs", "base", "leaf", "prints-tag")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("keys"))
    repo.write("images/BUILD", 'kolla_template_library(name="templates")\n')
    repo.write("images/macros.j2", "")
    repo.write("images/tiny-rootfs/BUILD", 'debian_rootfs(name="tiny-rootfs")\n')
    image(repo, "base", "infra", "images/tiny-rootfs", "RUN echo base > /base.txt\n")
    image(repo, "leaf", "infra", "images/base", "RUN echo leaf > /leaf.txt\n")
    image(repo, "prints-tag", "infra", "images/base", 'LABEL version="{{ tag }}"\n')
    return repo


def test_retagging_builds_only_what_renders_differently(repo, docker_client) -> None:
    first = repo.pants("package", "images/::")
    assert first.returncode == 0, first.stderr[-3000:]
    # The tag is fresh, so the template printing it is built; the others may be cache hits of earlier
    # runs, whatever tag those had.
    assert f"kolla/prints-tag:{repo.tag}" in first.built
    ids = {name: repo.dist_image_id(name) for name in IMAGES}

    new_tag = f"{repo.tag}-re"
    retag = repo.pants(f"--kolla-tag={new_tag}", "package", "images/::")
    assert retag.returncode == 0, retag.stderr[-3000:]
    # Builds go FROM the parent's ID, and names are given after the build: only the template that prints
    # the tag renders differently.
    assert retag.built == [f"kolla/prints-tag:{new_tag}"]
    for name in ("tiny-rootfs", "base", "leaf"):
        assert repo.dist_image_id(name) == ids[name]
        assert docker_client.images.get(f"kolla/{name}:{new_tag}").id == ids[name]
    assert repo.dist_image_id("prints-tag") != ids["prints-tag"]
    labels = docker_client.images.get(f"kolla/prints-tag:{new_tag}").labels
    assert labels["version"] == new_tag


def test_retries_are_not_in_the_cache_key(repo) -> None:
    run = repo.pants("--kolla-retries=5", "package", "images/::")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.built == []


def _package_leaf(repo: ScratchRepo, steps: str, *flags: str) -> str:
    """Package the leaf with `steps` as its template's body, through pantsd (Pants starts once); return
    the image ID it built."""
    image(repo, "leaf", "infra", "images/base", steps)
    run = repo.pants(*flags, "package", "images/leaf", pantsd=True)
    assert run.returncode == 0, run.stderr[-3000:]
    # The layer-cache option is in every build's key: turning it off builds base again too.
    built = [repo.ref("base"), repo.ref("leaf")] if flags else [repo.ref("leaf")]
    assert run.built == built
    assert run.stderr.count("Kolla images:") == 1, run.stderr[-3000:]
    report = json.loads(repo.read("dist/kolla-summary.json"))
    assert [b["name"] for b in report["built"]] == [repo.ref("leaf")] and report["cached"] == []
    return repo.dist_image_id("leaf")


def test_leaf_edits_reuse_the_engine_cache_and_keep_one_set_of_step_images(repo, docker_client) -> None:
    """Every image a build step makes carries the leaf's first LABEL. Twenty one-line edits of the leaf's
    last step: each rebuild takes its unchanged first step from the engine's layer cache, and the engine
    holds the twenty normalized leaves plus one set of step images, the last build's (the LABEL step and
    the last RUN step), not twenty. With the layer cache off, a build leaves no step image at all.
    With pantsd, each run reports once and counts its own build as built: Pants asks again for the
    last run's per-session results when it checks that run's memoized rules (package_run/run_token.py)."""
    run_label = f"kolla-test-{uuid.uuid4().hex[:10]}"
    finals = set()
    try:
        for i in range(20):
            finals.add(_package_leaf(repo, f'LABEL {run_label}="leaf"\nRUN echo {i} > /leaf.txt\n'))
            if i:
                assert "Using cache" in repo.read("dist/images/leaf/build.log"), repo.read(
                    "dist/images/leaf/build.log"
                )
        labelled = {i.id for i in docker_client.images.list(all=True, filters={"label": run_label})}
        assert len(finals) == 20 and finals <= labelled
        assert len(labelled - finals) == 2, labelled - finals

        finals.add(
            _package_leaf(
                repo, f'LABEL {run_label}="leaf"\nRUN echo off > /leaf.txt\n', "--no-kolla-engine-layer-cache"
            )
        )
    finally:
        stop_pantsd(repo.root)
    labelled = {i.id for i in docker_client.images.list(all=True, filters={"label": run_label})}
    assert labelled == finals


class FlakyMirror(http.server.ThreadingHTTPServer):
    """Answers `503 Service Unavailable` (a transient failure, like a mirror's) to its first request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.requests = 0


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    server: FlakyMirror

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.requests += 1
        self.send_response(503 if self.server.requests == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_retried_build_is_cached_under_its_first_attempts_key(repo) -> None:
    mirror = FlakyMirror()
    threading.Thread(target=mirror.serve_forever, daemon=True).start()
    try:
        port = mirror.server_address[1]
        # RUN steps use the host's network: bash's /dev/tcp reaches the local server.
        fetch = (
            f"exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' >&3 "
            f"&& cat <&3 | tee /reply.txt /dev/stderr | grep -q ' 200 '"
        )
        image(repo, "flaky", "infra", "images/base", f'RUN bash -c "{fetch}"\n')
        first = repo.pants("--kolla-retries=2", "package", "images/flaky")
        assert first.returncode == 0, first.stderr[-3000:]
        assert mirror.requests == 2
        assert f"Starting: Building {repo.ref('flaky')} (retry 1)" in first.stderr
        # The retry that succeeded is what the next run's first attempt finds in the cache.
        again = repo.pants("package", "images/flaky")
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.built == [] and "(retry" not in again.stderr
        assert mirror.requests == 2
    finally:
        mirror.shutdown()
