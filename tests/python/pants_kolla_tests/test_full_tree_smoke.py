"""The real image tree: a nested Pants packages all of images/ (infra once, binary and source) into a
scratch repo, then every image is started for real and smoke-checked (smoke_checks.py).

The nested build is cold by design (a fresh tag, and the epoch derived from it, miss every cache entry
of the engine and of Pants), so its duration is the tree's cold build time; it is printed. Containers are removed whatever happens.
"""

from __future__ import annotations

import io
import json
import tarfile
import time

import pytest

from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.smoke_checks import CHECKS, CONFIG_DIR, SmokeCheck

INSTALL_TYPES = ("binary", "source")


def variants(check: SmokeCheck) -> list[tuple[str, str | None]]:
    types = INSTALL_TYPES if check.per_type else (None,)
    return [(check.image, t) for t in types]


ALL_VARIANTS = [(check, t) for check in CHECKS for _, t in variants(check)]


def ref(repo: ScratchRepo, image: str, install_type: str | None) -> str:
    return repo.ref(f"debian-{install_type}-{image}" if install_type else image)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> ScratchRepo:
    repo = ScratchRepo(tmp_path_factory.mktemp("tree"))
    repo.add_images()
    started = time.monotonic()
    run = repo.pants("package", "images/::")
    minutes = (time.monotonic() - started) / 60
    print(f"\ncold build of the whole tree: {minutes:.1f} min, {len(run.built)} image builds")
    assert run.returncode == 0, run.stderr[-6000:]
    return repo


def test_every_built_image_has_a_smoke_check(tree: ScratchRepo) -> None:
    built = {p.name for p in (tree.root / "dist/images").iterdir()} - {"debian-bookworm-rootfs"}
    checked = {f"debian-{t}-{image}" if t else image for check in CHECKS for image, t in variants(check)}
    assert built == checked


def config_archive(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def expected_user(check: SmokeCheck, install_type: str | None) -> str | None:
    """The USER the image must run as: a per-install-type table names none for an image built once."""
    if isinstance(check.user, dict):
        return check.user.get(install_type) if install_type is not None else None
    return check.user


def run_check(client, image: str, check: SmokeCheck, install_type: str | None) -> str:
    """Returns the output that must contain `expect`; raises AssertionError with the logs otherwise."""
    command = None if check.daemon else list(check.command)
    container = client.containers.create(image, command=command, detach=True)
    try:
        user = client.api.inspect_image(image)["Config"].get("User") or None
        expected = expected_user(check, install_type)
        assert user == expected, f"{image} runs as {user!r}, expected {expected!r}"
        if check.files:
            # Kolla mounts config_files; copying them in also works with a remote engine.
            container.put_archive(CONFIG_DIR, config_archive(check.files))
        container.start()
        if not check.daemon:
            status = container.wait(timeout=check.timeout)["StatusCode"]
            output = container.logs().decode(errors="replace")
            assert status == 0, f"{image} exited {status}:\n{output}"
            return output
        deadline = time.monotonic() + check.timeout
        while True:
            container.reload()
            assert (
                container.status == "running"
            ), f"{image} stopped:\n{container.logs().decode(errors='replace')}"
            result = container.exec_run(list(check.command))
            output = result.output.decode(errors="replace")
            if result.exit_code == 0 and check.expect.format(install_type=install_type) in output:
                return output
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{image}: probe {check.command} never passed; last output:\n{output}\n"
                    f"logs:\n{container.logs().decode(errors='replace')[-4000:]}"
                )
            time.sleep(2)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(
    "check,install_type", ALL_VARIANTS, ids=[f"{c.image}-{t}" if t else c.image for c, t in ALL_VARIANTS]
)
def test_smoke(tree: ScratchRepo, docker_client, check: SmokeCheck, install_type: str | None) -> None:
    output = run_check(docker_client, ref(tree, check.image, install_type), check, install_type)
    assert check.expect.format(install_type=install_type) in output


def test_a_failing_probe_fails(tree: ScratchRepo, docker_client) -> None:
    """The harness itself: a service that answers something else must not pass."""
    redis = next(c for c in CHECKS if c.image == "redis")
    wrong = SmokeCheck(
        image="redis",
        per_type=False,
        command=("redis-cli", "ping"),
        expect="NOT-PONG",
        daemon=True,
        user="redis",
        timeout=10,
    )
    with pytest.raises(AssertionError, match="never passed"):
        run_check(docker_client, ref(tree, redis.image, None), wrong, None)


def dpkg_packages(client, image: str) -> set[str]:
    """What dpkg in a container of the image says is installed, as purls' `name@version?arch` parts."""
    query = ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\\n"]
    output = client.containers.run(image, query, remove=True, user="root", entrypoint=[]).decode()
    rows = [line.split() for line in output.splitlines() if line.startswith("ii ")]
    return {f"{name} {version} {arch}" for _, name, version, arch in rows}


def test_every_image_has_a_valid_sbom_listing_what_dpkg_lists(tree: ScratchRepo, docker_client) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    validator = JsonStrictValidator(SchemaVersion.V1_5)
    for folder in sorted((tree.root / "dist/images").iterdir()):
        text = (folder / "sbom.cdx.json").read_text()
        assert validator.validate_str(text) is None, folder.name
        bom = json.loads(text)
        image = bom["metadata"]["component"]["bom-ref"]
        debs = {
            f"{c['name']} {c['version']} {c['purl'].rpartition('arch=')[2]}"
            for c in bom["components"]
            if c["purl"].startswith("pkg:deb/")
        }
        assert debs == dpkg_packages(docker_client, image), folder.name


def test_source_sboms_list_the_pex_distributions(tree: ScratchRepo) -> None:
    bom = json.loads((tree.root / "dist/images/debian-source-keystone/sbom.cdx.json").read_text())
    python = {c["name"] for c in bom["components"] if c["purl"].startswith("pkg:pypi/")}
    assert {"keystone", "oslo-config"} <= python
    binary = json.loads((tree.root / "dist/images/debian-binary-keystone/sbom.cdx.json").read_text())
    assert not [c for c in binary["components"] if c["purl"].startswith("pkg:pypi/")]
    assert "python3-keystone" in {c["name"] for c in binary["components"]}


def test_kolla_sbom_names_the_images_holding_a_package(tree: ScratchRepo, docker_client) -> None:
    run = tree.pants("kolla-sbom", "--contains=cron", "images/::")
    assert run.returncode == 0, run.stderr[-3000:]
    found = {line.split()[1] for line in run.stdout.splitlines()}
    holding = {
        folder.name
        for folder in (tree.root / "dist/images").iterdir()
        if '"pkg:deb/debian/cron@' in (folder / "sbom.cdx.json").read_text()
    }
    assert found == {tree.ref(name) for name in holding} and tree.ref("cron") in found
    assert all(" cron=" in line for line in run.stdout.splitlines())
