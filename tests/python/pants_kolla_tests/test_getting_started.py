"""docs/getting-started.md, run as written: its commands in an empty folder, with the plugin installed from
its wheel through `[GLOBAL].plugins` (no src/, no pythonpath), then what a new repository does next:
`kolla-list`, `publish` to a real registry, `tailor`; and the same images as this repository's plugin
builds from the same files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
import uuid
from pathlib import Path

import pytest

from pants_kolla_tests.doc_commands import bash_blocks, run_block, user_env
from pants_kolla_tests.offline_toml import PEX_CLI_KNOWN_VERSION, PEX_CLI_VERSION, source_date_epoch_for
from pants_kolla_tests.registry_fixture import LocalRegistry
from pants_kolla_tests.repo_fixture import SANDBOX, ScratchRepo, dist_image_id, packaged

PAGE = SANDBOX / "docs/getting-started.md"
NAMES = ("debian-bookworm-rootfs", "base", "cron", "debian-binary-hello", "debian-source-hello")


def plugin_wheels(tmp: Path) -> Path:
    """A folder holding the wheel `./pants package src/python/pants_kolla:dist` made for this test, named by
    its digest: Pants caches a plugin's resolution by the requirement and the find-links URL, so a
    rebuilt wheel of the same version must come from a new URL to be picked up."""
    (wheel,) = SANDBOX.glob("**/pants_kolla-*.whl")
    folder = tmp / "wheels" / hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    folder.mkdir(parents=True)
    shutil.copy(wheel, folder)
    return folder


def site_env(wheels: Path, tag: str) -> dict[str, str]:
    """What this machine needs that a user's does not: the pex CLI built locally (Pants would fetch it
    from GitHub); and this test's own image names and epoch. All as environment, so the page's commands
    run unchanged."""
    env = user_env()
    env.update(
        PANTS_KOLLA_WHEELS=str(wheels),
        PANTS_PEX_CLI_VERSION=PEX_CLI_VERSION,
        PANTS_PEX_CLI_KNOWN_VERSIONS=json.dumps([PEX_CLI_KNOWN_VERSION]),
        PANTS_PEX_CLI_URL_TEMPLATE=f"file://{os.environ['PANTS_KOLLA_PEX_CLI']}",
        PANTS_SUBPROCESS_ENVIRONMENT_ENV_VARS='["PIP_CONFIG_FILE=/dev/null"]',
        PANTS_PYTHON_BOOTSTRAP_SEARCH_PATH='["<PATH>", "<PYENV>"]',
        PANTS_PANTSD="false",
        PANTS_DYNAMIC_UI="false",
        PANTS_ANONYMOUS_TELEMETRY_ENABLED="false",
        PANTS_KOLLA_TAG=tag,
        PANTS_KOLLA_SOURCE_DATE_EPOCH=str(source_date_epoch_for(tag)),
    )
    return env


@pytest.fixture(scope="module")
def new_repo(tmp_path_factory) -> tuple[Path, dict[str, str], list[str]]:
    """The page's commands run in an empty folder; returns the folder, its environment and each command's
    output."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    env = site_env(plugin_wheels(tmp_path_factory.mktemp("plugin")), tag)
    root = tmp_path_factory.mktemp("new-repo")
    outputs = []
    for block in bash_blocks(PAGE):
        done = run_block(block, root, env)
        assert (
            done.returncode == 0
        ), f"{block}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-5000:]}"
        outputs.append(done.stdout)
    return root, env, outputs


def test_the_page_is_at_most_ten_commands_and_ends_running_an_image(new_repo) -> None:
    root, env, outputs = new_repo
    assert len(bash_blocks(PAGE)) <= 10
    assert outputs[-1].strip().endswith("hello from the source install type"), outputs[-1]
    tag = env["PANTS_KOLLA_TAG"]
    assert packaged(root) == sorted(f"kolla/{n}:{tag}" for n in NAMES)


def test_the_plugin_comes_from_the_wheel_not_from_sources(new_repo) -> None:
    root, env, _ = new_repo
    assert not (root / "src").exists()
    venv_python = root / ".pants-venv/bin/python"
    alone = run_block(f"{venv_python} -c 'import pants_kolla'", root, env)
    assert alone.returncode != 0 and "No module named 'pants_kolla'" in alone.stderr


def test_kolla_list_and_publish_work_in_the_new_repository(new_repo, tmp_path) -> None:
    root, env, _ = new_repo
    tag = env["PANTS_KOLLA_TAG"]
    listed = run_block("./pants kolla-list images/::", root, env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert f"binary\tkolla/debian-binary-hello:{tag}\tkolla/base:{tag}" in listed.stdout
    with LocalRegistry(tmp_path / "registry") as registry:
        published = run_block(f"./pants --kolla-registry={registry.address} publish images/::", root, env)
        assert published.returncode == 0, published.stderr[-5000:]
        for name in NAMES:
            url = f"http://{registry.address}/v2/kolla/{name}/tags/list"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert json.load(response)["tags"] == [tag], name


def test_this_repositorys_plugin_builds_the_same_images_from_the_same_files(new_repo, tmp_path) -> None:
    root, env, _ = new_repo
    here = ScratchRepo(tmp_path / "here", tag=env["PANTS_KOLLA_TAG"])
    shutil.copytree(root / "images", here.root / "images")
    run = here.pants("package", "images/::")
    assert run.returncode == 0, run.stderr[-5000:]
    for name in NAMES:
        assert here.dist_image_id(name) == dist_image_id(root, name), name


def test_tailor_writes_the_build_file_of_a_new_image_folder(new_repo) -> None:
    root, env, _ = new_repo
    folder = root / "images/memcached"
    folder.mkdir()
    (folder / "Dockerfile.j2").write_text("FROM {{ parent_image }}\nRUN true\n")
    try:
        tailor = run_block("./pants tailor images::", root, env)
        assert tailor.returncode == 0, tailor.stderr[-3000:]
        assert "kolla_image(" in (folder / "BUILD").read_text()
    finally:
        shutil.rmtree(folder)
