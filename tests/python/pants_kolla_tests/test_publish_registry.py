"""Publishing against a real registry (Debian's docker-registry on 127.0.0.1): from the OCI layouts Pants
holds, with skopeo. `kolla-publish` pushes every image by digest, each blob once, then moves every tag or
none; what the registry serves is what was built; a registry failing halfway moves no tag, and the next
run sends only what is missing; a registry that is down gives a clear error after a few retries; Pants'
`publish` pushes per target; no engine is needed (buildah builds, no engine running)."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from pants_kolla_tests.registry_fixture import LocalRegistry, forget_blob_locations, free_port
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.small_tree import add_small_tree

# The line builder/registry_publish.py prints per image.
PUBLISHED = re.compile(
    r"^published (\S+)@(sha256:\w+) image (sha256:\w+) as (\S+): layers (\d+) uploaded \(([\d.]+) MB\), "
    r"(\d+) mounted, (\d+) present$",
    re.MULTILINE,
)
FAILED = re.compile(r"^FAILED (\S+)@", re.MULTILINE)
NAMES = ["debian-bookworm-rootfs", "base", "cron", "debian-binary-hello", "debian-source-hello"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ScratchRepo:
    scratch = ScratchRepo(tmp_path_factory.mktemp("repo"))
    add_small_tree(scratch, per_type=True)
    # An extra tag on an infra image: pushed alongside, publish-only.
    scratch.write(
        "images/cron/BUILD",
        'kolla_image(install_type="infra", parent="images/base", ' 'extra_tags=["extra"])\n',
    )
    return scratch


def publish(
    repo: ScratchRepo,
    registry: str,
    *options: str,
    goals: tuple[str, ...] = ("kolla-publish",),
    env: dict[str, str] | None = None,
):
    run = repo.pants(f"--kolla-registry={registry}", *options, *goals, "images/::", env=env)
    return run, PUBLISHED.findall(run.stdout + run.stderr)


def tags(registry: LocalRegistry, repository: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://{registry.address}/v2/{repository}/tags/list", timeout=10) as r:
            return sorted(json.load(r).get("tags") or [])
    except urllib.error.HTTPError as e:
        assert e.code == 404  # the repository does not exist
        return []


def test_kolla_publish_sends_each_blob_once_and_the_registry_serves_the_local_build(
    repo, registry, docker_client
):
    # `package` too: it writes the local build to dist/, which publishing alone does not.
    run, pushed = publish(repo, registry.address, goals=("package", "kolla-publish"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(r for r, *_ in pushed) == sorted(f"{registry.address}/kolla/{n}" for n in NAMES)
    distinct: dict[str, int] = {}
    for ref, digest, image_id, moved, *_ in pushed:
        repository = ref.split("/", 1)[1]
        expected_tags = [repo.tag, "extra"] if repository == "kolla/cron" else [repo.tag]
        assert moved.split(",") == expected_tags and tags(registry, repository) == sorted(expected_tags)
        for tag in expected_tags:
            assert registry.manifest_digest(repository, tag) == digest
        manifest = registry.manifest(repository, digest)
        distinct.update({layer["digest"]: layer["size"] for layer in manifest["layers"]})
        # The registry's manifest points at the very config (image ID) of the local build...
        assert manifest["config"]["digest"] == image_id == repo.dist_image_id(repository.split("/", 1)[1])
        # ...and the engine pulls it back by digest as that image.
        assert docker_client.images.pull(f"{registry.address}/{repository}@{digest}").id == image_id
    # Each distinct blob went up once; the images sharing it found or mounted it.
    assert sum(int(p[4]) for p in pushed) == len(distinct), pushed
    report = json.loads(repo.read("dist/kolla-publish.json"))
    assert report["failed"] == [] and report["tags_moved"]
    assert report["totals"]["bytes_sent"] == sum(distinct.values())


def test_publishing_again_uploads_nothing(repo, registry):
    run, pushed = publish(repo, registry.address)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(pushed) == len(NAMES) and all(p[4] == "0" for p in pushed), pushed


def test_pants_publish_pushes_each_target(repo, registry):
    run, pushed = publish(repo, registry.address, goals=("publish",))
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(r for r, *_ in pushed) == sorted(f"{registry.address}/kolla/{n}" for n in NAMES)
    assert f"{registry.address}/kolla/cron:extra published" in run.stderr


def test_registry_down_is_retried_then_a_clear_error(repo):
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    run, pushed = publish(repo, nobody, "--kolla-push-retries=2")
    output = run.stdout + run.stderr
    assert run.returncode != 0 and not pushed
    assert "retry 1 of 2" in output and "retry 2 of 2" in output, output[-3000:]
    assert "the registry did not answer after 3 attempts" in output, output[-3000:]
    assert "No tag moved" in output and "Traceback" not in output, output[-3000:]


class CuttingProxy:
    """127.0.0.1:<port> -> a registry; after `limit` bytes sent to it, every connection is cut and new
    ones are refused: a registry that goes away in the middle of a release."""

    def __init__(self, target: str, limit: int) -> None:
        self.target, self.limit, self.sent = target.split(":"), limit, 0
        self.cut = threading.Event()
        self.sockets: list[socket.socket] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.server.accept()
            if self.cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection((self.target[0], int(self.target[1])))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upload: bool) -> None:
        try:
            while not self.cut.is_set() and (data := src.recv(1 << 16)):
                if upload:
                    self.sent += len(data)
                    if self.sent > self.limit:
                        self._cut_all()
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                s.close()

    def _cut_all(self) -> None:
        self.cut.set()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def layer_sizes(registry: LocalRegistry, repo: ScratchRepo, name: str) -> dict[str, int]:
    manifest = registry.manifest(f"kolla/{name}", repo.tag)
    return {layer["digest"]: layer["size"] for layer in manifest["layers"]}


def test_a_registry_failing_halfway_moves_no_tag_and_the_next_run_sends_what_is_missing(
    repo, registry, tmp_path
):
    # The sizes, from a complete publish: the rootfs goes up first, then base's own layers on top.
    assert publish(repo, registry.address)[0].returncode == 0
    rootfs = layer_sizes(registry, repo, "debian-bookworm-rootfs")
    base_own = sum(
        size for digest, size in layer_sizes(registry, repo, "base").items() if digest not in rootfs
    )
    assert base_own > 2_000_000, base_own
    limit = sum(rootfs.values()) + base_own // 2  # the registry goes away in the middle of base's upload
    with LocalRegistry(tmp_path / "registry") as fresh:
        proxy = CuttingProxy(fresh.address, limit)
        cut, pushed = publish(repo, proxy.address, "--kolla-push-retries=0")
        output = cut.stdout + cut.stderr
        assert cut.returncode != 0 and proxy.cut.is_set(), output[-3000:]
        assert f"{proxy.address}/kolla/base" in FAILED.findall(output), output[-3000:]
        assert "No tag moved" in output and "Traceback" not in output, output[-3000:]
        assert not pushed, pushed
        assert all(tags(fresh, f"kolla/{n}") == [] for n in NAMES)

        again, pushed = publish(repo, fresh.address)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert all(tags(fresh, f"kolla/{n}") != [] for n in NAMES)
        # The rootfs made it before the cut: only what is missing goes up now.
        by_name = {p[0].split("/", 1)[1]: p for p in pushed}
        assert by_name["kolla/debian-bookworm-rootfs"][4] == "0", by_name
        assert int(by_name["kolla/base"][4]) > 0, by_name


def test_per_type_jobs_on_fresh_runners_upload_each_blob_once(repo, tmp_path_factory):
    """CI's publish split by install type, each job on a fresh runner (skopeo's blob locations gone) and
    a registry requiring a login: the second job mounts what its images share with their parents from the
    parents' repositories, so across both jobs each distinct blob goes up once."""
    user, password = "kolla", f"S3cret-{uuid.uuid4().hex}"
    folder = tmp_path_factory.mktemp("per-type")
    with LocalRegistry(folder / "registry", credentials=(user, password)) as private:
        env = docker_config(folder / "docker-config", private.address, user, password)
        jobs = []
        for selection in ("--tag=-source", "--tag=-binary"):
            forget_blob_locations()
            run, pushed = publish(repo, private.address, selection, env=env)
            assert run.returncode == 0 and pushed, run.stdout[-3000:] + run.stderr[-3000:]
            jobs.append({p[0].split("/", 1)[1]: p for p in pushed})
        source_hello = jobs[1]["kolla/debian-source-hello"]
        assert (
            int(source_hello[6]) > 0 and int(source_hello[4]) > 0
        ), source_hello  # mounted base's, sent its own
        distinct = {
            layer["digest"]
            for job in jobs
            for name, p in job.items()
            for layer in private.manifest(name, p[1])["layers"]
        }
        assert sum(int(p[4]) for job in jobs for p in job.values()) == len(distinct), jobs


def test_publish_needs_no_engine(repo, tmp_path):
    """Built by buildah, published with no engine reachable at all."""
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    with LocalRegistry(tmp_path / "registry") as fresh:
        run, pushed = publish(repo, fresh.address, "--kolla-builder=buildah", env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert len(pushed) == len(NAMES)
        for ref, digest, image_id, *_ in pushed:
            assert fresh.manifest(ref.split("/", 1)[1], digest)["config"]["digest"] == image_id


def docker_config(folder: Path, registry: str, user: str, password: str) -> dict[str, str]:
    """What `docker login` leaves: the only place publish takes credentials from."""
    folder.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {registry: {"auth": token}}}))
    return {"DOCKER_CONFIG": str(folder)}


def places_showing(repo: ScratchRepo, run, needles: list[str]) -> list[str]:
    """Where any needle shows: the run's output, and every file it left in dist/ and .pants.d/ (logs)."""
    found = [f"output: {n}" for n in needles if n in run.stdout + run.stderr]
    for folder in ("dist", ".pants.d"):
        for path in (repo.root / folder).rglob("*"):
            if path.is_file() and path.stat().st_size < 50_000_000:
                data = path.read_bytes()
                found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


def test_credentials_come_from_docker_config_and_never_show(repo, tmp_path_factory):
    user, password = "kolla", f"S3cret-{uuid.uuid4().hex}"
    folder = tmp_path_factory.mktemp("auth")
    with LocalRegistry(folder / "registry", credentials=(user, password)) as private:
        env = docker_config(folder / "docker-config", private.address, user, password)
        run, pushed = publish(repo, private.address, env=env)
        assert run.returncode == 0 and pushed, run.stderr[-3000:]
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        assert places_showing(repo, run, [password, token]) == []

        wrong = f"Wrong-{uuid.uuid4().hex}"
        env = docker_config(folder / "wrong-config", private.address, user, wrong)
        refused, pushed = publish(repo, private.address, "--kolla-push-retries=0", env=env)
        output = (refused.stdout + refused.stderr).lower()
        assert refused.returncode != 0 and not pushed
        assert "unauthorized" in output or "authentication required" in output, output[-3000:]
        assert "traceback" not in output
        assert places_showing(repo, refused, [wrong, password]) == []
