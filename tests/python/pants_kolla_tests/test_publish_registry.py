"""`pants publish` against a real registry (Debian's docker-registry on 127.0.0.1) and a real engine:
every image is pushed once, blobs the registry has are not uploaded again, what the registry serves is
what was built, and a registry that is down gives a clear error after a few retries."""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path

import pytest

from pants_kolla_tests.registry_fixture import LocalRegistry, free_port
from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.small_tree import add_small_tree

# The line `builder/cli.py push` prints per pushed reference.
PUSHED = re.compile(
    r"^pushed (\S+)@(sha256:\w+) image (sha256:\w+): (\d+) layer\(s\) uploaded, "
    r"(\d+) already in the registry$",
    re.MULTILINE,
)


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
    goals: tuple[str, ...] = ("publish",),
    env: dict[str, str] | None = None,
):
    run = repo.pants(f"--kolla-registry={registry}", *options, *goals, "images/::", env=env)
    return run, PUSHED.findall(run.stdout + run.stderr)


def test_publish_pushes_each_image_once_and_the_registry_serves_the_local_build(
    repo, registry, docker_client
):
    # `package` too: it writes the local build to dist/, which `publish` alone does not.
    run, pushed = publish(repo, registry.address, goals=("package", "publish"))
    assert run.returncode == 0, run.stderr
    refs = [ref for ref, *_ in pushed]
    tag = repo.tag
    names = ["debian-bookworm-rootfs", "base", "cron", "debian-binary-hello", "debian-source-hello"]
    expected = {f"{registry.address}/kolla/{n}:{tag}" for n in names} | {
        f"{registry.address}/kolla/cron:extra"
    }
    # Infra images are single targets: pushed once although both install types were selected.
    assert sorted(refs) == sorted(expected), run.stdout + run.stderr

    distinct_layers = set()
    for ref, digest, image_id, _, _ in pushed:
        repository = ref.split("/", 1)[1].rsplit(":", 1)[0]
        distinct_layers |= {layer["digest"] for layer in registry.manifest(repository, digest)["layers"]}
        assert registry.manifest_digest(repository, ref.rsplit(":", 1)[1]) == digest
        # The registry's manifest points at the very config (image ID) of the local build...
        assert registry.manifest(repository, digest)["config"]["digest"] == image_id
        assert image_id == repo.dist_image_id(repository.split("/", 1)[1])
        # ...and the engine pulls it back by digest as that image.
        pulled = docker_client.images.pull(f"{registry.address}/{repository}@{digest}")
        assert pulled.id == image_id

    # Each distinct blob was uploaded once; pushes of images sharing it found it in the registry.
    assert sum(int(uploaded) for *_, uploaded, _ in pushed) == len(distinct_layers), pushed


def test_publishing_again_uploads_nothing(repo, registry):
    run, pushed = publish(repo, registry.address)
    assert run.returncode == 0, run.stderr
    assert pushed and all(uploaded == "0" for *_, uploaded, _ in pushed), pushed


def test_registry_down_is_retried_then_a_clear_error(repo):
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    run, pushed = publish(repo, nobody, "--kolla-push-retries=2")
    output = run.stdout + run.stderr
    assert run.returncode != 0 and not pushed
    assert "retry 1 of 2" in output and "retry 2 of 2" in output, output
    assert "the registry did not answer after 3 attempts" in output, output
    assert "Traceback" not in output, output


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
